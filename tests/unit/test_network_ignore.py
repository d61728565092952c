"""`network create --ignore`: which differences name the setting (no kernel, no state)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_create_ignore_compares_only_what_was_asked() -> None:
    from pynet.cnm.networks import NetworkCreateRequest, differences
    from pynet.records.model import IPAMPool, Network

    net = Network(
        id="x" * 64,
        name="n",
        driver="bridge",
        created="",
        labels={"a": "1"},
        ipam_config=[IPAMPool(subnet="10.1.0.0/24", gateway="10.1.0.1")],
    )
    assert differences(NetworkCreateRequest(name="n", labels={"a": "1"}), net) == []
    assert differences(NetworkCreateRequest(name="n", labels={"a": "1"}, subnets=["10.1.0.7/24"]), net) == []
    assert differences(NetworkCreateRequest(name="n", subnets=["10.2.0.0/24"], internal=True), net) == [
        "internal (existing false, requested true)",
        "labels (existing a=1, requested none)",
        "subnet (existing 10.1.0.0/24, requested 10.2.0.0/24)",
    ]

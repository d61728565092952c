"""`network create --ignore` (which differences name the setting) and `network ls`'s
`{{.Subnets}}` (a field for templates, absent from Docker's `{{json .}}`)."""

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


def test_subnets_is_a_template_field_that_json_leaves_out() -> None:
    from pynet.cli.formatting import format_list

    items = [{"Name": "n", "Driver": "bridge", "__extra__": {"Subnets": "10.1.0.0/24,fd00::/64"}}]
    assert format_list(items, "{{.Name}} {{.Subnets}}", default_table="") == "n 10.1.0.0/24,fd00::/64\n"
    table = format_list(items, "table {{.Name}}\t{{.Subnets}}", default_table="", headers={"Subnets": "SUBNETS"})
    assert table.split() == ["NAME", "SUBNETS", "n", "10.1.0.0/24,fd00::/64"]
    assert format_list(items, "json", default_table="") == '{"Driver":"bridge","Name":"n"}\n'

"""A stopped container still shows its networks, without addresses (as Docker shows it)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_exited_container_keeps_its_networks_in_inspect(host) -> None:
    host.pynet("network", "create", "mynet")
    host.pynet("run", "--name", "c1", "--network", "mynet", "true")
    info = host.pynet_json("inspect", "c1")[0]
    assert info["State"]["Status"] == "exited"
    net = info["NetworkSettings"]["Networks"]["mynet"]
    assert net["IPAddress"] == "" and net["EndpointID"] == ""
    assert host.pynet("ps", "-a", "--format", "{{.Names}} {{.Networks}}").stdout.strip() == "c1 mynet"
    # a stopped container does not hold the network
    host.pynet("network", "rm", "mynet")
    host.pynet("rm", "c1")

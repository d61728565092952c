"""Networks you can change: `network create --ignore`, `network rm -f` (disconnects first),
`network update` (labels, --internal live with its firewall, --attachable), and the
`{{.Subnets}}` field of `network ls` (issue #12; moby#17371, #20309, #27598, #18626)."""

from __future__ import annotations

from typing import Any

import pytest

from harness import Host

pytestmark = pytest.mark.integration

PEER = "198.51.100.2"  # the LAN peer: "the outside"


def _reaches(host: Host, container: str, address: str) -> bool:
    cp = host.in_sandbox(container, "ping", "-c", "1", "-W", "1", address, check=False)
    return cp.returncode == 0


def _inspect(host: Host, ref: str) -> dict[str, Any]:
    return host.pynet_json("network", "inspect", ref)[0]


def test_create_ignore_accepts_the_same_settings_and_names_a_difference(host: Host) -> None:
    flags = ["--subnet", "10.80.0.0/24", "--label", "team=a"]
    net_id = host.pynet("network", "create", *flags, "ig").stdout.strip()
    same = host.pynet("network", "create", "--ignore", *flags, "ig")
    assert same.stdout.strip() == net_id and same.stderr == ""
    # settings left out are not compared (the subnet pynet keeps is the one asked for)
    assert host.pynet("network", "create", "--ignore", "--label", "team=a", "ig").stdout.strip() == net_id
    cp = host.pynet("network", "create", "--ignore", *flags, "--internal", "ig", check=False)
    assert cp.returncode == 1
    assert cp.stderr.strip() == (
        "Error response from daemon: network with name ig already exists with other settings: "
        "internal (existing false, requested true)"
    )
    cp = host.pynet("network", "create", "--ignore", "--subnet", "10.81.0.0/24", "ig", check=False)
    assert cp.returncode == 1 and "subnet (existing 10.80.0.0/24, requested 10.81.0.0/24)" in cp.stderr
    assert "labels (existing team=a, requested none)" in cp.stderr
    # without --ignore: Docker's conflict, as before
    cp = host.pynet("network", "create", *flags, "ig", check=False)
    assert cp.returncode == 1 and "network with name ig already exists" in cp.stderr
    assert host.pynet("network", "ls", "-q", "--filter", "name=ig").stdout.split() == [net_id[:12]]


def test_rm_force_disconnects_every_container_which_keeps_its_other_networks(host: Host) -> None:
    host.pynet("network", "create", "--subnet", "10.83.0.0/24", "doomed")
    host.pynet("network", "create", "--subnet", "10.84.0.0/24", "kept")
    host.pynet("run", "-d", "--name", "both", "--network", "doomed", "sleep", "300")
    host.pynet("network", "connect", "kept", "both")
    host.pynet("run", "-d", "--name", "only", "--network", "doomed", "sleep", "300")
    bridge = "br-" + _inspect(host, "doomed")["Id"][:12]
    cp = host.pynet("network", "rm", "doomed", check=False)
    assert cp.returncode == 1 and "has active endpoints" in cp.stderr
    assert host.pynet("network", "rm", "-f", "doomed").stdout == "doomed\n"
    assert host.pynet("network", "ls", "-q", "--filter", "name=doomed").stdout == ""
    assert host.sh(f"ip link show {bridge}", check=False).returncode != 0
    for name, nets in (("both", ["kept"]), ("only", [])):
        info = host.pynet_json("inspect", name)[0]
        assert info["State"]["Running"], name
        assert sorted(info["NetworkSettings"]["Networks"]) == nets
    assert _reaches(host, "both", "10.84.0.1")  # still on its other network
    links = host.in_sandbox("only", "ip", "-o", "link").stdout
    assert "eth0" not in links
    # -f still does not fail on a missing network (Docker's meaning of the flag)
    assert host.pynet("network", "rm", "-f", "nosuch").returncode == 0


def test_update_internal_live_with_its_firewall_and_labels(host: Host, lan_peer: Any) -> None:
    lan_peer(host)
    host.pynet("network", "create", "--subnet", "10.85.0.0/24", "--label", "old=1", "upd")
    host.pynet("network", "create", "--subnet", "10.86.0.0/24", "ctl")
    host.pynet("run", "-d", "--name", "inside", "--network", "upd", "sleep", "300")
    host.pynet("run", "-d", "--name", "control", "--network", "ctl", "sleep", "300")
    assert _reaches(host, "inside", PEER) and _reaches(host, "control", PEER)
    # a failed commit changes nothing: the firewall goes back with the state
    cp = host.pynet("network", "update", "--internal", "upd", check=False, env={"PYNET_FAULT": "state_commit"})
    assert cp.returncode != 0 and _inspect(host, "upd")["Internal"] is False
    assert _reaches(host, "inside", PEER)
    net_id = host.pynet("network", "update", "--internal", "upd").stdout.strip()
    assert net_id == _inspect(host, "upd")["Id"] and _inspect(host, "upd")["Internal"] is True
    assert not _reaches(host, "inside", PEER)
    assert _reaches(host, "control", PEER)  # positive control: the other network is untouched
    host.pynet("network", "update", "--no-internal", "upd")
    assert _inspect(host, "upd")["Internal"] is False
    assert _reaches(host, "inside", PEER)
    host.pynet("network", "update", "--label-add", "new=2", "--label-rm", "old", "--attachable", "upd")
    info = _inspect(host, "upd")
    assert info["Labels"] == {"new": "2"} and info["Attachable"] is True
    assert host.pynet("network", "ls", "-q", "--filter", "label=new=2").stdout.split() == [net_id[:12]]
    cp = host.pynet("network", "update", "--label-rm", "nope", "upd", check=False)
    assert cp.returncode == 1 and "network upd has no label 'nope'" in cp.stderr
    cp = host.pynet("network", "update", "--internal", "bridge", check=False)
    assert cp.returncode == 1 and "bridge is a pre-defined network and cannot be updated" in cp.stderr
    cp = host.pynet("network", "update", "upd", check=False)
    assert cp.returncode == 125 and "needs at least one of" in cp.stderr


def test_ls_shows_subnets_in_format_and_table(host: Host) -> None:
    host.pynet("network", "create", "--subnet", "10.87.0.0/24", "--ipv6", "--subnet", "fd00:87::/64", "dual")
    out = host.pynet("network", "ls", "--filter", "name=dual", "--format", "{{.Name}} {{.Subnets}}").stdout
    assert out == "dual 10.87.0.0/24,fd00:87::/64\n"
    table = host.pynet("network", "ls", "--filter", "name=dual", "--format", "table {{.Name}}\t{{.Subnets}}").stdout
    assert table.splitlines()[0].split() == ["NAME", "SUBNETS"]
    assert table.splitlines()[1].split() == ["dual", "10.87.0.0/24,fd00:87::/64"]

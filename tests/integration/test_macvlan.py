"""The macvlan driver on a simulated LAN.

The throwaway host's "physical NIC" is ``lan0``: one end of a veth whose other end is a
LAN-peer namespace (198.51.100.2, the "router"). Containers on a macvlan network of
``lan0`` sit directly on that LAN with their own MAC addresses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import Host, kernel_supports

pytestmark = pytest.mark.integration

LAN = "198.51.100.0/24"
PEER_IP = "198.51.100.2"
# The host's own lan0 holds .1: containers get addresses from the upper half only.
MACVLAN_FLAGS = ["-d", "macvlan", "--subnet", LAN, "--gateway", PEER_IP, "--ip-range", "198.51.100.128/25"]


def links(host: Host) -> set[str]:
    return {link["ifname"] for link in host.ip_json("link")}


def sandbox_link(host: Host, container: str, ifname: str = "eth0") -> dict[str, Any]:
    out = host.in_sandbox(container, "ip", "-j", "-d", "addr", "show", "dev", ifname).stdout
    return json.loads(out)[0]


def ping(host: Host, container: str, ip: str) -> bool:
    return host.in_sandbox(container, "ping", "-c1", "-W1", ip, check=False).returncode == 0


def run(host: Host, name: str, network: str) -> None:
    host.pynet("run", "-d", "--name", name, "--network", network, "sleep", "300")


def error_of(host: Host, *args: str) -> str:
    cp = host.pynet(*args, check=False)
    assert cp.returncode == 1, cp
    assert "Traceback" not in cp.stderr
    return cp.stderr.strip()


def network_names(host: Host) -> set[str]:
    return set(host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split())


def test_bridge_mode_containers_reach_the_lan_and_each_other(host: Host, lan_peer) -> None:
    peer = lan_peer(host, LAN)
    net_id = host.pynet("network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "mv").stdout.strip()
    inspect = host.pynet_json("network", "inspect", "mv")[0]
    assert inspect["Driver"] == "macvlan" and inspect["Id"] == net_id
    assert inspect["Options"] == {"parent": "lan0"}
    run(host, "c1", "mv")
    run(host, "c2", "mv")

    eth0 = sandbox_link(host, "c1")
    assert eth0["linkinfo"]["info_kind"] == "macvlan"
    assert eth0["linkinfo"]["info_data"]["mode"] == "bridge"
    assert eth0["address"] == "02:42:c6:33:64:80"  # Docker's MAC from 198.51.100.128
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] == [
        ("198.51.100.128", 24)
    ]
    route = json.loads(host.in_sandbox("c1", "ip", "-j", "route", "show", "default").stdout)
    assert route[0]["gateway"] == PEER_IP and route[0]["dev"] == "eth0"

    assert ping(host, "c1", PEER_IP)  # straight onto the LAN
    peer.sh("ping", "-c1", "-W1", "198.51.100.129")  # and the LAN reaches c2
    assert ping(host, "c1", "198.51.100.129")  # bridge mode: c1 <-> c2
    # The container's MAC is what the LAN sees.
    neigh = {n["dst"]: n.get("lladdr") for n in peer.ip_json("neigh", "show", "dev", "eth0")}
    assert neigh.get("198.51.100.128") == "02:42:c6:33:64:80"

    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "mv")
    assert links(host) == {"lo", "lan0"}


def test_private_mode_blocks_container_to_container(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    host.pynet("network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "-o", "macvlan_mode=private", "mvp")
    run(host, "c1", "mvp")
    run(host, "c2", "mvp")
    assert sandbox_link(host, "c1")["linkinfo"]["info_data"]["mode"] == "private"
    assert ping(host, "c1", PEER_IP) and ping(host, "c2", PEER_IP)  # controls: both on the LAN
    assert not ping(host, "c1", "198.51.100.129")
    assert not ping(host, "c2", "198.51.100.128")


def test_no_parent_is_an_isolated_network(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    net_id = host.pynet("network", "create", "-d", "macvlan", "--subnet", "10.66.0.0/24", "iso").stdout.strip()
    parent = "dm-" + net_id[:12]
    # Docker's dummy parent, made as a port-less bridge (this kernel has no dummy links).
    info = host.ip_json("-d", "link", "show", parent)[0]
    assert info["linkinfo"]["info_kind"] == "bridge"
    run(host, "c1", "iso")
    run(host, "c2", "iso")
    assert sandbox_link(host, "c1")["linkinfo"]["info_kind"] == "macvlan"
    assert ping(host, "c1", "10.66.0.3")  # they reach each other
    assert host.in_sandbox("c1", "ip", "route", "show", "default").stdout.strip() == ""
    assert not ping(host, "c1", PEER_IP)  # and nothing else
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "iso")
    assert links(host) == {"lo", "lan0"}


def test_internal_ignores_the_parent(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    net_id = host.pynet("network", "create", *MACVLAN_FLAGS, "--internal", "-o", "parent=lan0", "int").stdout.strip()
    assert "dm-" + net_id[:12] in links(host)
    run(host, "c1", "int")
    run(host, "c2", "int")
    assert host.in_sandbox("c1", "ip", "route", "show", "default").stdout.strip() == ""
    assert ping(host, "c1", "198.51.100.129")  # control: the network works inside
    assert not ping(host, "c1", PEER_IP)
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "int")
    assert links(host) == {"lo", "lan0"}


def test_missing_parent_is_a_clear_error(host: Host) -> None:
    before = links(host)
    msg = error_of(host, "network", "create", "-d", "macvlan", "-o", "parent=eth9", "mv")
    assert msg == "Error response from daemon: -o parent interface was not found on the host: eth9"
    assert "mv" not in network_names(host)
    assert links(host) == before


def test_vlan_parent_is_made_or_refused_clearly(host: Host, lan_peer) -> None:
    peer = lan_peer(host, LAN)
    if kernel_supports("vlan"):
        _vlan_parent_is_made_and_removed(host, peer)
        return
    for parent in ("lan0.10", "eth0.10"):
        msg = error_of(host, "network", "create", *MACVLAN_FLAGS, "-o", f"parent={parent}", "mv")
        assert msg.startswith(
            "Error response from daemon: 802.1q VLAN sub-interfaces are not supported by this kernel"
        ), msg
    assert "mv" not in network_names(host)
    assert links(host) == {"lo", "lan0"}  # no sub-interface, no probe link


def _vlan_parent_is_made_and_removed(host: Host, peer) -> None:
    """With 802.1q: Docker makes ``lan0.10`` for the network and removes it with it."""
    peer.sh(
        "ip link add link eth0 name eth0.10 type vlan id 10 && "
        "ip addr add 10.90.0.2/24 dev eth0.10 && ip link set eth0.10 up"
    )
    host.pynet(
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "10.90.0.0/24",
        "--gateway",
        "10.90.0.2",
        "-o",
        "parent=lan0.10",
        "mv",
    )
    info = host.ip_json("-d", "link", "show", "lan0.10")[0]
    assert info["linkinfo"]["info_kind"] == "vlan" and info["linkinfo"]["info_data"]["id"] == 10
    assert info["link"] == "lan0"
    run(host, "c1", "mv")
    assert ping(host, "c1", "10.90.0.2")  # tagged frames reach the peer's VLAN 10
    host.pynet("rm", "-f", "c1")
    host.pynet("network", "rm", "mv")
    assert links(host) == {"lo", "lan0"}


def test_bad_vlan_names_get_dockers_messages(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    msg = error_of(host, "network", "create", "-d", "macvlan", "-o", "parent=lan0.x", "mv")
    assert msg.endswith("unable to parse a valid vlan id from: x (ex. eth0.10 for vlan 10)")
    msg = error_of(host, "network", "create", "-d", "macvlan", "-o", "parent=lan0.5000", "mv")
    assert msg.endswith("vlan id must be between 1-4094, received: 5000")


def test_ipvlan_is_a_clear_error_with_or_without_kernel_support(host: Host) -> None:
    msg = error_of(host, "network", "create", "-d", "ipvlan", "iv")
    if kernel_supports("ipvlan"):
        assert msg == "Error response from daemon: ipvlan driver is not implemented by pynet (macvlan is)"
    else:
        assert msg == "Error response from daemon: ipvlan driver is not supported by this kernel (no ipvlan links)"
    assert "iv" not in network_names(host)
    assert links(host) == {"lo"}


def test_options_are_checked_as_docker_does(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    msg = error_of(host, "network", "create", "-d", "macvlan", "-o", "parent=lan0", "-o", "macvlan_mode=hub", "m")
    assert msg == (
        "Error response from daemon: requested macvlan mode 'hub' is not valid, "
        "'bridge' mode is the macvlan driver default"
    )
    msg = error_of(host, "network", "create", "-d", "macvlan", "-o", "parent=lo", "m")
    assert msg == "Error response from daemon: loopback interface is not a valid macvlan parent link"
    assert "m" not in network_names(host)


def test_one_parent_many_networks_unless_passthru(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    a = host.pynet("network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "a").stdout.strip()
    # Same parent, another subnet: allowed (each network its own subnet on the wire).
    b = host.pynet(
        "network", "create", "-d", "macvlan", "--subnet", "10.77.0.0/24", "-o", "parent=lan0", "b"
    ).stdout.strip()
    # The same subnet again is the core's overlap error.
    msg = error_of(host, "network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "c")
    assert "overlaps" in msg
    msg = error_of(
        host,
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "10.78.0.0/24",
        "-o",
        "parent=lan0",
        "-o",
        "macvlan_mode=passthru",
        "d",
    )
    assert msg in (
        f"Error response from daemon: cannot use mode passthru, macvlan network {other} "
        "is already using parent interface lan0"
        for other in (a, b)
    )
    assert network_names(host) >= {"a", "b"} and not network_names(host) & {"c", "d"}


def test_failed_attach_leaves_nothing(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    host.pynet("network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "mv")
    cp = host.pynet(
        "run", "-d", "--name", "c1", "--network", "mv", "sleep", "300", env={"PYNET_FAULT": "netns_config"}, check=False
    )
    assert cp.returncode != 0 and "injected fault at netns_config" in cp.stderr
    assert links(host) == {"lo", "lan0"}
    run(host, "c2", "mv")  # the next attach works
    assert ping(host, "c2", PEER_IP)


def test_passthru_owns_its_parent(host: Host, lan_peer) -> None:
    lan_peer(host, LAN)
    p = host.pynet(
        "network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "-o", "macvlan_mode=passthru", "p"
    ).stdout.strip()
    msg = error_of(host, "network", "create", "-d", "macvlan", "--subnet", "10.77.0.0/24", "-o", "parent=lan0", "q")
    assert (
        msg
        == f"Error response from daemon: macvlan network {p} is already using parent interface lan0 in mode passthru"
    )
    run(host, "c1", "p")
    assert sandbox_link(host, "c1")["linkinfo"]["info_data"]["mode"] == "passthru"
    host.pynet("rm", "-f", "c1")
    host.pynet("network", "rm", "p")
    assert links(host) == {"lo", "lan0"}


def test_macvlan_beside_the_firewall(host: Host, lan_peer) -> None:
    """With pynet's nftables policy in force (a bridge network exists), macvlan containers
    still reach the LAN and each other, also one that is on the bridge network too."""
    peer = lan_peer(host, LAN)
    br_id = host.pynet("network", "create", "--subnet", "10.58.0.0/24", "brnet").stdout.strip()
    host.pynet("network", "create", *MACVLAN_FLAGS, "-o", "parent=lan0", "mv")
    host.pynet("run", "-d", "--name", "b1", "--network", "brnet", "sleep", "300")
    run(host, "c1", "mv")
    host.pynet("network", "connect", "mv", "b1")
    nft = json.loads(host.sh("nft", "-j", "list", "set", "inet", "pynet", "bridges").stdout)["nftables"]
    assert [item["set"].get("elem") for item in nft if "set" in item] == [[f"br-{br_id[:12]}"]]
    assert "lan0" not in host.sh("nft", "list", "ruleset").stdout  # the policy leaves the LAN alone
    assert ping(host, "c1", PEER_IP) and ping(host, "b1", PEER_IP)
    assert ping(host, "b1", "198.51.100.128")  # b1 (.129 on mv) <-> c1
    peer.sh("ping", "-c1", "-W1", "198.51.100.129")
    assert ping(host, "b1", "10.58.0.1")
    host.pynet("rm", "-f", "b1", "c1")
    host.pynet("network", "rm", "mv", "brnet")
    assert links(host) == {"lo", "lan0"}

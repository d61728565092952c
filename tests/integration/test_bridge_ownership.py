"""Who owns a bridge: pynet never deletes (or misuses) a host interface it did not create.

Docker's rule for ``-o com.docker.network.bridge.name=X``: an existing device X that is not
a bridge is an error ("existing interface X is not a bridge", nothing changed); an existing
bridge is used, and ``network rm`` removes only pynet's address, rules and ports from it.
Journal replay follows the same rule, and an internal network's bridge routes nothing out.
"""

from __future__ import annotations

import json

import pytest

from harness import Host

pytestmark = pytest.mark.integration

NAME_OPT = "com.docker.network.bridge.name"


def addresses(host: Host, dev: str) -> list[str]:
    [link] = host.ip_json("addr", "show", "dev", dev)
    return sorted(f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet")


def link(host: Host, dev: str) -> dict | None:
    found = [x for x in host.ip_json("-d", "link", "show") if x["ifname"] == dev]
    return found[0] if found else None


def kind(host: Host, dev: str) -> str | None:
    found = link(host, dev)
    return None if found is None else found.get("linkinfo", {}).get("info_kind", "")


def ports(host: Host, bridge: str) -> list[str]:
    return sorted(x["ifname"] for x in host.ip_json("link", "show", "master", bridge))


def ruleset(host: Host) -> str:
    return host.sh("nft", "-j", "list", "ruleset").stdout


def _answered(attempt) -> bool:
    """True when one of three pings is answered (a link just brought up may drop the first)."""
    return any(attempt().returncode == 0 for _ in range(3))


def host_pings(host: Host, ip: str) -> bool:
    return _answered(lambda: host.sh("ping", "-c1", "-W1", ip, check=False))


def ping_from(host: Host, container: str, ip: str) -> bool:
    return _answered(lambda: host.in_sandbox(container, "ping", "-c1", "-W1", ip, check=False))


def ip_of(host: Host, container: str) -> str:
    return host.pynet(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container
    ).stdout.strip()


def foreign_bridge(host: Host, lan_peer) -> object:
    """``lanbr``: the user's bridge with its own 192.0.2.1/24 and port ``lanport`` to a peer."""
    peer = lan_peer(host, "192.0.2.0/24", host_ifname="lanport")
    host.sh(
        "ip addr flush dev lanport && ip link add lanbr type bridge && "
        "ip link set lanport master lanbr && ip addr add 192.0.2.1/24 dev lanbr && "
        "ip link set lanbr up"
    )
    assert host_pings(host, peer.ip)  # the user's LAN works through lanbr
    return peer


def test_an_existing_interface_that_is_not_a_bridge_is_refused(host: Host, lan_peer) -> None:
    peer = lan_peer(host, "198.51.100.0/24")  # lan0: the host's uplink, a veth
    assert host_pings(host, peer.ip)
    before = (addresses(host, "lan0"), kind(host, "lan0"), ruleset(host))

    cp = host.pynet("network", "create", "-o", f"{NAME_OPT}=lan0", "--subnet", "10.91.0.0/24", "x", check=False)

    assert cp.returncode == 1
    assert cp.stderr == "Error response from daemon: existing interface lan0 is not a bridge\n"
    assert (addresses(host, "lan0"), kind(host, "lan0"), ruleset(host)) == before
    assert "x" not in host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert host_pings(host, peer.ip)  # still connected


def test_a_foreign_bridge_is_used_and_left_in_place(host: Host, lan_peer) -> None:
    peer = foreign_bridge(host, lan_peer)

    localnet = host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.route_localnet").stdout
    host.pynet("network", "create", "-o", f"{NAME_OPT}=lanbr", "--subnet", "10.92.0.0/24", "x")
    assert addresses(host, "lanbr") == ["10.92.0.1/24", "192.0.2.1/24"]
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.route_localnet").stdout != localnet
    for name in ("c1", "c2"):
        host.pynet("run", "-d", "--name", name, "--network", "x", "sleep", "300")
    assert len(ports(host, "lanbr")) == 3  # lanport + two containers
    assert ping_from(host, "c1", ip_of(host, "c2"))
    assert '"lanbr"' in ruleset(host)

    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "x")

    assert kind(host, "lanbr") == "bridge"
    assert addresses(host, "lanbr") == ["192.0.2.1/24"]  # pynet's gateway gone, the user's kept
    assert ports(host, "lanbr") == ["lanport"]
    assert '"lanbr"' not in ruleset(host)
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.route_localnet").stdout == localnet
    assert host_pings(host, peer.ip)


def test_a_bridge_pynet_made_under_a_chosen_name_is_removed(host: Host) -> None:
    # the positive control of the test above: ownership, not the name option, decides
    host.pynet("network", "create", "-o", f"{NAME_OPT}=mybr", "--subnet", "10.95.0.0/24", "y")
    assert kind(host, "mybr") == "bridge"
    host.pynet("network", "rm", "y")
    assert kind(host, "mybr") is None


def test_a_restore_after_reboot_does_not_take_the_bridge_over(host: Host, lan_peer) -> None:
    peer = foreign_bridge(host, lan_peer)
    host.pynet("network", "create", "-o", f"{NAME_OPT}=lanbr", "--subnet", "10.92.0.0/24", "x")
    (host.run_dir / "restored").unlink()  # the runtime is new: restore from state
    host.pynet("network", "ls")
    assert addresses(host, "lanbr") == ["10.92.0.1/24", "192.0.2.1/24"]

    host.pynet("network", "rm", "x")
    assert addresses(host, "lanbr") == ["192.0.2.1/24"]
    assert host_pings(host, peer.ip)


# -- journal replay ------------------------------------------------------------------------


def write_journal(host: Host, journal: dict) -> None:
    (host.state_dir / "journal.json").write_text(json.dumps(journal))


def test_replay_removes_no_link_the_journal_cannot_prove_is_pynets(host: Host, lan_peer) -> None:
    peer = foreign_bridge(host, lan_peer)
    lan_peer(host, "198.51.100.0/24", host_ifname="lan0")  # a veth
    host.pynet("network", "ls")  # state exists
    write_journal(
        host,
        {
            "commit": None,
            "undo": [
                {"kind": "link", "name": "lanbr"},
                {"kind": "link", "name": "lan0"},
                {"kind": "addresses", "link": "lanbr", "cidrs": ["192.0.2.1/24"]},
            ],
        },
    )

    host.pynet("network", "create", "--subnet", "10.96.0.0/24", "z")  # recovers first

    assert not (host.state_dir / "journal.json").exists()
    assert (kind(host, "lanbr"), kind(host, "lan0")) == ("bridge", "veth")
    assert addresses(host, "lanbr") == ["192.0.2.1/24"]
    assert host_pings(host, peer.ip)


def test_replay_removes_a_bridge_pynet_made_before_a_kill(host: Host) -> None:
    # positive control: pynet's own journal (the bridge's index recorded) is rolled back
    host.pynet("network", "ls")
    cp = host.pynet(
        "network",
        "create",
        "-o",
        f"{NAME_OPT}=mybr",
        "--subnet",
        "10.97.0.0/24",
        "y",
        check=False,
        env={"PYNET_FAULT_KILL": "nft_apply"},
    )
    assert cp.returncode != 0
    assert kind(host, "mybr") == "bridge" and (host.state_dir / "journal.json").exists()

    host.pynet("network", "create", "--subnet", "10.98.0.0/24", "z")

    assert kind(host, "mybr") is None
    assert "y" not in host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()


@pytest.mark.parametrize("key", ["networks/../../escaped", "/tmp/escaped-pynet", "networks/a/../../../escaped"])
def test_a_journal_key_outside_the_state_dir_is_rejected(host: Host, key: str) -> None:
    host.pynet("network", "ls")
    journal = host.state_dir / "journal.json"
    write_journal(host, {"undo": [], "commit": {"puts": {key: {"id": "x"}}, "deletes": [], "indexes": {}}})
    before = sorted(p.name for p in host.root.rglob("*") if not p.name.startswith("warm-"))  # a warm server's

    cp = host.pynet("network", "create", "--subnet", "10.99.0.0/24", "z", check=False)

    assert cp.returncode == 1
    assert cp.stderr == (
        f"Error: state file {journal} is corrupt: invalid key {key!r}; "
        "delete it to make pynet forget the interrupted command\n"
    )
    assert sorted(p.name for p in host.root.rglob("*") if not p.name.startswith("warm-")) == before
    assert not list(host.root.parent.glob("escaped*")) and not list(host.root.glob("escaped*"))


# -- internal networks ---------------------------------------------------------------------


@pytest.mark.parametrize("firewall", ["nftables", "none"])
def test_an_internal_bridge_routes_nothing_out(host: Host, lan_peer, firewall: str) -> None:
    host.env["PYNET_FIREWALL"] = firewall
    if firewall == "none":
        host.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")  # the host routes; pynet's rules are off
    peer = lan_peer(host, "198.51.100.0/24", routed=True)
    # internal first: the next network turns ip_forward on, which resets every device's forwarding
    host.pynet("network", "create", "--internal", "-o", f"{NAME_OPT}=br-int", "--subnet", "10.93.0.0/24", "inet")
    host.pynet("network", "create", "--subnet", "10.94.0.0/24", "pub")
    host.pynet("run", "-d", "--name", "i1", "--network", "inet", "sleep", "300")
    host.pynet("run", "-d", "--name", "p1", "--network", "pub", "sleep", "300")
    # a container that routes by itself (NET_ADMIN): a gateway route on the internal network
    host.in_sandbox("i1", "ip", "route", "add", "default", "via", "10.93.0.1")

    assert ping_from(host, "p1", peer.ip)  # positive control: forwarding works
    assert ping_from(host, "i1", "10.93.0.1")  # the bridge itself is reachable
    assert host.sh("sysctl", "-n", "net.ipv4.conf.br-int.forwarding").stdout.strip() == "0"
    assert not ping_from(host, "i1", peer.ip)


@pytest.mark.parametrize("fault", ["PYNET_FAULT", "PYNET_FAULT_KILL"])
def test_a_failed_create_on_a_foreign_bridge_leaves_it_as_it_was(host: Host, lan_peer, fault: str) -> None:
    host.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")  # so no later command flips it
    peer = foreign_bridge(host, lan_peer)
    host.pynet("network", "ls")
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.forwarding").stdout.strip() == "1"
    cp = host.pynet(
        "network",
        "create",
        "--internal",
        "-o",
        f"{NAME_OPT}=lanbr",
        "--subnet",
        "10.92.0.0/24",
        "x",
        check=False,
        env={fault: "nft_apply"},
    )
    assert cp.returncode != 0
    host.pynet("network", "create", "--subnet", "10.98.0.0/24", "z")  # a kill is rolled back here

    assert kind(host, "lanbr") == "bridge"
    assert addresses(host, "lanbr") == ["192.0.2.1/24"]
    assert ports(host, "lanbr") == ["lanport"]
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.forwarding").stdout.strip() == "1"
    assert host_pings(host, peer.ip)


def test_rm_of_an_internal_network_gives_a_foreign_bridge_its_forwarding_back(host: Host, lan_peer) -> None:
    foreign_bridge(host, lan_peer)
    host.sh("sysctl", "-qw", "net.ipv4.conf.lanbr.forwarding=1")
    host.pynet("network", "create", "--internal", "-o", f"{NAME_OPT}=lanbr", "--subnet", "10.92.0.0/24", "x")
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.forwarding").stdout.strip() == "0"
    host.pynet("network", "rm", "x")
    assert host.sh("sysctl", "-n", "net.ipv4.conf.lanbr.forwarding").stdout.strip() == "1"

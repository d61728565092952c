"""Many pynet commands at once on one host: the state lock makes them take turns, so no
address is handed out twice, a name is taken once, and exhaustion fails cleanly."""

from __future__ import annotations

import ipaddress
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import Host

pytestmark = pytest.mark.integration

WORKERS = 16  # concurrent pynet processes (the suite runs on 2 cores)


def _parallel(host: Host, commands: list[list[str]], timeout: float = 120):
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(commands))) as pool:
        return list(pool.map(lambda args: host.pynet(*args, check=False, timeout=timeout), commands))


def _links(host: Host, kind: str) -> list[str]:
    return sorted(link["ifname"] for link in host.ip_json("link", "show", "type", kind))


def _netns_files(host: Host) -> list[str]:
    d = host.run_dir / "netns"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_50_concurrent_runs_get_50_distinct_addresses(host: Host) -> None:
    net_id = host.pynet("network", "create", "--subnet", "10.20.0.0/24", "busy").stdout.strip()
    bridge = f"br-{net_id[:12]}"
    results = _parallel(host, [["run", "-d", "--network", "busy", "sleep", "600"] for _ in range(50)])
    ids = [cp.stdout.strip() for cp in results if cp.returncode == 0]
    try:
        failures = [(cp.returncode, cp.stderr) for cp in results if cp.returncode != 0]
        assert failures == []
        assert len(set(ids)) == 50
        nets = [c["NetworkSettings"]["Networks"]["busy"] for c in host.pynet_json("inspect", *ids)]
        addrs = [n["IPAddress"] for n in nets]
        assert len(set(addrs)) == 50, "an address was handed out twice"
        subnet = ipaddress.ip_network("10.20.0.0/24")
        for a in addrs:
            assert ipaddress.ip_address(a) in subnet and a not in ("10.20.0.0", "10.20.0.1", "10.20.0.255")
        assert len({n["MacAddress"] for n in nets}) == 50
        # the network and the kernel agree: 50 members, 50 ports on the bridge
        members = host.pynet_json("network", "inspect", "busy")[0]["Containers"]
        assert sorted(members) == sorted(ids)
        ports = json.loads(host.sh("bridge", "-j", "link", "show").stdout)
        assert sum(1 for p in ports if p.get("master") == bridge) == 50
        assert len(_netns_files(host)) == 50
        assert len(host.pynet("ps", "-q").stdout.split()) == 50
    finally:
        for i in range(0, len(ids), 25):
            host.pynet("rm", "-f", *ids[i : i + 25], timeout=120)
    assert _links(host, "veth") == []
    assert _netns_files(host) == []
    assert host.pynet_json("network", "inspect", "busy")[0]["Containers"] == {}


def test_20_concurrent_creates_of_one_name_make_one_network(host: Host) -> None:
    results = _parallel(host, [["network", "create", "samename"] for _ in range(20)])
    ok = [cp for cp in results if cp.returncode == 0]
    failed = [cp for cp in results if cp.returncode != 0]
    assert len(ok) == 1
    assert {(cp.returncode, cp.stderr) for cp in failed} == {
        (1, "Error response from daemon: network with name samename already exists\n")
    }
    net_id = ok[0].stdout.strip()
    assert host.pynet("network", "ls", "-q", "--no-trunc", "--filter", "name=samename").stdout == net_id + "\n"
    assert _links(host, "bridge") == [f"br-{net_id[:12]}"]


def test_concurrent_creates_of_different_names_get_distinct_subnets(host: Host) -> None:
    results = _parallel(host, [["network", "create", f"net{i}"] for i in range(10)])
    assert [cp.returncode for cp in results] == [0] * 10, [cp.stderr for cp in results]
    nets = host.pynet_json("network", "inspect", *[f"net{i}" for i in range(10)])
    subnets = [ipaddress.ip_network(n["IPAM"]["Config"][0]["Subnet"]) for n in nets]
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    assert len(_links(host, "bridge")) == 10


def test_exhausted_subnet_gives_a_clear_error_and_no_leftovers(host: Host) -> None:
    # a /29 has 8 addresses: network, gateway, broadcast, and 5 for containers
    net_id = host.pynet("network", "create", "--subnet", "10.29.0.0/29", "tiny").stdout.strip()
    ids = [host.pynet("run", "-d", "--network", "tiny", "sleep", "600").stdout.strip() for _ in range(5)]
    try:
        veths, netns, state = (
            _links(host, "veth"),
            _netns_files(host),
            sorted(p.name for p in (host.state_dir / "endpoints").iterdir()),
        )
        for attempt in ("run", "run -d"):
            args = (
                ["run", "--rm", "--network", "tiny", "true"]
                if attempt == "run"
                else ["run", "-d", "--network", "tiny", "sleep", "600"]
            )
            cp = host.pynet(*args, check=False)
            assert cp.returncode == 125, attempt
            assert cp.stderr == (
                "pynet: Error response from daemon: no available IPv4 addresses on this "
                f"network's address pools: tiny ({net_id}).\n"
            )
            assert _links(host, "veth") == veths
            assert _netns_files(host) == netns
            assert sorted(p.name for p in (host.state_dir / "endpoints").iterdir()) == state
            assert not (host.state_dir / "journal.json").exists()
        assert len(host.pynet("ps", "-aq").stdout.split()) == 5, "a failed run left a container record"
        # freeing one address makes room again
        host.pynet("rm", "-f", ids.pop())
        ids.append(host.pynet("run", "-d", "--network", "tiny", "sleep", "600").stdout.strip())
    finally:
        host.pynet("rm", "-f", *ids)
    assert _links(host, "veth") == [] and _netns_files(host) == []

"""Failures and crashes: an injected error or a kill -9 at each named fault point
(``PYNET_FAULT=<point>`` / ``PYNET_FAULT_KILL=<point>``, see pynet/faults.py), corrupt
or too-new state files, and teardown when kernel objects are already gone.

After any failure the next command works, and kernel + state equal either the state
before the command or the command's complete result -- never something in between.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from harness import Host, assert_not_root_netns, mounts_under, run

pytestmark = pytest.mark.integration

KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)


# -- what a user can observe --------------------------------------------------------------


def _ids(host: Host, *args: str) -> list[str]:
    return host.pynet(*args).stdout.split()


class World:
    """One look at everything pynet reports: networks and containers by name."""

    def __init__(self, host: Host) -> None:
        ids = _ids(host, "network", "ls", "-q", "--no-trunc")
        self.nets = {n["Name"]: n for n in host.pynet_json("network", "inspect", *ids)}
        ids = _ids(host, "ps", "-aq", "--no-trunc")
        self.containers = {c["Name"].lstrip("/"): c for c in host.pynet_json("inspect", *ids)} if ids else {}

    def view(self) -> dict[str, Any]:
        """The user's view: network names, and per container its state class and networks."""
        return {
            "networks": sorted(n for n in self.nets if n != "probe"),
            "containers": {
                name: (_status(c), sorted(c["NetworkSettings"]["Networks"])) for name, c in self.containers.items()
            },
        }


def _status(c: dict) -> str:
    return {"running": "up", "created": "up"}.get(c["State"]["Status"], c["State"]["Status"])


def observe(host: Host) -> dict[str, Any]:
    return World(host).view()


def _host_links(host: Host) -> dict[str, dict]:
    return {link["ifname"]: link for link in host.ip_json("-d", "link", "show")}


def _kind(link: dict) -> str:
    return link.get("linkinfo", {}).get("info_kind", "")


def _live_netns(host: Host) -> set[str]:
    return {Path(p).name for p, fs in mounts_under(host.run_dir / "netns") if fs == "nsfs"}


def check_consistent(host: Host, world: World | None = None) -> None:
    """Kernel and state agree: every object pynet knows exists, and nothing else does."""
    world = world or World(host)
    nets, containers = world.nets, world.containers
    links = _host_links(host)
    bridges = {n for n, link in links.items() if _kind(link) == "bridge"}
    vethnames = {n for n, link in links.items() if _kind(link) == "veth"}
    expected_bridges, endpoints = set(), 0
    for net in nets.values():
        if net["Driver"] != "bridge":
            continue
        dev = net["Options"].get("com.docker.network.bridge.name") or f"br-{net['Id'][:12]}"
        endpoints += len(net["Containers"])
        if dev == "pynet0" and not net["Containers"]:
            bridges.discard(dev)  # the default bridge may exist before first use
            continue
        expected_bridges.add(dev)
    assert bridges == expected_bridges, "bridges in the kernel != bridge networks in state"
    assert len(vethnames) == endpoints, f"{len(vethnames)} veths in the kernel, {endpoints} endpoints in state"
    for v in vethnames:
        assert links[v].get("master") in expected_bridges, f"{v} is on no pynet bridge"
    # sandboxes: one live netns per container that has one, holding its addresses
    sandboxes = set()
    for name, c in containers.items():
        key = c["NetworkSettings"]["SandboxKey"]
        if c["State"]["Status"] not in ("running", "created") or not key:
            continue
        sandboxes.add(Path(key).name)
        assert_not_root_netns(key)
        inside = json.loads(run(["nsenter", f"--net={key}", "ip", "-j", "-4", "addr", "show"]).stdout)
        addrs = {a["local"] for d in inside if d["ifname"] != "lo" for a in d["addr_info"]}
        want = {e["IPAddress"] for e in c["NetworkSettings"]["Networks"].values() if e["IPAddress"]}
        assert addrs == want, f"{name}: sandbox has {addrs}, inspect says {want}"
        for net_name in c["NetworkSettings"]["Networks"]:
            if net_name in nets and nets[net_name]["Driver"] == "bridge":
                assert c["Id"] in nets[net_name]["Containers"], f"{name} missing from {net_name}"
    assert _live_netns(host) == sandboxes, "sandbox namespaces != containers with a sandbox"
    netns_dir = host.run_dir / "netns"
    files = {p.name for p in netns_dir.iterdir()} if netns_dir.exists() else set()
    assert files == sandboxes, "netns files left under the run dir"
    ids = {c["Id"] for c in containers.values()}
    cdir = host.state_dir / "containers"
    dirs = {p.name for p in cdir.iterdir() if p.is_dir()} if cdir.exists() else set()
    assert dirs <= ids, f"container directories without a container: {sorted(dirs - ids)}"


def teardown_all_and_check_clean(host: Host, world: World | None = None) -> None:
    """Remove everything with pynet itself; the kernel must then hold nothing of pynet's."""
    world = world or World(host)
    if world.containers:
        host.pynet("rm", "-f", *world.containers)
    user = [n for n in world.nets if n not in ("bridge", "host", "none")]
    if user:
        host.pynet("network", "rm", *user)
    leftover = sorted(n for n, link in _host_links(host).items() if _kind(link) in ("bridge", "veth") and n != "pynet0")
    assert leftover == [], "kernel objects pynet no longer knows about"
    assert _live_netns(host) == set()
    assert not (host.state_dir / "journal.json").exists()
    assert sorted(p.name for p in (host.state_dir / "endpoints").glob("*.json")) == []


# -- the fault matrix ------------------------------------------------------------------------

COMMANDS = {
    "network create": ["network", "create", "--subnet", "10.9.0.0/24", "newnet"],
    "run": ["run", "-d", "--name", "c2", "--network", "base", "sleep", "300"],
    "run -p": ["run", "-d", "--name", "c2", "--network", "base", "-p", "8080:80", "sleep", "300"],
    "connect": ["network", "connect", "other", "c1"],
    "disconnect": ["network", "disconnect", "other", "c1"],
    "rm -f": ["rm", "-f", "c1"],
    "network rm": ["network", "rm", "victim"],
    "unpublish": ["rm", "-f", "p1"],  # a container with a published port
}
TEARDOWN = ("disconnect", "rm -f", "network rm", "unpublish")

KILL_CASES = [
    ("network create", "bridge_add"),
    ("network create", "nft_apply"),
    ("network create", "state_commit"),
    ("run", "ipam_reserve"),
    ("run", "veth_add"),
    ("run", "netns_config"),
    ("run", "state_commit"),
    ("connect", "veth_add"),
    ("connect", "state_commit"),
    ("disconnect", "state_commit"),
    ("rm -f", "state_commit"),
    ("network rm", "state_commit"),
    ("network create", "state_apply"),
    ("run", "state_apply"),
    ("run -p", "state_commit"),
    ("connect", "state_apply"),
    ("disconnect", "endpoint_detach"),
    ("disconnect", "state_apply"),
    ("rm -f", "endpoint_detach"),
    ("rm -f", "sandbox_delete"),
    ("rm -f", "state_apply"),
    ("network rm", "state_apply"),
    ("network rm", "bridge_del"),
    ("unpublish", "endpoint_detach"),
    ("unpublish", "sandbox_delete"),
    ("unpublish", "state_commit"),
]
ERROR_CASES = [
    ("network create", "bridge_add"),
    ("network create", "nft_apply"),
    ("run", "ipam_reserve"),
    ("run", "netns_config"),
    ("connect", "veth_add"),
    ("connect", "state_commit"),
    # a failure at commit: the command fails AND changed nothing
    ("network create", "state_commit"),
    ("network create", "state_apply"),
    ("run", "state_commit"),
    ("run", "state_apply"),
    ("run -p", "state_commit"),
    ("connect", "state_apply"),
    # teardown: what was deleted cannot come back, so it is finished (by the next command)
    ("disconnect", "endpoint_detach"),
    ("disconnect", "state_commit"),
    ("rm -f", "endpoint_detach"),
    ("rm -f", "sandbox_delete"),
    ("rm -f", "state_commit"),
    ("network rm", "state_commit"),
    ("network rm", "bridge_del"),
    ("unpublish", "endpoint_detach"),
    ("unpublish", "sandbox_delete"),
    ("unpublish", "state_commit"),
]


def setup_world(host: Host, command: str) -> None:
    host.pynet("network", "create", "--subnet", "10.7.0.0/24", "base")
    host.pynet("run", "-d", "--name", "c1", "--network", "base", "sleep", "300")
    if command in ("connect", "disconnect"):
        host.pynet("network", "create", "--subnet", "10.8.0.0/24", "other")
    if command == "disconnect":
        host.pynet("network", "connect", "other", "c1")
    if command == "network rm":
        host.pynet("network", "create", "--subnet", "10.6.0.0/24", "victim")
    if command == "unpublish":
        host.pynet("run", "-d", "--name", "p1", "--network", "base", "-p", "8080:80", "sleep", "300")


def complete_result(before: dict[str, Any], command: str) -> list[dict[str, Any]]:
    """The acceptable outcomes besides ``before``."""
    nets, cs = list(before["networks"]), dict(before["containers"])
    if command == "network create":
        return [{"networks": sorted(nets + ["newnet"]), "containers": cs}]
    if command in ("run", "run -p"):
        return [{"networks": nets, "containers": {**cs, "c2": ("up", ["base"])}}]
    if command == "connect":
        return [{"networks": nets, "containers": {**cs, "c1": ("up", ["base", "other"])}}]
    if command == "disconnect":
        return [{"networks": nets, "containers": {**cs, "c1": ("up", ["base"])}}]
    if command in ("rm -f", "unpublish"):  # the process is killed before the state changes
        name = "c1" if command == "rm -f" else "p1"
        gone = {k: v for k, v in cs.items() if k != name}
        return [{"networks": nets, "containers": gone}, {"networks": nets, "containers": {**cs, name: ("exited", [])}}]
    if command == "network rm":
        return [{"networks": [n for n in nets if n != "victim"], "containers": cs}]
    raise AssertionError(command)


def _after_failure(host: Host, before: dict[str, Any], command: str) -> None:
    # the next command works: a read-only one, then a mutating one
    assert host.pynet("network", "ls").returncode == 0
    host.pynet("network", "create", "--subnet", "10.99.0.0/24", "probe")
    world = World(host)
    after = world.view()
    assert after in [before, *complete_result(before, command)], (
        f"neither before nor complete:\nbefore={before}\nafter={after}"
    )
    check_consistent(host, world)
    _check_port_mapping(host, world)
    assert not (host.state_dir / "journal.json").exists()
    teardown_all_and_check_clean(host, world)


def _check_port_mapping(host: Host, world: World) -> None:
    """Port 8080 is in nft exactly when a live container publishes it."""
    published = any(
        c["State"]["Status"] in ("running", "created")
        and c["HostConfig"]["PortBindings"]
        and c["NetworkSettings"]["Ports"]
        for c in world.containers.values()
    )
    ruleset = host.sh("nft list ruleset", check=False).stdout
    assert ("8080" in ruleset) == published, ruleset


@pytest.mark.parametrize("command, point", KILL_CASES, ids=[f"{c}@{p}" for c, p in KILL_CASES])
def test_kill_at_fault_point(host: Host, command: str, point: str) -> None:
    setup_world(host, command)
    before = observe(host)
    cp = host.pynet(*COMMANDS[command], check=False, env={"PYNET_FAULT_KILL": point})
    assert cp.returncode in KILLED, (
        f"fault point {point} was not reached by `pynet {command}`: rc={cp.returncode} {cp.stderr}"
    )
    _after_failure(host, before, command)


@pytest.mark.parametrize("command, point", ERROR_CASES, ids=[f"{c}@{p}" for c, p in ERROR_CASES])
def test_error_at_fault_point(host: Host, command: str, point: str) -> None:
    setup_world(host, command)
    before = observe(host)
    cp = host.pynet(*COMMANDS[command], check=False, env={"PYNET_FAULT": point})
    assert cp.returncode == (125 if command.startswith("run") else 1), cp.stderr
    assert f"injected fault at {point}" in cp.stderr
    assert len(cp.stderr.splitlines()) == 1 and "Traceback" not in cp.stderr
    if command not in TEARDOWN:
        # rolled back by the failing command itself, before any other command runs
        assert not (host.state_dir / "journal.json").exists()
        world = World(host)
        assert world.view() == before
        check_consistent(host, world)
        _check_port_mapping(host, world)
    _after_failure(host, before, command)


@pytest.mark.parametrize(
    "command, point",
    [("network create", "state_commit"), ("run", "veth_add")],
    ids=["network create@state_commit", "run@veth_add"],
)
def test_read_only_command_right_after_a_kill_sees_a_consistent_world(host: Host, command: str, point: str) -> None:
    """The *next* command after a kill may be read-only (``ls``, ``ps``): what it shows
    must already agree with the kernel (finished or rolled back), not a half-made state."""
    setup_world(host, command)
    before = observe(host)
    cp = host.pynet(*COMMANDS[command], check=False, env={"PYNET_FAULT_KILL": point})
    assert cp.returncode in KILLED
    world = World(host)  # ls / inspect / ps only
    assert world.view() in [before, *complete_result(before, command)]
    check_consistent(host, world)
    teardown_all_and_check_clean(host, world)


# -- corrupt and too-new state files ---------------------------------------------------------


def _one_error_line(cp, path: Path) -> None:
    assert cp.returncode == 1, cp
    assert "Traceback" not in cp.stderr
    assert len(cp.stderr.splitlines()) == 1, cp.stderr
    assert str(path) in cp.stderr


def test_corrupt_state_file_is_a_clear_error_naming_it(host: Host) -> None:
    net_id = host.pynet("network", "create", "--subnet", "10.1.0.0/24", "mynet").stdout.strip()
    path = host.state_dir / "networks" / f"{net_id}.json"
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # torn
    # Commands that read that network's file say so; `network create` of another network
    # reads only the summary index (so its cost does not grow with the number of networks).
    for args in (["network", "ls"], ["network", "inspect", "mynet"], ["network", "rm", "mynet"]):
        cp = host.pynet(*args, check=False)
        _one_error_line(cp, path)
        assert cp.stderr.startswith("Error: ") and "corrupt" in cp.stderr
    cp = host.pynet("run", "--rm", "--network", "mynet", "true", check=False)
    assert cp.returncode == 125 and str(path) in cp.stderr and "Traceback" not in cp.stderr
    path.write_text(good)  # repaired by hand: works again
    assert host.pynet("network", "ls", "-q").returncode == 0
    assert f"br-{net_id[:12]}" in _host_links(host)


def test_corrupt_container_and_index_files(host: Host) -> None:
    cid = host.pynet("run", "-d", "--name", "c1", "sleep", "300").stdout.strip()
    record = host.state_dir / "containers" / f"{cid}.json"
    good = record.read_text()
    record.write_text("\x00\x01garbage")
    _one_error_line(host.pynet("ps", "-a", check=False), record)
    record.write_text(good)
    index = host.state_dir / "networks" / "_names.json"
    good_index = json.loads(index.read_text())
    index.write_text("{")
    # An index is derived data: rebuilt from the records, rewritten by the next mutation.
    assert host.pynet_json("network", "inspect", "bridge")[0]["Name"] == "bridge"
    host.pynet("rm", "-f", "c1")
    assert json.loads(index.read_text()) == good_index


def test_newer_schema_version_is_refused_clearly(host: Host) -> None:
    net_id = host.pynet("network", "create", "mynet").stdout.strip()
    path = host.state_dir / "networks" / f"{net_id}.json"
    record = json.loads(path.read_text())
    record["schema_version"] = 99
    path.write_text(json.dumps(record))
    cp = host.pynet("network", "ls", check=False)
    _one_error_line(cp, path)
    assert "newer" in cp.stderr and "99" in cp.stderr


def test_torn_journal_does_not_block_the_next_command(host: Host) -> None:
    host.pynet("network", "ls")
    (host.state_dir / "journal.json").write_text('{"undo": [{"kind": "li')
    net_id = host.pynet("network", "create", "mynet").stdout.strip()
    assert f"br-{net_id[:12]}" in _host_links(host)
    assert not (host.state_dir / "journal.json").exists()


# -- idempotent teardown: kernel objects already gone ---------------------------------------


def test_rm_and_disconnect_succeed_when_kernel_objects_are_gone(host: Host) -> None:
    net_id = host.pynet("network", "create", "--subnet", "10.1.0.0/24", "mynet").stdout.strip()
    host.pynet("network", "create", "--subnet", "10.2.0.0/24", "othernet")
    host.pynet("run", "-d", "--name", "c1", "--network", "mynet", "sleep", "300")
    host.pynet("network", "connect", "othernet", "c1")
    # someone deletes c1's host-side veths by hand
    for name, link in _host_links(host).items():
        if _kind(link) == "veth":
            host.sh("ip", "link", "del", name)
    host.pynet("network", "disconnect", "othernet", "c1")
    assert host.pynet_json("network", "inspect", "othernet")[0]["Containers"] == {}
    # ... and the sandbox's namespace
    key = host.pynet("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", "c1").stdout.strip()
    assert key.startswith(str(host.run_dir))
    run(["umount", "-l", key])
    host.pynet("rm", "-f", "c1")
    assert not os.path.exists(key)
    # ... and the bridge
    host.sh("ip", "link", "del", f"br-{net_id[:12]}")
    assert host.pynet("network", "rm", "mynet", "othernet").stdout == "mynet\nothernet\n"
    teardown_all_and_check_clean(host)

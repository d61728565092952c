"""A reboot, simulated: the host's kernel objects and runtime dir vanish, the state dir
stays. The next pynet command brings every network back into the kernel and marks the
containers that were running as exited, as dockerd does when it starts."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from harness import alive, Host, mounts_under, run, wait_for

pytestmark = pytest.mark.integration


def _ns_inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _environ(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def firewall_view(host: Host) -> dict[tuple[str, str], list[str]]:
    """pynet's inet table in this host: every set's elements and every chain's rules."""
    items = json.loads(host.sh("nft", "-j", "list", "table", "inet", "pynet").stdout)["nftables"]
    view: dict[tuple[str, str], list[str]] = {}
    for item in items:
        body = item.get("set") or item.get("map")
        if body:
            view[("set", body["name"])] = sorted(json.dumps(e, sort_keys=True) for e in body.get("elem", []))
        elif "chain" in item:
            view.setdefault(("chain", item["chain"]["name"]), [])
        elif "rule" in item:
            view.setdefault(("chain", item["rule"]["chain"]), []).append(
                json.dumps(item["rule"]["expr"], sort_keys=True)
            )
    return view


def without_default_bridge(host: Host, view: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    """``view`` less the set elements of the default bridge (its link and its subnet)."""
    subnet = host.pynet_json("network", "inspect", "bridge")[0]["IPAM"]["Config"][0]["Subnet"]
    marks = ('"pynet0"', f'"addr": "{subnet.split("/")[0]}"')
    return {
        key: [e for e in elems if not any(m in e for m in marks)] if key[0] == "set" else elems
        for key, elems in view.items()
    }


def power_off(host: Host, sandbox_keys: dict[int, str]) -> None:
    """Everything a reboot takes away, in this host only.

    Processes first (helpers and supervisors, so nobody records an orderly exit; then the
    containers), each checked to belong to this host; then the links and the whole nftables
    ruleset of the host netns; then the runtime dir (netns bind mounts, pid files, sockets).
    """
    mine = f"PYNET_STATE_DIR={host.state_dir}".encode()
    helpers = [p for p in host.recorded_pids() if mine in _environ(p)]
    keeper = host.helper_pid(keeper=True)
    for pid in sorted(helpers, key=lambda p: p != keeper):  # the keeper first: it restarts pynetd
        _kill(pid)
    for pid, key in sandbox_keys.items():
        # a container process: its netns is the sandbox bind-mounted under this host's run dir
        assert key.startswith(str(host.run_dir)) and _ns_inode(f"/proc/{pid}/ns/net") == _ns_inode(key)
        _kill(pid)
    wait_for(
        lambda: not any(alive(p) for p in [*helpers, *sandbox_keys]), timeout=5, desc="the host's processes to die"
    )
    for link in host.ip_json("link", "show"):
        if link["ifname"] != "lo" and not link["ifname"].startswith("lan"):
            host.sh("ip", "link", "del", link["ifname"], check=False)
    host.sh("nft", "flush", "ruleset")
    for point, _fs in sorted(mounts_under(host.run_dir), key=lambda m: m[0].count("/"), reverse=True):
        run(["umount", "-l", point])
    run(["rm", "-rf", "--one-file-system", str(host.run_dir)])
    host.run_dir.mkdir()


def test_reboot_restores_networks_and_marks_containers_exited(host: Host) -> None:
    net_id = host.pynet("network", "create", "--subnet", "10.30.0.0/24", "mynet").stdout.strip()
    host.pynet(
        "network",
        "create",
        "-o",
        "com.docker.network.bridge.name=br-named",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "--subnet",
        "10.31.0.0/24",
        "named",
    )
    host.pynet("network", "create", "--internal", "--subnet", "10.32.0.0/24", "idle")
    c1 = host.pynet("run", "-d", "--name", "c1", "--network", "mynet", "sleep", "600").stdout.strip()
    c2 = host.pynet("run", "-d", "--name", "c2", "sleep", "600").stdout.strip()  # default bridge
    host.pynet("network", "connect", "named", "c1")
    host.pynet("run", "-d", "--name", "done", "--network", "mynet", "sh", "-c", "exit 4")
    wait_for(
        lambda: "Exited (4)" in host.pynet("ps", "-a", "--filter", "name=done", "--format", "{{.Status}}").stdout,
        timeout=10,
    )
    before = {n["Name"]: n for n in host.pynet_json("network", "inspect", "mynet", "named", "idle")}
    info = {c["Id"]: c for c in host.pynet_json("inspect", c1, c2)}
    keys = {c["State"]["Pid"]: c["NetworkSettings"]["SandboxKey"] for c in info.values()}
    assert all(pid > 0 for pid in keys)
    rules = firewall_view(host)
    internal = f'"br-{before["idle"]["Id"][:12]}"'
    assert internal in rules[("set", "internal")] and len(rules[("set", "bridges")]) == 4

    power_off(host, keys)
    assert [link["ifname"] for link in host.ip_json("link", "show")] == ["lo"]
    assert json.loads(host.sh("nft", "-j", "list", "ruleset").stdout)["nftables"][1:] == []
    assert list(host.run_dir.iterdir()) == []
    assert (host.state_dir / "networks").is_dir()

    # the first command after the "reboot"
    names = host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert names == ["bridge", "host", "idle", "mynet", "named", "none"]

    links = {link["ifname"]: link for link in host.ip_json("link", "show")}
    for bridge, cidr, mtu in (
        (f"br-{net_id[:12]}", ("10.30.0.1", 24), None),
        ("br-named", ("10.31.0.1", 24), 1400),
        (f"br-{before['idle']['Id'][:12]}", ("10.32.0.1", 24), None),
    ):
        assert bridge in links, f"{bridge} was not restored"
        assert "UP" in links[bridge]["flags"]
        if mtu:
            assert links[bridge]["mtu"] == mtu
        addrs = host.ip_json("-4", "addr", "show", "dev", bridge)[0]["addr_info"]
        assert [(a["local"], a["prefixlen"]) for a in addrs] == [cidr]
    assert not any(n.startswith("veth") for n in links), "endpoints of dead containers came back"
    # the flushed firewall is back: every network's sets and every chain's rules (the
    # default bridge's come with its first container, as its pynet0 does)
    assert firewall_view(host) == without_default_bridge(host, rules)

    # the containers that were running are exited now; the exited one keeps its code
    statuses = dict(
        line.split("|", 1)
        for line in host.pynet("ps", "-a", "--format", "{{.Names}}|{{.Status}}").stdout.splitlines()
        if line
    )
    assert statuses["c1"].startswith("Exited (") and statuses["c2"].startswith("Exited (")
    assert statuses["done"].startswith("Exited (4) ")
    assert host.pynet("ps", "-q").stdout == ""
    for c in host.pynet_json("inspect", c1, c2):
        assert (c["State"]["Status"], c["State"]["Running"], c["State"]["Pid"]) == ("exited", False, 0)
        assert c["State"]["ExitCode"] == 255  # dockerd after an unclean stop
    after = {n["Name"]: n for n in host.pynet_json("network", "inspect", "mynet", "named", "idle")}
    for name in after:
        assert after[name]["Id"] == before[name]["Id"]
        assert after[name]["IPAM"] == before[name]["IPAM"]
        assert after[name]["Containers"] == {}, f"{name} still lists dead containers"

    # and everything works again: new containers, the old ones can be removed
    host.pynet("run", "-d", "--name", "c3", "--network", "mynet", "sleep", "600")
    host.pynet("exec", "c3", "ping", "-c1", "-W2", "10.30.0.1")
    host.pynet("run", "-d", "--name", "c4", "sleep", "600")  # default bridge
    assert firewall_view(host) == rules
    host.pynet("run", "--rm", "--network", "named", "ping", "-c1", "-W2", "10.31.0.1")
    host.pynet("rm", "c1", "c2", "done")
    host.pynet("rm", "-f", "c3", "c4")
    host.pynet("network", "rm", "mynet", "named", "idle")
    left = [link["ifname"] for link in host.ip_json("link", "show") if link["ifname"].startswith(("br-", "veth"))]
    assert left == []


def test_restore_happens_once_per_boot(host: Host) -> None:
    """A reboot restores the bridge; a bridge deleted by hand later comes back with the
    next attach to its network."""
    net_id = host.pynet("network", "create", "--subnet", "10.40.0.0/24", "mynet").stdout.strip()
    bridge = f"br-{net_id[:12]}"
    power_off(host, {})
    host.pynet("network", "ls", "-q")
    assert bridge in {link["ifname"] for link in host.ip_json("link", "show")}
    host.sh("ip", "link", "del", bridge)
    host.pynet("run", "--rm", "--network", "mynet", "ping", "-c1", "-W2", "10.40.0.1")
    assert bridge in {link["ifname"] for link in host.ip_json("link", "show")}
    out = json.loads(host.sh("bridge", "-j", "link", "show").stdout or "[]")
    assert out == [], "the --rm container's port is gone"

"""Remote driver plugins: pynet drives a third-party plugin through Docker's protocol.

The plugin is ``tests/plugin_example/vethnet.py`` — a real HTTP server on a unix socket,
started by each test inside the throwaway host, that makes a bridge per network and a
veth pair per endpoint. pynet finds it in ``$PYNET_PLUGIN_DIR`` as Docker would in
``/run/docker/plugins``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from harness import REPO_ROOT, Host, wait_for

pytestmark = pytest.mark.integration

PLUGIN = REPO_ROOT / "tests" / "plugin_example" / "vethnet.py"
TIMEOUT = 1  # PYNET_PLUGIN_TIMEOUT in these tests (seconds)


class Plugin:
    """One running vethnet plugin and its state file."""

    def __init__(self, host: Host, name: str, *args: str, sock: Path | None = None) -> None:
        self.host, self.name = host, name
        self.sock = sock or Path(host.env["PYNET_PLUGIN_DIR"]) / f"{name}.sock"
        self.state_file = host.root / f"{name}-state.json"
        self.proc = host.spawn(sys.executable, PLUGIN, "--socket", self.sock, "--state", self.state_file, *args)
        wait_for(lambda: self.sock.exists() or self.proc.poll() is not None, timeout=10, desc="plugin socket")
        assert self.proc.poll() is None, Path(self.proc.log).read_text()

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def calls(self) -> list[str]:
        return [c.split(".", 1)[1] for c in self.state()["calls"]]


@pytest.fixture
def host(host: Host) -> Host:
    host.env.update(PYNET_PLUGIN_DIR=str(host.root / "plugins"), PYNET_PLUGIN_TIMEOUT=str(TIMEOUT))
    Path(host.env["PYNET_PLUGIN_DIR"]).mkdir()
    return host


@pytest.fixture
def plugin(host: Host) -> Callable[..., Plugin]:
    """``plugin(*args, name="vethnet")`` starts the example plugin (the host kills it at teardown)."""

    def start(*args: str, name: str = "vethnet", sock: Path | None = None) -> Plugin:
        return Plugin(host, name, *args, sock=sock)

    return start


def links(host: Host) -> set[str]:
    return {link["ifname"] for link in host.ip_json("link")}


def network_names(host: Host) -> set[str]:
    return set(host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split())


def error_of(host: Host, *args: str, env: dict[str, str] | None = None) -> str:
    cp = host.pynet(*args, check=False, env=env)
    assert cp.returncode != 0, cp
    assert "Traceback" not in cp.stderr
    return cp.stderr.strip()


def ping(host: Host, container: str, ip: str) -> bool:
    return host.in_sandbox(container, "ping", "-c1", "-W1", ip, check=False).returncode == 0


def assert_nothing_left(host: Host, p: Plugin, network: str) -> None:
    assert network not in network_names(host)
    assert links(host) == {"lo"}
    state = p.state()
    assert state["networks"] == {} and state["endpoints"] == {}


def test_full_lifecycle(host: Host, plugin) -> None:
    p = plugin()
    net_id = host.pynet(
        "network", "create", "-d", "vethnet", "--subnet", "10.55.0.0/24", "-o", "color=blue", "pnet"
    ).stdout.strip()
    inspect = host.pynet_json("network", "inspect", "pnet")[0]
    assert (inspect["Driver"], inspect["Scope"], inspect["Options"]) == ("vethnet", "local", {"color": "blue"})
    bridge = p.state()["networks"][net_id]["bridge"]
    addrs = host.ip_json("addr", "show", "dev", bridge)[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in addrs if a["family"] == "inet"] == [("10.55.0.1", 24)]

    host.pynet("run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "pnet", "sleep", "300")
    eth0 = json.loads(host.in_sandbox("c1", "ip", "-j", "-d", "addr", "show", "dev", "eth0").stdout)[0]
    assert eth0["linkinfo"]["info_kind"] == "veth"
    assert eth0["address"] == "02:42:0a:37:00:02"
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] == [("10.55.0.2", 24)]
    route = json.loads(host.in_sandbox("c1", "ip", "-j", "route", "show", "default").stdout)
    assert route[0]["gateway"] == "10.55.0.1"
    assert ping(host, "c1", "10.55.0.3") and ping(host, "c1", "10.55.0.1")
    c1 = host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["pnet"]
    assert (c1["IPAddress"], c1["Gateway"], c1["MacAddress"]) == ("10.55.0.2", "10.55.0.1", "02:42:0a:37:00:02")
    # The plugin saw what the engine gave it.
    sent = p.state()["endpoints"]
    assert {e["interface"]["Address"] for e in sent.values()} == {"10.55.0.2/24", "10.55.0.3/24"}

    host.pynet("network", "disconnect", "pnet", "c2")
    assert "eth0" not in {link["ifname"] for link in json.loads(host.in_sandbox("c2", "ip", "-j", "link").stdout)}
    assert list(p.state()["returned"].values()) == [True]  # back in the host, as Docker does
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "pnet")
    assert_nothing_left(host, p, "pnet")
    calls = p.calls()
    for verb in ("CreateNetwork", "CreateEndpoint", "Join", "Leave", "DeleteEndpoint", "DeleteNetwork"):
        assert verb in calls
    assert calls.index("CreateNetwork") < calls.index("CreateEndpoint") < calls.index("Join")
    assert calls[-1] == "DeleteNetwork"


def test_static_routes_and_the_plugins_mac(host: Host, plugin) -> None:
    plugin("--own-mac")
    host.pynet(
        "network", "create", "-d", "vethnet", "--subnet", "10.56.0.0/24", "-o", "vethnet.route=203.0.113.0/24", "pnet"
    )
    host.pynet("run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300")
    routes = json.loads(host.in_sandbox("c1", "ip", "-j", "route", "show", "203.0.113.0/24").stdout)
    assert routes[0]["gateway"] == "10.56.0.1" and routes[0]["dev"] == "eth0"
    mac = host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["pnet"]["MacAddress"]
    assert mac.startswith("02:aa:")
    eth0 = json.loads(host.in_sandbox("c1", "ip", "-j", "link", "show", "dev", "eth0").stdout)[0]
    assert eth0["address"] == mac


def test_plugin_found_through_a_spec_file(host: Host, plugin) -> None:
    p = plugin(name="elsewhere", sock=host.root / "sockets" / "elsewhere.sock")
    (Path(host.env["PYNET_PLUGIN_DIR"]) / "specnet.spec").write_text(f"unix://{p.sock}\n")
    host.pynet("network", "create", "-d", "specnet", "snet")
    assert host.pynet_json("network", "inspect", "snet")[0]["Driver"] == "specnet"
    host.pynet("network", "rm", "snet")
    assert p.calls()[-1] == "DeleteNetwork"


def test_missing_plugin(host: Host) -> None:
    msg = error_of(host, "network", "create", "-d", "nosuch", "x")
    assert msg == 'Error response from daemon: plugin "nosuch" not found'
    assert "x" not in network_names(host)


def test_plugin_error_text_reaches_the_user(host: Host, plugin) -> None:
    p = plugin("--fail", "NetworkDriver.CreateNetwork=vethnet: out of bridges")
    msg = error_of(host, "network", "create", "-d", "vethnet", "pnet")
    assert msg == "Error response from daemon: remote: vethnet: out of bridges"
    assert_nothing_left(host, p, "pnet")


def test_slow_plugin_times_out_and_leaves_nothing(host: Host, plugin) -> None:
    p = plugin("--hang", "NetworkDriver.CreateNetwork")
    start = time.monotonic()
    msg = error_of(host, "network", "create", "-d", "vethnet", "pnet")
    assert time.monotonic() - start < 15
    assert msg == (
        f'Error response from daemon: plugin "vethnet" did not answer '
        f"NetworkDriver.CreateNetwork within {TIMEOUT}s (PYNET_PLUGIN_TIMEOUT)"
    )
    assert_nothing_left(host, p, "pnet")
    assert p.calls()[-1] == "DeleteNetwork"  # the half-done create was undone


def test_garbage_answer_is_a_clear_error(host: Host, plugin) -> None:
    p = plugin("--garbage", "NetworkDriver.CreateNetwork")
    msg = error_of(host, "network", "create", "-d", "vethnet", "pnet")
    assert msg.startswith(
        'Error response from daemon: plugin "vethnet" sent an invalid answer to '
        "NetworkDriver.CreateNetwork: '<html>this is not JSON</html>'"
    ), msg
    assert_nothing_left(host, p, "pnet")


def test_plugin_that_died_is_unreachable(host: Host, plugin) -> None:
    p = plugin()
    host.pynet("network", "create", "-d", "vethnet", "pnet")
    bridge = next(iter(p.state()["networks"].values()))["bridge"]
    p.proc.kill()
    p.proc.wait(timeout=5)
    start = time.monotonic()
    msg = error_of(host, "run", "--rm", "--network", "pnet", "true")
    assert time.monotonic() - start < 15
    assert 'plugin "vethnet" is not reachable' in msg or 'plugin "vethnet" not found' in msg, msg
    assert links(host) == {"lo", bridge}  # no half-made endpoint


def test_join_failure_rolls_back(host: Host, plugin) -> None:
    p = plugin("--fail", "NetworkDriver.Join=no room in the sandbox")
    host.pynet("network", "create", "-d", "vethnet", "--subnet", "10.57.0.0/24", "pnet")
    bridge = next(iter(p.state()["networks"].values()))["bridge"]
    msg = error_of(host, "run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300")
    assert "remote: no room in the sandbox" in msg
    assert p.state()["endpoints"] == {}
    assert links(host) == {"lo", bridge}


def test_bad_join_answer_rolls_back(host: Host, plugin) -> None:
    p = plugin("--garbage", "NetworkDriver.Join")
    host.pynet("network", "create", "-d", "vethnet", "pnet")
    bridge = next(iter(p.state()["networks"].values()))["bridge"]
    msg = error_of(host, "run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300")
    assert "sent an invalid answer to NetworkDriver.Join" in msg
    assert p.state()["endpoints"] == {}
    assert links(host) == {"lo", bridge}


@pytest.mark.parametrize("how", ["PYNET_FAULT", "PYNET_FAULT_KILL"])
def test_failure_or_kill_after_join_is_rolled_back(host: Host, plugin, how: str) -> None:
    p = plugin()
    host.pynet("network", "create", "-d", "vethnet", "pnet")
    bridge = next(iter(p.state()["networks"].values()))["bridge"]
    cp = host.pynet(
        "run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300", env={how: "netns_config"}, check=False
    )
    assert cp.returncode != 0 and "Traceback" not in cp.stderr
    if how == "PYNET_FAULT_KILL":
        # Killed mid-command: the next mutating command finds the journal and undoes it,
        # calling the plugin back (Leave, DeleteEndpoint) through the logged records.
        assert "Join" in p.calls() and p.state()["endpoints"]
        host.pynet("network", "create", "-d", "vethnet", "other")
    calls = p.calls()
    assert calls.index("Join") < calls.index("Leave") < calls.index("DeleteEndpoint")
    assert p.state()["endpoints"] == {}
    assert links(host) - {"lo"} <= {bridge} | {n["bridge"] for n in p.state()["networks"].values()}
    assert not any(name.startswith(("vh", "vc")) for name in links(host))


def test_ipam_plugin_hands_out_the_addresses(host: Host, plugin) -> None:
    p = plugin()
    host.pynet("network", "create", "--ipam-driver", "vethnet", "inet")
    inspect = host.pynet_json("network", "inspect", "inet")[0]
    assert inspect["IPAM"]["Driver"] == "vethnet"
    assert inspect["IPAM"]["Config"][0]["Subnet"] == "10.123.0.0/24"
    host.pynet("run", "-d", "--name", "c1", "--network", "inet", "sleep", "300")
    ip = host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["inet"]["IPAddress"]
    (pool,) = p.state()["pools"].values()
    assert ip in pool["taken"] and pool["pool"] == "10.123.0.0/24"
    host.pynet("rm", "-f", "c1")
    host.pynet("network", "rm", "inet")
    assert p.state()["pools"] == {}


def test_ipam_plugin_with_user_config_and_a_static_ip(host: Host, plugin) -> None:
    p = plugin()
    host.pynet(
        "network",
        "create",
        "-d",
        "vethnet",
        "--ipam-driver",
        "vethnet",
        "--subnet",
        "10.88.0.0/24",
        "--gateway",
        "10.88.0.254",
        "--ip-range",
        "10.88.0.128/25",
        "inet",
    )
    config = host.pynet_json("network", "inspect", "inet")[0]["IPAM"]["Config"]
    assert config == [{"Subnet": "10.88.0.0/24", "IPRange": "10.88.0.128/25", "Gateway": "10.88.0.254"}]
    host.pynet("run", "-d", "--name", "c1", "--network", "inet", "--ip", "10.88.0.200", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "inet", "sleep", "300")
    (pool,) = p.state()["pools"].values()
    assert sorted(pool["taken"]) == ["10.88.0.129", "10.88.0.200", "10.88.0.254"]
    assert ping(host, "c2", "10.88.0.200")
    host.pynet("rm", "-f", "c1", "c2")
    assert p.state()["pools"][next(iter(p.state()["pools"]))]["taken"] == ["10.88.0.254"]
    host.pynet("network", "rm", "inet")
    assert p.state()["pools"] == {} and links(host) == {"lo"}


def test_a_failed_create_gives_the_pool_back(host: Host, plugin) -> None:
    p = plugin("--fail", "NetworkDriver.CreateNetwork=no bridge today")
    msg = error_of(
        host,
        "network",
        "create",
        "-d",
        "vethnet",
        "--ipam-driver",
        "vethnet",
        "--subnet",
        "10.89.0.0/24",
        "--aux-address",
        "r=10.89.0.9",
        "other",
    )
    assert msg == "Error response from daemon: remote: no bridge today"
    calls = p.calls()
    after = [c for c in calls[calls.index("CreateNetwork") :] if c.startswith("Release")]
    assert after == ["ReleaseAddress", "ReleaseAddress", "ReleasePool"]  # aux, gateway, pool
    assert p.state()["pools"] == {}
    assert "other" not in network_names(host)


def pynet_bridges(host: Host) -> set[str]:
    """The links pynet's firewall treats as its bridges (``inet pynet`` set ``bridges``)."""
    out = json.loads(host.sh("nft", "-j", "list", "set", "inet", "pynet", "bridges").stdout)
    (body,) = [item["set"] for item in out["nftables"] if "set" in item]
    return set(body.get("elem", []))


def test_plugin_network_beside_the_firewall(host: Host, plugin) -> None:
    """With pynet's nftables policy in force, the plugin's network still carries traffic,
    also for a container that is on a pynet bridge as well; the policy leaves it alone."""
    p = plugin()
    br_id = host.pynet("network", "create", "--subnet", "10.57.0.0/24", "brnet").stdout.strip()
    net_id = host.pynet("network", "create", "-d", "vethnet", "--subnet", "10.55.0.0/24", "pnet").stdout.strip()
    host.pynet("run", "-d", "--name", "b1", "--network", "brnet", "sleep", "300")
    host.pynet("run", "-d", "--name", "c1", "--network", "pnet", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "pnet", "sleep", "300")
    host.pynet("network", "connect", "pnet", "b1")
    plugin_bridge = p.state()["networks"][net_id]["bridge"]
    assert pynet_bridges(host) == {f"br-{br_id[:12]}"}  # the firewall is on, for pynet's bridge only
    assert plugin_bridge not in host.sh("nft", "list", "ruleset").stdout
    assert ping(host, "c1", "10.55.0.3")  # across the plugin's bridge
    assert ping(host, "b1", "10.55.0.2") and ping(host, "c1", "10.55.0.4")  # b1 on both networks
    assert ping(host, "b1", "10.57.0.1")
    host.pynet("rm", "-f", "b1", "c1", "c2")
    host.pynet("network", "rm", "pnet", "brnet")
    assert_nothing_left(host, p, "pnet")
    assert "pynet" not in host.sh("nft", "list", "tables").stdout  # the last bridge took the policy along

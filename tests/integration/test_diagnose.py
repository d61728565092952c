"""``pynet network diagnose`` against reality: one topology, every cause, real probes.

One throwaway host (built once for the module) with a LAN peer behind its uplink, Docker's
``iptables -P FORWARD DROP`` plus a user's drop rule in the host's own namespace, and
networks/containers that give each cause of the documented set. For every SRC/DST pair the
test asserts the cause AND that pynet's verdict equals what the test's OWN probe (ping,
socat, dig from SRC's namespace) observes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import pytest

import harness

pytestmark = pytest.mark.integration

PEER_OK, PEER_DROPPED, PEER_UNREADABLE = "198.51.100.2", "198.51.100.3", "198.51.100.4"


@dataclass
class Topo:
    host: harness.Host
    ips: dict[str, str]  # container -> its first address


def _build(host: harness.Host) -> Topo:
    peer = host.lan_peer(uplink=True)
    for extra in (PEER_DROPPED, PEER_UNREADABLE):
        peer.sh("ip", "addr", "add", f"{extra}/24", "dev", "eth0")
    # as dockerd does: the forward policy drops (pynet adds accept rules for its bridges)...
    host.sh("iptables", "-P", "FORWARD", "DROP")
    p = host.pynet
    p("network", "create", "--subnet", "10.31.1.0/24", "front")
    p("network", "create", "--subnet", "10.31.2.0/24", "back")
    p("network", "create", "--subnet", "10.31.3.0/24", "-o", "com.docker.network.bridge.enable_icc=false", "quiet")
    p("network", "create", "--subnet", "10.31.4.0/24", "--internal", "sealed")
    listen = ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hi"]
    for name, net, extra, cmd in [
        ("app", "front", [], ["sleep", "600"]),
        ("echo", "front", [], ["socat", "UDP-LISTEN:5353,fork,reuseaddr", "SYSTEM:echo hi"]),
        ("web", "front", ["-p", "8088:8080"], listen),
        ("lo", "front", ["-p", "127.0.0.1:8089:8080"], listen),
        ("down", "front", [], ["sleep", "600"]),
        ("lossy", "front", [], ["sleep", "600"]),
        ("slow", "front", [], ["sleep", "600"]),
        ("db", "back", [], ["sleep", "600"]),
        ("q1", "quiet", [], ["sleep", "600"]),
        ("q2", "quiet", [], ["sleep", "600"]),
        ("s1", "sealed", [], ["sleep", "600"]),
    ]:
        p("run", "-d", "--name", name, "--network", net, *extra, *cmd)
    p("run", "--name", "gone", "--network", "front", "true")
    p("run", "-d", "--name", "hostnet", "--network", "host", "sleep", "600")
    host.in_sandbox("down", "ip", "link", "set", "eth0", "down")
    p("link", "set", "lossy", "--loss", "100%")
    p("link", "set", "slow", "--rate", "100mbit")  # shaped, but every packet passes
    # ...and a user's own rules, inserted above pynet's accept rules (pynet never moves them)
    host.sh("iptables", "-I", "FORWARD", "-d", PEER_DROPPED, "-j", "DROP")
    statistic = ["-m", "statistic", "--mode", "random", "--probability", "1"]
    host.sh("iptables", "-I", "FORWARD", "-d", PEER_UNREADABLE, *statistic, "-j", "DROP")
    # host processes serving 7070 and 7071; the host's own INPUT drops 7070 from containers
    for port in (7070, 7071):
        host.spawn("socat", f"TCP-LISTEN:{port},fork,reuseaddr", "SYSTEM:echo hi")
    host.sh("iptables", "-I", "INPUT", "-p", "tcp", "--dport", "7070", "-j", "DROP")
    harness.wait_for(lambda: "7071" in host.sh("ss", "-ltnH").stdout, timeout=10, desc="host listeners")
    for name, ss, port in (("web", "-ltnH", "8080"), ("lo", "-ltnH", "8080"), ("echo", "-lunH", "5353")):
        harness.wait_for(
            lambda n=name, f=ss, p=port: p in host.in_sandbox(n, "ss", f).stdout, timeout=10, desc=f"{name} listening"
        )
    ips = {
        name: host.pynet(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name
        ).stdout.strip()
        for name in ("app", "web", "db")
    }
    return Topo(host, ips)


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    reason = harness.integration_skip_reason()
    if reason:
        pytest.skip(reason)
    lab = harness.Lab(tmp_path_factory.mktemp("diagnose"))
    try:
        yield _build(lab.new_host("host"))
    finally:
        lab.cleanup()


def diagnose(topo: Topo, src: str, dst: str, *args: str) -> tuple[int, dict]:
    cp = topo.host.pynet("network", "diagnose", "--format", "json", *args, src, dst, check=False, timeout=60)
    assert cp.returncode in (0, 1, 2), harness.describe(cp)
    assert not cp.stderr, harness.describe(cp)
    return cp.returncode, json.loads(cp.stdout)


def gateway(topo: Topo, src: str) -> str:
    return topo.host.pynet(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}", src
    ).stdout.strip()


def real_probe(topo: Topo, src: str, dst: str, port: int | str) -> bool:
    """What SRC really gets, measured with ordinary tools from its namespace (not pynet)."""
    h = topo.host
    if dst == "host":
        dst = gateway(topo, src)
    if not dst[0].isdigit():  # a name: SRC's resolver decides first
        answer = h.in_sandbox(src, "dig", "+short", "+time=1", "+tries=1", "@127.0.0.11", dst, check=False)
        addresses = [line for line in answer.stdout.split() if line[0].isdigit()]
        if not addresses:
            return False
        dst = addresses[0]
    if isinstance(port, str):  # "N/udp": only an ICMP port-unreachable refuses a datagram
        cp = h.in_sandbox(src, "socat", "-T1", "-", f"UDP:{dst}:{port.split('/')[0]}", check=False, input="x\n")
        return cp.returncode == 0
    if port:
        cp = h.in_sandbox(src, "socat", "-T2", "-", f"TCP:{dst}:{port},connect-timeout=2", check=False, input="")
        return cp.returncode == 0
    return h.in_sandbox(src, "ping", "-c", "2", "-W", "1", dst, check=False).returncode == 0


# (SRC, DST, port, cause, reachable) — every cause of the documented set that needs no
# other helper's feature, each "blocked" next to a positive control on the same path
MATRIX = [
    ("app", "web", 0, "ok", True),
    ("app", "web", 8080, "ok", True),
    ("app", "web", 9999, "no-listener", False),
    ("app", "echo", "5353/udp", "ok", True),
    ("app", "web", "5353/udp", "no-listener", False),
    ("app", "@web", 0, "ok", True),  # by address
    ("app", "db", 0, "no-shared-network", False),
    ("app", "@db", 0, "no-shared-network", False),
    ("app", "10.31.1.200", 0, "no-such-address", False),  # in front's subnet, nobody's
    ("app", "nosuch", 0, "name-not-resolved", False),
    ("q1", "q2", 0, "icc-disabled", False),
    ("s1", PEER_OK, 0, "internal-network", False),
    ("s1", "host", 0, "ok", True),  # an internal network's gateway stays reachable
    ("app", PEER_OK, 0, "ok", True),  # FORWARD policy drop, yet pynet's accept rules let it out
    ("app", PEER_DROPPED, 0, "foreign-firewall-drop", False),
    ("app", "down", 0, "link-down", False),
    ("app", "lossy", 0, "link-loss", False),
    ("lossy", "app", 0, "link-loss", False),  # SRC's loss drops the replies
    ("app", "slow", 0, "ok", True),
    ("app", "host", 0, "ok", True),
    ("app", "host", 8088, "ok", True),  # published by web
    ("app", "host", 8089, "port-not-published", False),  # published on 127.0.0.1 only
    ("app", "host", 7777, "port-not-published", False),
    ("app", "host", 7071, "ok", True),  # a host process, not published
    ("app", "host", 7070, "foreign-firewall-drop", False),  # ...dropped by the host's INPUT
]


@pytest.mark.parametrize(("src", "dst", "port", "cause", "reachable"), MATRIX)
def test_matrix(topo: Topo, src: str, dst: str, port: int | str, cause: str, reachable: bool) -> None:
    if dst.startswith("@"):
        dst = topo.ips[dst[1:]]
    code, out = diagnose(topo, src, dst, *(["--port", str(port)] if port else []))
    assert (out["cause"], out["reachable"]) == (cause, reachable), json.dumps(out, indent=2)
    assert code == (0 if reachable else 1)
    assert out["probe"]["ok"] is reachable
    assert real_probe(topo, src, dst, port) is reachable, f"the real probe disagrees: {json.dumps(out, indent=2)}"
    assert [s for s in out["steps"] if not s["ok"]] == ([] if reachable else [out["steps"][-1]])


def test_src_not_running(topo: Topo) -> None:
    code, out = diagnose(topo, "gone", "app")
    assert (code, out["cause"], out["reachable"]) == (1, "not-running", False)
    assert out["probe"]["kind"] == "none"
    assert out["steps"] == [{"check": "SRC running", "ok": False, "detail": "gone is exited"}]


def test_src_on_the_host_network(topo: Topo) -> None:
    """A --network host container sends from the host's own namespace."""
    code, out = diagnose(topo, "hostnet", PEER_OK)
    assert (code, out["cause"], out["probe"]["ok"]) == (0, "ok", True), json.dumps(out, indent=2)
    assert topo.host.sh("ping", "-c1", "-W1", PEER_OK, check=False).returncode == 0


def test_unreadable_rule_is_cannot_tell(topo: Topo) -> None:
    """A drop rule pynet cannot evaluate (-m statistic) on the path: exit 2, never a guess."""
    code, out = diagnose(topo, "app", PEER_UNREADABLE)
    assert (code, out["reachable"], out["cause"]) == (2, None, "unknown")
    assert not real_probe(topo, "app", PEER_UNREADABLE, 0)
    assert any("cannot evaluate" in s["detail"] for s in out["steps"])


def test_text_output(topo: Topo) -> None:
    cp = topo.host.pynet("network", "diagnose", "app", "db", check=False)
    assert cp.returncode == 1 and not cp.stderr
    lines = cp.stdout.splitlines()
    assert lines[0] == "app -> db"
    assert lines[1].startswith("  ✔ SRC running ")
    assert any(line.startswith("  ✘ shared network ") and "app is on front, db on back" in line for line in lines)
    assert lines[-2] == "NOT reachable: no-shared-network (SRC and DST share no network, and pynet isolates networks)"
    assert lines[-1] == "fix: pynet network connect back app"
    ok = topo.host.pynet("network", "diagnose", "--port", "8080", "app", "web")
    assert ok.stdout.splitlines()[0] == "app -> web (8080/tcp)"
    assert ok.stdout.splitlines()[-1] == "reachable: ok (the packet gets through)"
    assert "  ✔ probe " in ok.stdout


def test_the_fix_works(topo: Topo) -> None:
    """The printed fix, run as given, makes the pair reachable (then it is undone)."""
    _, before = diagnose(topo, "app", "db")
    topo.host.pynet(*before["fix"].split()[1:])
    try:
        code, after = diagnose(topo, "app", "db")
        assert (code, after["cause"]) == (0, "ok")
    finally:
        topo.host.pynet("network", "disconnect", "back", "app")


def test_bad_input(topo: Topo) -> None:
    h = topo.host
    cp = h.pynet("network", "diagnose", "nobody", "app", check=False)
    assert (cp.returncode, cp.stderr, cp.stdout) == (1, "Error response from daemon: No such container: nobody\n", "")
    cp = h.pynet("network", "diagnose", "app", "fd00::1", check=False)
    assert (cp.returncode, cp.stdout) == (1, "")
    assert cp.stderr == "fd00::1: network diagnose checks IPv4 paths only\n"
    cp = h.pynet("network", "diagnose", "--port", "http", "app", "web", check=False)
    assert (
        cp.returncode == 125
        and cp.stderr.count("\n") == 1
        and cp.stderr.startswith('invalid argument "http" for "-p, --port" flag')
    )


@pytest.mark.skipif(not shutil.which("etcd"), reason="needs etcd")
def test_overlay_peer_on_another_host(hosts, underlay) -> None:  # type: ignore[no-untyped-def]
    """DST on another host of an overlay network: found through SRC's DNS, the VXLAN port
    checked, the verdict equal to a real ping; a refused port is no-listener (measured)."""
    h1, h2 = hosts(2)
    ul = underlay([h1, h2])
    store = ul.start_etcd().replace("http://", "etcd://")
    try:
        for h in (h1, h2):
            h.pynet("cluster", "join", "--store", store, "--advertise-addr", ul.ip_of(h))
        h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", "10.32.0.0/24", "ov")
        h1.pynet("run", "-d", "--name", "alpha", "--network", "ov", "sleep", "300")
        h2.pynet("run", "-d", "--name", "beta", "--network", "ov", "sleep", "300")
        topo = Topo(h2, {})
        code, out = diagnose(topo, "beta", "alpha")
        assert (code, out["cause"]) == (0, "ok"), json.dumps(out, indent=2)
        assert real_probe(topo, "beta", "alpha", 0)
        steps = {s["check"]: s["detail"] for s in out["steps"]}
        assert "not on this host" in steps["DST"]
        assert any(s["check"] == "link" and s["detail"].startswith("vx-") for s in out["steps"])
        code, out = diagnose(topo, "beta", "alpha", "--port", "80")
        assert (code, out["cause"], out["probe"]["detail"]) == (1, "no-listener", "connection refused")
        assert not real_probe(topo, "beta", "alpha", 80)
    finally:
        from pynet.daemon import client

        for h in (h1, h2):
            client.stop(run_dir=h.run_dir)

"""The embedded DNS daemon, for real: sockets inside throwaway namespaces, queried with dig.

Topology (all namespaces created here and deleted afterwards):

    host  - the daemon runs here (started by ``client.notify`` run under nsenter)
    up    - "the outside": a bridge 10.99.0.1/24 and a tiny DNS server on it
    sandboxes (one netns per container), some linked to ``up``'s bridge by a veth

Containers exist only as state records in a temp PYNET_STATE_DIR pointing at those
namespaces; nothing touches the machine's own network namespace, and the only
"upstream" resolver is the one this file starts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pynet.records.model import Container, Endpoint, Network, to_dict
from pynet.daemon import client
from pynet.state.store import SCHEMA_VERSION, atomic_write

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not shutil.which("dig") or not shutil.which("nsenter"), reason="needs dig and nsenter"),
]

ROOT = Path(__file__).resolve().parents[2]
NOW = "2024-01-01T00:00:00.000000000Z"
UPSTREAM_IP = "10.99.0.1"
EXT_NAME, EXT_IP = "ext.test", "198.51.100.7"
SHORT_NAME, RENEWED_NAME = "short.test", "renewed.test"

# A tiny upstream DNS server (UDP+TCP): EXT_NAME has an address (TTL 30), SHORT_NAME and
# RENEWED_NAME too (TTL 1 and 2), everything else is NXDOMAIN. It logs every question so a test can tell whether a
# query reached it.
UPSTREAM_SERVER = r"""
import selectors, socket, struct, sys
from pynet.dns import wire
ip, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)
def answer(data):
    q = wire.parse_query(data)
    log.write(q.qname + "\n")
    if q.qname == "%(name)s" and q.qtype == wire.TYPE_A:
        return wire.build_response(q, wire.NOERROR, [wire.rr_a("%(ip)s", 30)])
    if q.qname == "%(short)s" and q.qtype == wire.TYPE_A:
        return wire.build_response(q, wire.NOERROR, [wire.rr_a("%(ip)s", 1)])
    if q.qname == "%(renewed)s" and q.qtype == wire.TYPE_A:
        return wire.build_response(q, wire.NOERROR, [wire.rr_a("%(ip)s", 2)])
    return wire.build_response(q, wire.NXDOMAIN)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind((ip, 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); tcp.bind((ip, 53)); tcp.listen(8)
sel = selectors.DefaultSelector()
sel.register(udp, selectors.EVENT_READ, "udp"); sel.register(tcp, selectors.EVENT_READ, "tcp")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "udp":
            data, addr = udp.recvfrom(4096)
            udp.sendto(answer(data), addr)
        else:
            conn, _ = tcp.accept(); conn.settimeout(2)
            try:
                size = struct.unpack(">H", conn.recv(2))[0]
                data = b""
                while len(data) < size:
                    data += conn.recv(size - len(data))
                out = answer(data)
                conn.sendall(struct.pack(">H", len(out)) + out)
            except OSError:
                pass
            conn.close()
""" % {"name": EXT_NAME, "ip": EXT_IP, "short": SHORT_NAME, "renewed": RENEWED_NAME}


def sh(*cmd: str, timeout: float = 10, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


class Env:
    """Namespaces, state records, the upstream server and the daemon of one test."""

    def __init__(self, tmp: Path) -> None:
        self.tag = f"pdns{os.getpid() % 100000}x{int(time.monotonic() * 1000) % 100000}"
        self.tmp = tmp
        self.state = tmp / "state"
        self.run_dir = tmp / "run"
        self.resolv = tmp / "resolv.conf"
        self.resolv.write_text(f"nameserver 127.0.0.53\nnameserver {UPSTREAM_IP}\n")
        self.upstream_log = tmp / "upstream.log"
        self.netns: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.env = dict(
            os.environ,
            PYNET_STATE_DIR=str(self.state),
            PYNET_RUN_DIR=str(self.run_dir),
            PYNET_RESOLV_CONF=str(self.resolv),
            PYNET_DNS_TIMEOUT="1",
            PYNET_DAEMON_IDLE_EXIT="120",
            PYTHONPATH=str(ROOT),
        )
        self._veths = 0
        self.host = self.add_netns("h")
        self.up = self.add_netns("u")
        self.ns_exec(self.up, "ip", "link", "add", "br0", "type", "bridge")
        self.ns_exec(self.up, "ip", "addr", "add", f"{UPSTREAM_IP}/24", "dev", "br0")
        self.ns_exec(self.up, "ip", "link", "set", "br0", "up")

    # -- namespaces ------------------------------------------------------------------
    def add_netns(self, suffix: str) -> str:
        name = f"{self.tag}{suffix}"
        sh("ip", "netns", "add", name)
        self.netns.append(name)
        self.ns_exec(name, "ip", "link", "set", "lo", "up")
        return name

    @staticmethod
    def path(ns: str) -> str:
        return f"/run/netns/{ns}"

    def ns_exec(
        self, ns: str, *cmd: str, timeout: float = 10, check: bool = True, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["nsenter", f"--net={self.path(ns)}", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            env=env,
        )

    def link_to_upstream(self, ns: str) -> None:
        """A veth from a sandbox to the upstream bridge (10.99.0.x/24)."""
        self._veths += 1
        a, b = f"{self.tag}a{self._veths}"[-15:], f"{self.tag}b{self._veths}"[-15:]
        self.ns_exec(self.up, "ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", self.path(ns))
        self.ns_exec(self.up, "ip", "link", "set", a, "master", "br0", "up")
        self.ns_exec(ns, "ip", "addr", "add", f"10.99.0.{10 + self._veths}/24", "dev", b)
        self.ns_exec(ns, "ip", "link", "set", b, "up")

    def start_upstream(self) -> subprocess.Popen:
        script = self.tmp / "upstream.py"
        script.write_text(UPSTREAM_SERVER)
        proc = subprocess.Popen(
            [
                "nsenter",
                f"--net={self.path(self.up)}",
                sys.executable,
                str(script),
                UPSTREAM_IP,
                str(self.upstream_log),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    # -- state -----------------------------------------------------------------------
    def put(self, kind: str, record: dict) -> None:
        atomic_write(
            self.state / kind / f"{record['id']}.json", {"schema_version": SCHEMA_VERSION, **record}, sync=False
        )

    def network(self, name: str, *, internal: bool = False, builtin: bool = False) -> str:
        nid = (name.encode().hex() + "0" * 64)[:64]
        self.put("networks", to_dict(Network(nid, name, "bridge", NOW, internal=internal, builtin=builtin)))
        return nid

    def container(
        self,
        name: str,
        networks: dict[str, dict],
        *,
        netns: str | None = None,
        status: str = "running",
        dns: list[str] | None = None,
    ) -> tuple[str, str]:
        """State records for a container; returns (id, its netns name)."""
        cid = (name.encode().hex() + "c" * 64)[:64]
        ns = netns or self.add_netns(name)
        endpoints = {}
        for nid, ep in networks.items():
            eid = cid[:32] + nid[:32]
            self.put(
                "endpoints",
                to_dict(
                    Endpoint(
                        eid,
                        nid,
                        cid,
                        name,
                        ipv4=ep.get("ipv4", ""),
                        ipv6=ep.get("ipv6", ""),
                        aliases=ep.get("aliases", []),
                    )
                ),
            )
            endpoints[nid] = eid
        self.put(
            "containers",
            to_dict(
                Container(
                    cid,
                    name,
                    NOW,
                    "sh",
                    hostname=cid[:12],
                    netns_path=self.path(ns),
                    endpoints=endpoints,
                    status=status,
                    dns=dns or [],
                )
            ),
        )
        return cid, ns

    def remove_container(self, cid: str) -> None:
        os.unlink(self.state / "containers" / f"{cid}.json")

    # -- daemon and queries ----------------------------------------------------------
    def notify(self, ids: list[str]) -> bool:
        """client.notify run from the test host namespace (so the daemon starts there)."""
        code = (
            "import json, sys\nfrom pynet.daemon import client\n"
            "sys.exit(0 if client.notify(json.loads(sys.argv[1])) else 1)"
        )
        done = self.ns_exec(
            self.host, sys.executable, "-c", code, json.dumps(ids), timeout=15, check=False, env=self.env
        )
        return done.returncode == 0

    def status(self) -> dict:
        reply = client.status(run_dir=self.run_dir)
        assert reply and reply["ok"], reply
        return reply["sandboxes"]

    def dig(self, ns: str, name: str, *opts: str) -> tuple[str, list[str], str]:
        """(status, answer data, flags) of ``dig @127.0.0.11`` run inside ``ns``."""
        out = self.ns_exec(
            ns,
            "dig",
            "@127.0.0.11",
            "+time=3",
            "+tries=1",
            "+noall",
            "+comments",
            "+answer",
            *opts,
            name,
            timeout=20,
            check=False,
        ).stdout
        status, flags, answers = "NO-ANSWER", "", []
        for line in out.splitlines():
            if "->>HEADER<<-" in line:
                status = line.split("status:")[1].split(",")[0].strip()
            elif line.startswith(";; flags:"):
                flags = line.split(";")[2].split(":", 1)[1].strip()
            elif line and not line.startswith(";"):
                answers.append(line.split()[-1])
        return status, answers, flags

    def close(self) -> None:
        client.stop(run_dir=self.run_dir)
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
        for ns in reversed(self.netns):
            sh("ip", "netns", "del", ns, check=False)


@pytest.fixture
def env(tmp_path: Path):
    e = Env(tmp_path)
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def basic(env: Env):
    """net1: c1 (linked to the upstream), c2 (alias web); net2: c3; c1 also has alias web."""
    n1, n2 = env.network("net1"), env.network("net2")
    c1, a = env.container("c1", {n1: {"ipv4": "172.18.0.2/16", "aliases": ["web"]}})
    c2, b = env.container("c2", {n1: {"ipv4": "172.18.0.3/16", "ipv6": "fd00::3/64", "aliases": ["web"]}})
    c3, c = env.container("c3", {n2: {"ipv4": "172.28.0.2/16"}})
    env.link_to_upstream(a)
    assert env.notify([c1, c2, c3])
    return {"n1": n1, "n2": n2, "c1": c1, "c2": c2, "c3": c3, "a": a, "b": b, "c": c}


def test_names_on_a_shared_network_resolve_and_others_are_nxdomain(env, basic):
    a = basic["a"]
    assert env.dig(a, "c2")[:2] == ("NOERROR", ["172.18.0.3"])
    assert env.dig(a, "C2.")[:2] == ("NOERROR", ["172.18.0.3"])
    assert env.dig(a, "c2.net1")[:2] == ("NOERROR", ["172.18.0.3"])
    assert env.dig(a, basic["c2"][:12])[:2] == ("NOERROR", ["172.18.0.3"])
    assert env.dig(a, "c3")[:2] == ("NXDOMAIN", [])
    assert env.dig(basic["c"], "c1")[:2] == ("NXDOMAIN", [])
    assert env.dig(a, "c1", "AAAA")[:2] == ("NOERROR", [])
    assert env.dig(a, "c2", "AAAA")[:2] == ("NOERROR", ["fd00::3"])
    assert env.dig(a, "172.18.0.3", "-x")[:2] == ("NOERROR", ["c2.net1."])


def test_alias_held_by_two_containers_returns_both_rotated(env, basic):
    firsts = set()
    for _ in range(4):
        status, answers, _ = env.dig(basic["b"], "web")
        assert status == "NOERROR" and sorted(answers) == ["172.18.0.2", "172.18.0.3"]
        firsts.add(answers[0])
    assert firsts == {"172.18.0.2", "172.18.0.3"}


def test_tcp_queries_are_answered(env, basic):
    env.start_upstream()
    assert env.dig(basic["a"], "c2", "+tcp")[:2] == ("NOERROR", ["172.18.0.3"])
    assert env.dig(basic["a"], EXT_NAME, "+tcp")[:2] == ("NOERROR", [EXT_IP])


def test_changes_are_visible_right_after_sync(env, basic):
    a, n1 = basic["a"], basic["n1"]
    env.start_upstream()
    assert env.dig(a, "c4")[:2] == ("NXDOMAIN", [])
    c4, _ = env.container("c4", {n1: {"ipv4": "172.18.0.4/16", "aliases": ["late"]}})
    assert env.notify([c4])
    assert env.dig(a, "c4")[:2] == ("NOERROR", ["172.18.0.4"])
    assert env.dig(a, "late")[:2] == ("NOERROR", ["172.18.0.4"])
    assert c4 in env.status()
    env.remove_container(c4)
    assert env.notify([c4])
    assert env.dig(a, "c4")[:2] == ("NXDOMAIN", [])  # held by no one now: the upstream says so
    assert c4 not in env.status()


def test_unknown_names_go_upstream_and_fail_fast_when_it_is_down(env, basic):
    a = basic["a"]
    upstream = env.start_upstream()
    assert env.dig(a, EXT_NAME)[:2] == ("NOERROR", [EXT_IP])
    assert env.dig(a, "nothing.test")[:2] == ("NXDOMAIN", [])
    assert "c3" not in env.upstream_log.read_text()  # container names never leave

    upstream.send_signal(signal.SIGSTOP)  # up but silent: the per-server timeout (1 s here)
    try:
        started = time.monotonic()
        assert env.dig(a, "silent.test")[:2] == ("SERVFAIL", [])
        assert time.monotonic() - started < 2.5
        assert env.dig(a, "c2")[:2] == ("NOERROR", ["172.18.0.3"])
    finally:
        upstream.send_signal(signal.SIGCONT)
    upstream.kill()
    upstream.wait(timeout=5)
    started = time.monotonic()  # gone: ICMP port unreachable fails it at once
    assert env.dig(a, "other.test")[:2] == ("SERVFAIL", [])
    assert time.monotonic() - started < 1.0
    assert env.dig(a, "c2")[:2] == ("NOERROR", ["172.18.0.3"])


def upstream_asked(env: Env, name: str) -> int:
    """How many queries for ``name`` reached the upstream."""
    return env.upstream_log.read_text().split().count(name)


def answer_ttl(env: Env, ns: str, name: str) -> int:
    """The TTL of the first answer record of ``dig @127.0.0.11 name`` inside ``ns``."""
    out = env.ns_exec(
        ns, "dig", "@127.0.0.11", "+time=3", "+tries=1", "+nocookie", "+noall", "+answer", name, timeout=20
    )
    return int(out.stdout.split()[1])


def test_forwarded_answers_are_kept_for_their_ttl_counting_down(env, basic):
    a = basic["a"]
    upstream = env.start_upstream()
    assert env.dig(a, EXT_NAME)[:2] == ("NOERROR", [EXT_IP])  # dig's EDNS cookie differs every time:
    assert env.dig(a, EXT_NAME)[:2] == ("NOERROR", [EXT_IP])  # such queries are not kept
    assert upstream_asked(env, EXT_NAME) == 2
    plain = "+nocookie"  # as a libc stub resolver asks
    assert env.dig(a, EXT_NAME, plain)[:2] == ("NOERROR", [EXT_IP])
    assert env.dig(a, EXT_NAME, plain)[:2] == ("NOERROR", [EXT_IP])
    assert upstream_asked(env, EXT_NAME) == 3  # the repeat was answered by pynetd
    time.sleep(1.1)
    assert 0 < answer_ttl(env, a, EXT_NAME) <= 29  # counted down, never the upstream's 30 again
    assert env.dig(a, EXT_NAME, "+tcp")[:2] == ("NOERROR", [EXT_IP])
    assert upstream_asked(env, EXT_NAME) == 4  # TCP queries always go upstream

    assert env.dig(a, SHORT_NAME, plain)[:2] == ("NOERROR", [EXT_IP])
    time.sleep(1.2)  # its TTL (1 s) is over: asked upstream again
    assert env.dig(a, SHORT_NAME, plain)[:2] == ("NOERROR", [EXT_IP])
    assert upstream_asked(env, SHORT_NAME) == 2
    assert env.dig(a, "nothing.test", plain)[:2] == ("NXDOMAIN", [])
    assert env.dig(a, "nothing.test", plain)[:2] == ("NXDOMAIN", [])
    assert upstream_asked(env, "nothing.test") == 2  # NXDOMAIN without an SOA: not kept

    asked = time.monotonic()
    assert env.dig(a, RENEWED_NAME, plain)[:2] == ("NOERROR", [EXT_IP])  # TTL 2
    time.sleep(max(0.0, asked + 1.1 - time.monotonic()))
    assert env.dig(a, RENEWED_NAME, plain)[:2] == ("NOERROR", [EXT_IP])  # in its last second:
    end = time.monotonic() + 3
    while upstream_asked(env, RENEWED_NAME) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    assert upstream_asked(env, RENEWED_NAME) == 2  # answered from what is held, and renewed
    time.sleep(max(0.0, asked + 2.2 - time.monotonic()))  # the first answer has run out now

    upstream.send_signal(signal.SIGSTOP)  # silent upstream: what is held still answers
    try:
        assert env.dig(a, EXT_NAME, plain)[:2] == ("NOERROR", [EXT_IP])
        assert env.dig(a, RENEWED_NAME, plain)[:2] == ("NOERROR", [EXT_IP])  # the renewed answer
        assert env.dig(a, "silent.test", plain)[:2] == ("SERVFAIL", [])  # positive control: not held
    finally:
        upstream.send_signal(signal.SIGCONT)


def test_internal_network_does_not_forward(env):
    env.start_upstream()
    secret = env.network("secret", internal=True)
    ci, ns = env.container("ci", {secret: {"ipv4": "10.5.0.2/24"}})
    cj, _ = env.container("cj", {secret: {"ipv4": "10.5.0.3/24"}})
    env.link_to_upstream(ns)  # it could reach the upstream; it must not use it
    assert env.notify([ci, cj])
    assert env.dig(ns, "cj")[:2] == ("NOERROR", ["10.5.0.3"])
    assert env.dig(ns, EXT_NAME)[:2] == ("SERVFAIL", [])
    assert not env.upstream_log.exists() or EXT_NAME not in env.upstream_log.read_text()


def test_default_bridge_gets_no_embedded_dns(env):
    bridge = env.network("bridge", builtin=True)
    d1, ns = env.container("d1", {bridge: {"ipv4": "172.17.0.2/16"}})
    assert env.notify([d1])
    assert d1 not in env.status()
    assert env.dig(ns, "d1")[0] == "NO-ANSWER"


def test_large_answers_truncate_over_udp_and_complete_over_tcp(env):
    big = env.network("big")
    ids = []
    for i in range(20):  # 20 AAAA records = 560+ bytes
        cid, _ = env.container(
            f"m{i}", {big: {"ipv4": f"10.7.0.{i + 2}/24", "ipv6": f"fd07::{i + 2}/64", "aliases": ["many"]}}
        )
        ids.append(cid)
    assert env.notify(ids)
    ns = env.netns[-1]
    status, answers, flags = env.dig(ns, "many", "AAAA", "+noedns", "+ignore")
    assert status == "NOERROR" and "tc" in flags.split() and len(answers) < 20
    assert len(env.dig(ns, "many", "AAAA", "+noedns")[1]) == 20  # dig retries over TCP
    assert len(env.dig(ns, "many", "AAAA")[1]) == 20  # EDNS: fits in UDP


def _wait_none(get_pid) -> None:
    deadline = time.monotonic() + 3
    while get_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert get_pid() is None


def test_kill_9_of_helper_and_keeper_then_notify_restarts_and_rebuilds_from_state(env, basic):
    # The keeper restarts a killed helper by itself (test_helper_revival.py); with the
    # keeper killed first, nothing does until the next change is notified.
    keeper, pid = client.keeper_pid(env.run_dir), client.daemon_pid(env.run_dir)
    assert keeper and pid
    os.kill(keeper, signal.SIGKILL)
    _wait_none(lambda: client.keeper_pid(env.run_dir))
    os.kill(pid, signal.SIGKILL)
    _wait_none(lambda: client.daemon_pid(env.run_dir))
    assert env.dig(basic["a"], "c2")[0] == "NO-ANSWER"
    assert env.notify([])  # nothing to sync: does not start it
    assert client.daemon_pid(env.run_dir) is None
    assert env.notify([basic["c1"]])
    assert client.daemon_pid(env.run_dir) not in (None, pid)
    assert client.keeper_pid(env.run_dir) not in (None, keeper)  # supervised again
    assert env.dig(basic["a"], "c2")[:2] == ("NOERROR", ["172.18.0.3"])  # rebuilt from state
    assert env.dig(basic["b"], "c1")[:2] == ("NOERROR", ["172.18.0.2"])


def test_vanished_sandbox_is_released(env, basic):
    b = basic["b"]
    env.start_upstream()
    assert basic["c2"] in env.status()
    sh("ip", "netns", "del", b)
    env.netns.remove(b)
    deadline = time.monotonic() + 5
    while basic["c2"] in env.status() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert basic["c2"] not in env.status()
    assert env.dig(basic["a"], "c2")[0] == "NXDOMAIN"  # its records went with it
    assert env.dig(basic["a"], "c1")[:2] == ("NOERROR", ["172.18.0.2"])


def test_one_daemon_per_run_dir(env, basic):
    pid = client.daemon_pid(env.run_dir)
    second = subprocess.run(
        ["nsenter", f"--net={env.path(env.host)}", sys.executable, "-m", "pynet.daemon"],
        env=env.env,
        timeout=10,
        capture_output=True,
    )
    assert second.returncode == 0
    assert client.daemon_pid(env.run_dir) == pid
    assert client.ping(run_dir=env.run_dir)


def test_stop_ends_the_daemon_and_frees_the_sandboxes(env, basic):
    keeper = client.keeper_pid(env.run_dir)
    assert client.daemon_pid(env.run_dir) and keeper
    client.stop(run_dir=env.run_dir)
    assert client.daemon_pid(env.run_dir) is None and not client.ping(run_dir=env.run_dir)
    assert not (env.run_dir / "pynetd.pid").exists()
    assert client.keeper_pid(env.run_dir) is None and not (env.run_dir / "pynetd-keeper.pid").exists()
    assert env.dig(basic["a"], "c2")[0] == "NO-ANSWER"

"""The helper's overlay side: the etcd mirror, peer sets, DNS of remote containers, and
non-blocking etcd calls on the daemon loop (no kernel: peer programming is recorded)."""

from __future__ import annotations

import json
import selectors
import socket
import time
from pathlib import Path

import pytest

from pynet.daemon import overlay as agent_mod
from pynet.daemon.etcd_stream import Call
from pynet.daemon.loop import Loop
from pynet.daemon.registry import Registry
from pynet.dns import wire
from pynet.state import etcd as kv

from test_dns_registry import State, addresses, ask, state  # noqa: F401 - shared state fixture

pytestmark = pytest.mark.unit

NET = "a" * 64
ME, OTHER, THIRD = "node0000000a", "node0000000b", "node0000000c"


def remote_ep(n: int, node: str, ip: str, **extra) -> dict:
    return {
        "id": f"{n:064x}",
        "container": f"{n:x}".rjust(64, "c"),
        "name": f"web{n}",
        "aliases": extra.get("aliases", []),
        "ipv4": ip,
        "ipv6": extra.get("ipv6", ""),
        "mac": extra.get("mac", f"02:42:0a:0a:00:{n:02x}"),
        "node": node,
        "vtep": "0.0.0.0",
    }


def test_desired_peers_flood_per_vtep_and_one_entry_per_mac():
    eps = [
        remote_ep(2, OTHER, "10.10.0.2/24"),
        remote_ep(3, OTHER, "10.10.0.3/24", ipv6="fd00::3/64"),
        remote_ep(4, THIRD, "10.10.0.4/24", mac="02:42:0A:0A:00:04"),
    ]
    vteps = {OTHER: "203.0.113.2", THIRD: "203.0.113.3"}
    fdb, neigh = agent_mod.desired_peers(eps, lambda ep: vteps[ep["node"]])
    assert fdb == {
        ("00:00:00:00:00:00", "203.0.113.2"),
        ("00:00:00:00:00:00", "203.0.113.3"),
        ("02:42:0a:0a:00:02", "203.0.113.2"),
        ("02:42:0a:0a:00:03", "203.0.113.2"),
        ("02:42:0a:0a:00:04", "203.0.113.3"),
    }
    assert neigh == {
        ("10.10.0.2", "02:42:0a:0a:00:02"),
        ("10.10.0.3", "02:42:0a:0a:00:03"),
        ("fd00::3", "02:42:0a:0a:00:03"),
        ("10.10.0.4", "02:42:0a:0a:00:04"),
    }


def test_desired_peers_leave_out_a_stale_remote_record_of_a_local_mac():
    # the address (so the MAC) moved here: a late remote record must not point it into the tunnel
    eps = [remote_ep(2, OTHER, "10.10.0.2/24"), remote_ep(3, OTHER, "10.10.0.3/24")]
    fdb, neigh = agent_mod.desired_peers(eps, lambda ep: "203.0.113.2", frozenset({"02:42:0a:0a:00:03"}))
    assert fdb == {("00:00:00:00:00:00", "203.0.113.2"), ("02:42:0a:0a:00:02", "203.0.113.2")}
    assert neigh == {("10.10.0.2", "02:42:0a:0a:00:02")}


class FakeDaemon:
    def __init__(self, state: State, run_dir: Path) -> None:
        self.loop = Loop()
        self.registry = Registry(state.store)
        self.run_dir = run_dir
        self.overlay = None


@pytest.fixture
def agent(state, tmp_path, monkeypatch):
    programmed: list[tuple[int, set, set]] = []

    def set_peers(vni, fdb, neigh):
        programmed.append((vni, fdb, neigh))
        return True

    monkeypatch.setattr("pynet.kernel.vxlan.set_peers", set_peers)
    daemon = FakeDaemon(state, tmp_path / "run")
    cfg = kv.ClusterConfig("etcd://127.0.0.1:9", "203.0.113.1", ME, "h-" + ME, "h", ttl=2)
    a = agent_mod.Agent(daemon, cfg)
    a.programmed_calls = programmed
    net = {"id": NET, "name": "ov1", "driver_data": {"vni": 4096}}
    nodes = [
        kv.KV(kv.node_key(n), json.dumps({"id": n, "addr": addr}).encode())
        for n, addr in ((ME, "203.0.113.1"), (OTHER, "203.0.113.2"), (THIRD, "203.0.113.3"))
    ]
    alive = [kv.KV(kv.alive_key(n), b"") for n in (ME, OTHER, THIRD)]
    a._load_snapshot([[kv.KV(kv.network_key(NET), json.dumps(net).encode())], nodes, alive, []], 10)
    return a


def event(key: str, value: dict | None = None) -> dict:
    kvd = {"key": kv.b64(key), "mod_revision": "11"}
    if value is None:
        return {"type": "DELETE", "kv": kvd}
    return {"kv": {**kvd, "value": kv.b64(json.dumps(value))}}


def test_endpoints_of_other_alive_nodes_are_programmed_and_withdrawn(agent):
    mine = remote_ep(9, ME, "10.10.0.9/24")
    theirs = remote_ep(2, OTHER, "10.10.0.2/24")
    third = remote_ep(3, THIRD, "10.10.0.3/24")
    agent._on_watch(
        {
            "result": {
                "events": [
                    event(kv.endpoint_key(NET, ME, mine["id"]), mine),
                    event(kv.endpoint_key(NET, OTHER, theirs["id"]), theirs),
                    event(kv.endpoint_key(NET, THIRD, third["id"]), third),
                ]
            }
        }
    )
    agent.flush()
    vni, fdb, neigh = agent.programmed_calls[-1]
    assert vni == 4096
    assert ("02:42:0a:0a:00:02", "203.0.113.2") in fdb and ("02:42:0a:0a:00:03", "203.0.113.3") in fdb
    assert not any(ip == "10.10.0.9" for ip, _ in neigh)  # our own endpoint: local
    assert agent.programmed[NET] == 2

    agent._on_watch({"result": {"events": [event(kv.alive_key(THIRD))]}})  # its lease expired
    agent.flush()
    _, fdb, neigh = agent.programmed_calls[-1]
    assert {dst for _, dst in fdb} == {"203.0.113.2"} and {ip for ip, _ in neigh} == {"10.10.0.2"}

    agent._on_watch({"result": {"events": [event(kv.endpoint_key(NET, OTHER, theirs["id"]))]}})
    agent.flush()
    assert agent.programmed_calls[-1][1:] == (set(), set())


def test_a_lease_lost_in_a_store_stall_keeps_the_peer_until_it_really_is_gone(agent, monkeypatch):
    theirs = remote_ep(2, OTHER, "10.10.0.2/24")
    agent._on_watch({"result": {"events": [event(kv.endpoint_key(NET, OTHER, theirs["id"]), theirs)]}})
    agent.flush()
    now = [agent_mod.time.monotonic()]
    monkeypatch.setattr(agent_mod.time, "monotonic", lambda: now[0])
    now[0] += 5.0  # the store has not answered our keepalive for 5 s (ttl 2)
    agent._on_watch({"result": {"events": [event(kv.alive_key(OTHER)), event(kv.alive_key(ME))]}})
    agent.flush()
    assert ("02:42:0a:0a:00:02", "203.0.113.2") in agent.programmed_calls[-1][1]  # kept
    assert agent.status()["held"] == [OTHER]
    agent._store_answered()  # the store is back; the peer renews: nothing changed
    agent._on_watch({"result": {"events": [event(kv.alive_key(OTHER), {"addr": "203.0.113.2"})]}})
    agent.flush()
    assert ("02:42:0a:0a:00:02", "203.0.113.2") in agent.programmed_calls[-1][1] and not agent.held
    # long after the stall a lost lease is a dead node: withdrawn at once
    for _ in range(7):  # keepalives answered every ttl/3 for a while
        now[0] += 0.6
        agent._store_answered()
    agent._on_watch({"result": {"events": [event(kv.alive_key(OTHER))]}})
    agent.flush()
    assert agent.programmed_calls[-1][1:] == (set(), set()) and not agent.held


def test_a_peer_held_through_a_stall_is_withdrawn_when_it_does_not_come_back(agent, monkeypatch):
    theirs = remote_ep(2, OTHER, "10.10.0.2/24")
    agent._on_watch({"result": {"events": [event(kv.endpoint_key(NET, OTHER, theirs["id"]), theirs)]}})
    now = [agent_mod.time.monotonic() + 5.0]
    monkeypatch.setattr(agent_mod.time, "monotonic", lambda: now[0])
    agent._on_watch({"result": {"events": [event(kv.alive_key(OTHER))]}})
    agent.flush()
    assert agent.programmed[NET] == 1
    now[0] += 2 * 2 + 1.0  # the grace (2 ttl + 1 s) is over: it did not renew
    agent._release(OTHER)
    agent.flush()
    assert agent.programmed_calls[-1][1:] == (set(), set()) and not agent.held


def test_a_cancelled_watch_reloads(agent):
    agent._on_watch({"result": {"canceled": True, "compact_revision": "5"}})
    assert agent._recover_timer is not None and agent.watch is None
    agent.close(revoke=False)


def test_remote_containers_resolve_on_shared_networks(state, agent):
    nid = state.network("ov1", driver="overlay")
    local = state.container("local1", {nid: "10.10.0.9/24"})
    reg = agent.daemon.registry
    reg.resync()
    remote = remote_ep(2, OTHER, "10.10.0.2/24", aliases=["api"])
    agent.networks[nid] = {"id": nid, "name": "ov1", "driver_data": {"vni": 4097}}
    agent._on_watch({"result": {"events": [event(kv.endpoint_key(nid, OTHER, remote["id"]), remote)]}})
    agent.flush()
    for name in ("web2", "api", remote["container"][:12], "web2.ov1"):
        assert addresses(ask(reg, local, name)) == ["10.10.0.2"], name
    assert ask(reg, local, "2.0.10.10.in-addr.arpa", wire.TYPE_PTR).records
    # a resync (e.g. SIGHUP) keeps what came from other hosts
    reg.resync()
    assert addresses(ask(reg, local, "web2")) == ["10.10.0.2"]
    agent._on_watch({"result": {"events": [event(kv.alive_key(OTHER))]}})
    agent.flush()
    assert ask(reg, local, "web2") is None


# -- non-blocking calls on the loop ------------------------------------------------------------
def serve_once(loop: Loop, response: bytes) -> int:
    """A one-connection HTTP server on the loop that answers ``response`` and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.setblocking(False)

    def accept(_mask: int) -> None:
        conn, _ = srv.accept()
        loop.unwatch(srv)
        srv.close()
        loop.watch(conn, selectors.EVENT_READ, lambda _m: answer(conn))

    def answer(conn: socket.socket) -> None:
        loop.unwatch(conn)
        conn.setblocking(True)
        conn.recv(65536)  # the request (small: one segment)
        conn.sendall(response)
        conn.close()

    loop.watch(srv, selectors.EVENT_READ, accept)
    return srv.getsockname()[1]


def run_until(loop: Loop, done, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        loop.run_once(0.05)


def test_a_call_streams_messages_then_completes():
    loop = Loop()
    port = serve_once(
        loop,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'e\r\n{"result":{}}\n\r\n'
        b'16\r\n{"result":{"TTL":5}}\n\r\n0\r\n\r\n',
    )
    got, ended = [], []
    Call(loop, "127.0.0.1", port, "/v3/lease/keepalive", {"ID": "1"}, on_message=got.append, on_done=ended.append)
    run_until(loop, lambda: ended)
    assert got == [{"result": {}}, {"result": {"TTL": 5}}] and ended == [None]


def test_a_unary_answer_and_an_http_error():
    loop = Loop()
    port = serve_once(loop, b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ID":"42"}')
    got, ended = [], []
    Call(loop, "127.0.0.1", port, "/v3/lease/grant", {}, on_message=got.append, on_done=ended.append)
    run_until(loop, lambda: ended)
    assert got == [{"ID": "42"}] and ended == [None]
    body = b'{"message":"requested lease not found","code":5}'
    port = serve_once(loop, b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    ended.clear()
    Call(loop, "127.0.0.1", port, "/v3/lease/keepalive", {}, on_message=got.append, on_done=ended.append)
    run_until(loop, lambda: ended)
    assert ended == ["cluster store error: requested lease not found"]


def test_a_refused_call_reports_without_blocking():
    loop = Loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    ended = []
    started = time.monotonic()
    Call(loop, "127.0.0.1", port, "/v3/kv/range", {}, on_message=lambda m: None, on_done=ended.append)
    assert time.monotonic() - started < 0.1
    run_until(loop, lambda: ended)
    assert ended == ["connection refused"]

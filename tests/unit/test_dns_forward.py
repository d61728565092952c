"""The forwarder over real UDP sockets on 127.0.0.1 (no namespaces): every client gets its
own ID back even when clients share one parsed query, and a silent upstream times out
(the FIFO deadline queue) so the next one answers."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from pynet.daemon import forward
from pynet.daemon.loop import Loop
from pynet.dns import responder, wire
from pynet.dns.names import NetworkTable, View

pytestmark = pytest.mark.unit


class FakeSandbox:
    """What the forwarder needs of a SandboxDNS: sockets (here in our own namespace)."""

    def __init__(self) -> None:
        self.upstream_udp: dict[str, socket.socket] = {}

    def new_socket(self, family: int, kind: int) -> socket.socket:
        sock = socket.socket(family, kind)
        sock.setblocking(False)
        return sock


def udp(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def serve(sock: socket.socket) -> int:
    """Answer every waiting query with one A record 192.0.2.80; how many were answered."""
    n = 0
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except BlockingIOError:
            return n
        q = wire.parse_query(data)
        sock.sendto(wire.build_response(q, wire.NOERROR, [wire.rr_a("192.0.2.80", 60)]), addr)
        n += 1


def run(loop: Loop, until, *, serving: socket.socket | None = None, limit: float = 5.0) -> None:
    end = time.monotonic() + limit
    while not until() and time.monotonic() < end:
        loop.run_once(0.02)
        if serving is not None:
            serve(serving)
    assert until(), "bounded wait ran out"


@pytest.fixture
def parts(monkeypatch):
    monkeypatch.setenv("PYNET_DNS_TIMEOUT", "0.1")
    loop = Loop()
    yield loop
    loop.close()


def test_clients_sharing_a_parsed_query_each_get_their_own_id(parts, monkeypatch):
    loop = parts
    good = udp()
    monkeypatch.setattr(forward, "UPSTREAM_PORT", good.getsockname()[1])
    fw = forward.Forwarder(loop, lambda _sb: ("127.0.0.1",))
    view, sb = View([NetworkTable("n", "net", [])]), FakeSandbox()
    first = wire.build_query("www.example.test", wire.TYPE_A, qid=1, flags=wire.RD, opt=b"")
    outcome = responder.handle(view, first)
    assert outcome.query is not None and view.forwards[first[2:]] is outcome.query  # remembered
    got: dict[int, bytes] = {}
    for qid in (1, 2, 3, 0xBEEF):
        data = struct.pack(">H", qid) + first[2:]
        fw.forward(sb, data, view.forwards[data[2:]], lambda msg, q=qid: got.__setitem__(q, msg))
    run(loop, lambda: len(got) == 4, serving=good)
    for qid, msg in got.items():
        assert struct.unpack_from(">H", msg)[0] == qid and wire.rcode_of(msg) == wire.NOERROR
    assert not fw.pending and not fw.armed
    good.close()


def test_a_silent_upstream_times_out_and_the_next_one_answers(parts, monkeypatch):
    loop = parts
    good = udp()
    port = good.getsockname()[1]
    silent = udp("127.0.0.2", port)  # the same port (one UPSTREAM_PORT), another address
    monkeypatch.setattr(forward, "UPSTREAM_PORT", port)
    fw = forward.Forwarder(loop, lambda _sb: ("127.0.0.2", "127.0.0.1"))
    query = wire.build_query("www.example.test", wire.TYPE_A, qid=77, flags=wire.RD, opt=b"")
    got: list[bytes] = []
    started = time.monotonic()
    fw.forward(FakeSandbox(), query, wire.parse_query(query), got.append)
    run(loop, lambda: bool(got), serving=good)
    assert time.monotonic() - started >= 0.1  # waited for the first server's deadline
    assert struct.unpack_from(">H", got[0])[0] == 77 and wire.rcode_of(got[0]) == wire.NOERROR
    assert not fw.armed and not fw.pending
    silent.close()
    good.close()


def test_no_answer_at_all_is_servfail_with_the_clients_id(parts, monkeypatch):
    loop = parts
    silent = udp()
    monkeypatch.setattr(forward, "UPSTREAM_PORT", silent.getsockname()[1])
    fw = forward.Forwarder(loop, lambda _sb: ("127.0.0.1",))
    query = wire.build_query("www.example.test", wire.TYPE_A, qid=0x1234, flags=wire.RD, opt=b"")
    got: list[bytes] = []
    fw.forward(FakeSandbox(), query, wire.parse_query(query), got.append)
    run(loop, lambda: bool(got))
    assert struct.unpack_from(">H", got[0])[0] == 0x1234 and wire.rcode_of(got[0]) == wire.SERVFAIL
    run(loop, lambda: not fw.deadlines and not fw._expiring)  # the queue drains, its timer stops
    silent.close()

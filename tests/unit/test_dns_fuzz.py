"""Random and mutated packets never escape the handlers as exceptions."""

from __future__ import annotations

import random
import struct

import pytest

from pynet.dns import hotpath, responder, wire
from pynet.dns.names import Member, NetworkTable, View

pytestmark = pytest.mark.unit

SEEDS = [b"", b"\x00" * 12]


def seeds() -> list[bytes]:
    out = list(SEEDS)
    for name, qtype in (
        ("c1", wire.TYPE_A),
        ("web", wire.TYPE_AAAA),
        ("example.org", 16),
        ("2.0.18.172.in-addr.arpa", wire.TYPE_PTR),
    ):
        out.append(wire.build_query(name, qtype, qid=7))
        out.append(wire.build_query(name, qtype, qid=7, opt=wire.opt_for_query(4096, do=True)))
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        if op == 0 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 1:
            buf.insert(rng.randint(0, len(buf)), rng.randrange(256))
        elif op == 2 and buf:
            del buf[rng.randrange(len(buf)) :]
        elif op == 3 and len(buf) >= 12:
            # Plausible-but-wrong counts are where parsers trip.
            struct.pack_into(">H", buf, rng.choice((4, 6, 8, 10)), rng.choice((0, 1, 2, 255, 65535)))
        elif op == 4:
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif op == 5 and len(buf) > 13:
            buf[rng.randrange(12, len(buf))] = rng.choice((0xC0, 0xC0 | 0x3F, 0x40, 0x80, 63, 0))
    return bytes(buf)


def packets(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    base = seeds()
    out = []
    for i in range(count):
        if i % 4 == 0:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 600))))
        else:
            out.append(mutate(rng, rng.choice(base)))
    return out


def view() -> View:
    members = [
        Member("1" * 64, ("c1", "web"), "172.18.0.2", "fd00::2"),
        Member("2" * 64, ("c2", "web"), "172.18.0.3", ""),
    ]
    return View([NetworkTable("n1", "net1", members)])


def test_two_thousand_bad_packets_never_raise_and_answers_stay_well_formed():
    v = view()
    answered = 0
    for data in packets(2000, seed=1234):
        for tcp in (False, True):
            # The parser itself must cope; handle()'s catch-all is only a safety net.
            out = responder._handle(v, data, tcp, bool(len(data) % 2), frozenset({"c3"}))
            if out.response is not None:
                answered += 1
                assert len(out.response) >= 12
                assert out.response[:2] == data[:2]  # the caller's ID
                assert out.response[2] & 0x80  # QR: it is a response
                if not tcp:
                    assert len(out.response) <= 65535
    assert answered > 500  # most mutants still get an answer (FORMERR or real)


def test_hot_path_survives_the_same_packets():
    class Sock:
        def __init__(self, inbox: list[bytes]) -> None:
            self.inbox = inbox
            self.sent = 0

        def recvfrom(self, _n: int) -> tuple[bytes, tuple[str, int]]:
            if not self.inbox:
                raise BlockingIOError
            return self.inbox.pop(), ("127.0.0.1", 5353)

        def sendto(self, data: bytes, _addr: tuple[str, int]) -> int:
            self.sent += 1
            return len(data)

    v = view()
    sock = Sock(packets(2000, seed=99))

    def slow(view_: View, data: bytes, addr: tuple[str, int]) -> None:
        out = responder.handle(view_, data)
        if out.response is not None:
            sock.sendto(out.response, addr)

    reader = hotpath.udp_reader(sock, lambda: v, slow)
    while sock.inbox:
        reader(1)
    assert sock.sent > 0

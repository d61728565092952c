"""What the embedded DNS answers, through the real hot path (caches) and slow path (parser).

Every test runs twice: over ``hotpath.udp_reader`` (one recvfrom/sendto per query, a fake
socket) and over the daemon's ``mmsg.MmsgReader`` (recvmmsg/sendmmsg, a real UDP socket
on 127.0.0.1).
"""

from __future__ import annotations

import select
import socket
import struct
import time

import pytest

from pynet.daemon import mmsg
from pynet.dns import hotpath, responder, wire
from pynet.dns.names import Member, NetworkTable, View, member_from_records


pytestmark = pytest.mark.unit


def make_query(
    name: str, qtype: int = wire.TYPE_A, *, qid: int = 0x4242, flags: int = wire.RD, edns: bytes = b""
) -> bytes:
    return wire.build_query(name, qtype, qid=qid, flags=flags, opt=edns)


def opt(udp_size: int = 4096, version: int = 0, options: bytes = b"") -> bytes:
    return wire.opt_for_query(udp_size, version=version, options=options)


C1, C2, C3, C4 = ("1" * 64, "2" * 64, "3" * 64, "4" * 64)


def net1() -> NetworkTable:
    return NetworkTable(
        "n1id",
        "net1",
        [
            Member(C1, ("c1", "web", "host-one", C1[:12]), "172.18.0.2", ""),
            Member(C2, ("c2", "web", C2[:12]), "172.18.0.3", "fd00::3"),
        ],
    )


def net2() -> NetworkTable:
    return NetworkTable("n2id", "net2", [Member(C3, ("c3", C3[:12]), "172.28.0.2", "")])


class FakeSocket:
    """Queued datagrams in, sent datagrams recorded: drives the real UDP hot path."""

    def __init__(self) -> None:
        self.inbox: list[tuple[bytes, tuple[str, int]]] = []
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def recvfrom(self, _size: int) -> tuple[bytes, tuple[str, int]]:
        if not self.inbox:
            raise BlockingIOError
        return self.inbox.pop(0)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        self.sent.append((data, addr))
        return len(data)


class Server:
    """One sandbox's UDP server; forwarded queries are collected.

    ``io``: "recvfrom" drives ``hotpath.udp_reader`` over a FakeSocket, "mmsg" the daemon's
    ``MmsgReader`` over a real socket pair on 127.0.0.1 (set per test by the ``io`` fixture).
    """

    io = "recvfrom"

    def __init__(
        self, view: View, *, can_forward: bool = True, held: frozenset = frozenset(), upstreams: tuple = ()
    ) -> None:
        self.view = view
        self.forwarded: list[wire.Query] = []
        self.slow_calls = 0
        self.slow_peers: list[tuple[str, int]] = []
        if self.io == "mmsg":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.sock.setblocking(False)
            self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.client.bind(("127.0.0.1", 0))
        else:
            self.sock = FakeSocket()

        def slow(view_: View, data: bytes, addr: tuple[str, int]) -> None:
            self.slow_calls += 1
            self.slow_peers.append(addr)
            out = responder.handle(view_, data, can_forward=can_forward, held=held)
            if out.response is not None:
                self.sock.sendto(out.response, addr)
            elif out.query is not None:
                self.forwarded.append(out.query)

        def held_answers(view_: View) -> dict:  # as the daemon's: upstream answers kept by the view
            return view_.forward_cache(upstreams).hot if upstreams else {}

        if self.io == "mmsg":
            self.reader = mmsg.MmsgReader(self.sock, lambda: self.view, slow, held_answers)
        else:
            self.reader = hotpath.udp_reader(self.sock, lambda: self.view, slow, answers=held_answers)

    def ask(self, data: bytes) -> bytes | None:
        if self.io == "mmsg":
            got = self.ask_many([data])
            return got[-1] if got else None
        self.sock.inbox.append((data, ("127.0.0.1", 40000)))
        before = len(self.sock.sent)
        self.reader(1)
        return self.sock.sent[-1][0] if len(self.sock.sent) > before else None

    def ask_many(self, queries: list[bytes]) -> list[bytes]:
        """Send every query, run the reader once, return the answers that came back."""
        for q in queries:
            self.client.sendto(q, self.sock.getsockname())
        self.reader(1)
        out: list[bytes] = []
        while len(out) < len(queries) and select.select([self.client], [], [], 0.2)[0]:
            out.append(self.client.recv(65535))
        return out


@pytest.fixture(autouse=True, params=["recvfrom", "mmsg"])
def io(request, monkeypatch):
    """Run each test over both UDP readers."""
    if request.param == "mmsg" and not mmsg.available():
        pytest.skip("no recvmmsg/sendmmsg in this libc")
    monkeypatch.setattr(Server, "io", request.param)
    return request.param


def answers(resp: bytes) -> tuple[int, list[str]]:
    """(rcode, answer data as text) of a response to a one-question query."""
    qid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", resp)
    _, off = wire.read_name(resp, 12)
    off += 4
    out = []
    for _ in range(an):
        _, off = wire.read_name(resp, off)
        rtype, _, ttl, rdlen = struct.unpack_from(">HHIH", resp, off)
        off += 10
        rdata = resp[off : off + rdlen]
        if rtype == wire.TYPE_A:
            out.append(".".join(map(str, rdata)))
        elif rtype == wire.TYPE_AAAA:
            import ipaddress

            out.append(str(ipaddress.IPv6Address(rdata)))
        elif rtype == wire.TYPE_PTR:
            out.append(wire.labels_to_text(wire.read_name(resp, off)[0]))
        off += rdlen
    return flags & 0xF, out


@pytest.fixture
def server() -> Server:
    return Server(View([net1()]), held=frozenset({"c3"}))


def test_container_name_answers_its_address(server):
    assert answers(server.ask(make_query("c1"))) == (wire.NOERROR, ["172.18.0.2"])


def test_hostname_and_short_id_answer(server):
    assert answers(server.ask(make_query("host-one")))[1] == ["172.18.0.2"]
    assert answers(server.ask(make_query(C2[:12])))[1] == ["172.18.0.3"]


def test_names_are_case_insensitive_and_the_question_is_echoed_as_sent(server):
    data = make_query("C1")
    resp = server.ask(data)
    assert answers(resp) == (wire.NOERROR, ["172.18.0.2"])
    assert resp[12 : 12 + 4] == b"\x02C1\x00"


def test_name_dot_network_form_answers(server):
    assert answers(server.ask(make_query("c2.net1")))[1] == ["172.18.0.3"]
    assert answers(server.ask(make_query("c2.NET1.")))[1] == ["172.18.0.3"]


def test_name_on_a_network_not_shared_is_nxdomain_without_forwarding(server):
    resp = server.ask(make_query("c3"))
    assert answers(resp) == (wire.NXDOMAIN, [])
    assert server.forwarded == []


def test_aaaa_of_an_ipv4_only_name_is_noerror_without_answers(server):
    assert answers(server.ask(make_query("c1", wire.TYPE_AAAA))) == (wire.NOERROR, [])
    assert answers(server.ask(make_query("c2", wire.TYPE_AAAA))) == (wire.NOERROR, ["fd00::3"])


def test_other_types_of_a_container_name_are_noerror_without_answers(server):
    assert answers(server.ask(make_query("c1", 15))) == (wire.NOERROR, [])  # MX


def test_unknown_names_are_forwarded(server):
    assert server.ask(make_query("example.org")) is None
    assert [q.qname for q in server.forwarded] == ["example.org"]


def test_internal_only_sandbox_answers_servfail_for_unknown_names():
    srv = Server(View([net1()]), can_forward=False)
    assert answers(srv.ask(make_query("example.org"))) == (wire.SERVFAIL, [])
    assert answers(srv.ask(make_query("c1")))[1] == ["172.18.0.2"]


def test_ptr_answers_name_dot_network(server):
    resp = server.ask(make_query("3.0.18.172.in-addr.arpa", wire.TYPE_PTR))
    assert answers(resp) == (wire.NOERROR, ["c2.net1"])
    v6 = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
    assert answers(server.ask(make_query(v6, wire.TYPE_PTR)))[1] == ["c2.net1"]


def test_ptr_of_an_address_on_another_network_is_forwarded(server):
    assert server.ask(make_query("2.0.28.172.in-addr.arpa", wire.TYPE_PTR)) is None
    assert len(server.forwarded) == 1


def test_shared_name_returns_every_holder_rotated_between_answers(server):
    seen = []
    for qid in range(6):
        rcode, addrs = answers(server.ask(make_query("web", qid=qid)))
        assert rcode == wire.NOERROR and sorted(addrs) == ["172.18.0.2", "172.18.0.3"]
        seen.append(addrs[0])
    assert seen == ["172.18.0.2", "172.18.0.3"] * 3


def test_repeated_queries_come_from_the_cache_with_the_callers_id(server):
    first = server.ask(make_query("c1", qid=1))
    calls = server.slow_calls
    second = server.ask(make_query("c1", qid=2))
    assert server.slow_calls == calls  # no parsing the second time
    assert second[:2] == b"\x00\x02" and second[2:] == first[2:]


def test_a_new_view_drops_cached_answers():
    srv = Server(View([net1()]))
    assert answers(srv.ask(make_query("c1")))[1] == ["172.18.0.2"]
    moved = NetworkTable("n1id", "net1", [Member(C1, ("c1",), "172.18.0.9", "")])
    srv.view = View([moved])
    assert answers(srv.ask(make_query("c1")))[1] == ["172.18.0.9"]


def test_first_shared_network_in_attach_order_wins():
    other = NetworkTable("n3id", "net3", [Member(C2, ("c2",), "10.3.0.3", "")])
    srv = Server(View([other, net1()]))
    assert answers(srv.ask(make_query("c2")))[1] == ["10.3.0.3"]
    assert answers(srv.ask(make_query("c2.net1")))[1] == ["172.18.0.3"]


def test_edns_query_is_answered_with_an_opt_record(server):
    resp = server.ask(make_query("c1", edns=opt(1232, options=b"\x00\x0a\x00\x08" + b"k" * 8)))
    assert answers(resp) == (wire.NOERROR, ["172.18.0.2"])
    assert struct.unpack_from(">H", resp, 10)[0] == 1


def test_unsupported_edns_version_gets_badvers(server):
    resp = server.ask(make_query("c1", edns=opt(version=1)))
    assert struct.unpack_from(">I", resp, len(resp) - 6)[0] >> 24 == 1


def many_holders(count: int) -> View:
    members = [Member(f"{i:064x}", (f"c{i}", "many"), f"10.1.{i // 250}.{i % 250 + 1}", "") for i in range(count)]
    return View([NetworkTable("nbig", "big", members)])


def test_large_answer_without_edns_is_truncated_with_tc():
    srv = Server(many_holders(40))
    resp = srv.ask(make_query("many"))
    flags, _, an = struct.unpack_from(">HHH", resp, 2)
    assert len(resp) <= 512 and flags & wire.TC and an < 40


def test_large_answer_fits_with_edns_and_over_tcp():
    view = many_holders(40)
    srv = Server(view)
    resp = srv.ask(make_query("many", edns=opt(4096)))
    assert not struct.unpack_from(">H", resp, 2)[0] & wire.TC
    assert len(answers(resp)[1]) == 40
    tcp = responder.handle(view, make_query("many"), tcp=True).response
    assert not struct.unpack_from(">H", tcp, 2)[0] & wire.TC and len(answers(tcp)[1]) == 40


def test_opcode_other_than_query_is_notimp(server):
    assert server.ask(make_query("c1", flags=2 << 11))[3] & 0xF == wire.NOTIMP


def test_malformed_query_gets_formerr_and_responses_are_dropped(server):
    bad = struct.pack(">HHHHHH", 5, wire.RD, 1, 0, 0, 0) + b"\x09abc"
    assert server.ask(bad)[3] & 0xF == wire.FORMERR
    assert server.ask(b"\x00\x05\x81\x80" + b"\x00" * 8) is None
    assert server.ask(b"\x01") is None


def test_member_from_records_collects_names_without_duplicates():
    container = {"id": C1, "name": "web1", "hostname": C1[:12]}
    endpoint = {"name": "web1", "aliases": ["web", "WEB", C1[:12]], "ipv4": "172.18.0.2/16", "ipv6": "fd00::2/64"}
    m = member_from_records(container, endpoint)
    assert m.names == ("web1", "web", C1[:12])
    assert (m.ipv4, m.ipv6) == ("172.18.0.2", "fd00::2")


def test_a_burst_of_queries_is_answered_each_with_its_own_id(io):
    srv = Server(View([net1(), net2()]))
    names = ["c1", "c2", "web", "c3", "C1", "unknown-name"]
    srv.ask(make_query("c1"))  # fills the cache: the burst mixes hits and misses
    queries = [make_query(n, qid=100 + i) for i, n in enumerate(names * 3)]
    got = srv.ask_many(queries) if io == "mmsg" else [srv.ask(q) for q in queries]
    got = [g for g in got if g is not None]
    by_id = {struct.unpack_from(">H", g)[0]: g for g in got}
    assert len(got) == 15 and len(by_id) == 15  # unknown-name (x3) was forwarded, not answered
    for i, n in enumerate(names * 3):
        if n == "unknown-name":
            assert 100 + i not in by_id
            continue
        rcode, addrs = answers(by_id[100 + i])
        expect = {"c1": ["172.18.0.2"], "C1": ["172.18.0.2"], "c2": ["172.18.0.3"], "c3": ["172.28.0.2"]}
        assert rcode == wire.NOERROR
        assert sorted(addrs) == expect.get(n, ["172.18.0.2", "172.18.0.3"])
    assert [q.qname for q in srv.forwarded] == ["unknown-name"] * 3


def test_a_burst_longer_than_a_send_chunk_is_answered_whole_and_in_order(io):
    """mmsg answers a burst in sendmmsg chunks (SEND_CHUNK): every query of a burst larger
    than several chunks, and of a second burst after it, gets its own answer, in order
    (one query per call on the recvfrom path)."""
    srv = Server(View([net1()]))
    srv.ask(make_query("c1"))
    count = mmsg.SLOTS + mmsg.SEND_CHUNK + 3  # one full burst, then one more than a chunk
    assert mmsg.SLOTS > 2 * mmsg.SEND_CHUNK
    names = ["c1" if i % 7 else "unknown-name" for i in range(count)]  # misses between the chunks
    queries = [make_query(n, qid=1000 + i) for i, n in enumerate(names)]
    if io == "mmsg":
        srv.client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        got = srv.ask_many(queries)
    else:
        got = [g for g in (srv.ask(q) for q in queries) if g is not None]
    ids = [struct.unpack_from(">H", g)[0] for g in got]
    assert ids == [1000 + i for i, n in enumerate(names) if n == "c1"]
    assert all(answers(g) == (wire.NOERROR, ["172.18.0.2"]) for g in got)
    assert len(srv.forwarded) == names.count("unknown-name")


def test_the_slow_path_gets_the_askers_address(io):
    srv = Server(View([net1()]))
    srv.ask(make_query("nobody-here"))
    want = srv.client.getsockname() if io == "mmsg" else ("127.0.0.1", 40000)
    assert srv.slow_peers == [want]


def test_only_dotted_names_forwarded_over_udp_keep_their_parsed_query(server):
    dotted = make_query("www.example.test")
    assert server.ask(dotted) is None and server.forwarded
    assert server.view.forwards[dotted[2:]].qname == "www.example.test"
    single = make_query("printer")  # may become a container name on another network
    assert server.ask(single) is None and single[2:] not in server.view.forwards
    tcp = make_query("tcp.example.test")
    assert responder.handle(server.view, tcp, tcp=True).query is not None
    assert tcp[2:] not in server.view.forwards


def test_a_held_upstream_answer_is_served_on_the_hot_path_until_its_ttls_must_count_down(io):
    server = Server(View([net1()]), upstreams=("192.0.2.53",))
    first = make_query("www.example.test", qid=1)
    assert server.ask(first) is None and len(server.forwarded) == 1  # not held yet: forwarded
    q = server.forwarded[0]
    upstream = wire.build_response(q, wire.NOERROR, [wire.rr_a("192.0.2.80", 60)])
    cache = server.view.forward_cache(("192.0.2.53",))
    cache.store(first[2:], wire.with_id(upstream, 0x7777), time.monotonic())
    cache.refresh(first[2:], time.monotonic())  # its first reuse (the daemon's slow path) walks it
    calls = server.slow_calls
    resp = server.ask(make_query("www.example.test", qid=0xBEEF))
    assert resp is not None and resp[:2] == b"\xbe\xef" and resp[2:] == upstream[2:]  # the asker's ID
    assert answers(resp) == (wire.NOERROR, ["192.0.2.80"]) and server.slow_calls == calls  # parsed nothing
    # Its second is over: the next query takes the slow path (where the TTLs are counted down).
    key = first[2:]
    cache.hot[key] = (time.monotonic() - 0.001, cache.hot[key][1])
    assert server.ask(make_query("www.example.test", qid=2)) is None and server.slow_calls == calls + 1

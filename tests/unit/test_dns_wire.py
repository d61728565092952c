"""DNS wire format: parsing queries, building responses, reverse names."""

from __future__ import annotations

import struct

import pytest

from pynet.dns import wire

pytestmark = pytest.mark.unit


def make_query(
    name: str, qtype: int = wire.TYPE_A, *, qid: int = 0x4242, flags: int = wire.RD, edns: bytes = b""
) -> bytes:
    return wire.build_query(name, qtype, qid=qid, flags=flags, opt=edns)


def opt(udp_size: int = 4096, version: int = 0, do: bool = False, options: bytes = b"") -> bytes:
    return wire.opt_for_query(udp_size, version=version, do=do, options=options)


def test_encode_name_round_trips_through_the_parser():
    raw = wire.encode_name("Web.My-Net.")
    assert raw == b"\x03Web\x06My-Net\x00"
    labels, end = wire.read_name(raw, 0)
    assert labels == [b"Web", b"My-Net"] and end == len(raw)
    assert wire.labels_to_text(labels) == "web.my-net"


def test_parse_query_lowercases_the_name_and_keeps_the_question_bytes():
    data = make_query("C2.Example", wire.TYPE_AAAA, qid=7)
    q = wire.parse_query(data)
    assert (q.id, q.qname, q.qtype, q.qclass) == (7, "c2.example", wire.TYPE_AAAA, wire.CLASS_IN)
    assert q.question == data[12:]
    assert q.edns is None and q.udp_limit() == 512


def test_parse_query_reads_edns():
    q = wire.parse_query(make_query("c1", edns=opt(1400, do=True, options=b"\x00\x0a\x00\x08" + b"c" * 8)))
    assert q.edns is not None
    assert (q.edns.udp_size, q.edns.version, q.edns.do, q.edns.has_options) == (1400, 0, True, True)
    assert q.udp_limit() == 1400


def test_small_edns_size_still_allows_512():
    assert wire.parse_query(make_query("c1", edns=opt(100))).udp_limit() == 512


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 11,
        struct.pack(">HHHHHH", 1, 0, 0, 0, 0, 0),  # no question
        struct.pack(">HHHHHH", 1, 0, 2, 0, 0, 0) + b"\x00\x00\x01\x00\x01" * 2,  # two questions
        struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x05ab",  # label past the end
        struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",  # pointer in question
        struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x40abc\x00\x00\x01\x00\x01",  # label type 01
        struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x00\x00\x01",  # short type/class
        struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 1) + b"\x00\x00\x01\x00\x01" + b"\x00\x00\x29",  # short RR
    ],
)
def test_malformed_queries_are_format_errors(data):
    with pytest.raises(wire.FormatError):
        wire.parse_query(data)


def test_two_opt_records_are_a_format_error():
    data = struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 2) + b"\x00\x00\x01\x00\x01" + opt() + opt()
    with pytest.raises(wire.FormatError):
        wire.parse_query(data)


def test_compression_pointer_loop_is_caught():
    data = b"\x00" * 12 + b"\xc0\x0c"
    with pytest.raises(wire.FormatError):
        wire.read_name(data, 12)


def test_overlong_name_is_rejected():
    raw = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"
    with pytest.raises(wire.FormatError):
        wire.read_name(raw, 0)


def test_dot_inside_a_label_never_matches_a_dotted_name():
    assert wire.labels_to_text([b"a.b"]) == "a\\.b"


def test_build_response_copies_id_rd_cd_opcode_and_sets_qr_ra():
    q = wire.parse_query(make_query("c1", qid=0xBEEF, flags=wire.RD | wire.CD | 0x0020))
    resp = wire.build_response(q, wire.NXDOMAIN)
    qid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", resp)
    assert qid == 0xBEEF and (qd, an, ns, ar) == (1, 0, 0, 0)
    assert flags & wire.QR and flags & wire.RA and flags & wire.RD and flags & wire.CD
    assert not flags & wire.AA and not flags & 0x0020  # not authoritative, no AD
    assert flags & 0xF == wire.NXDOMAIN
    assert resp[12:] == q.question


def test_build_response_truncates_to_the_limit_and_sets_tc():
    q = wire.parse_query(make_query("many"))
    records = [wire.rr_a(f"10.0.{i // 256}.{i % 256}", 600) for i in range(40)]  # 16 bytes each
    resp = wire.build_response(q, wire.NOERROR, records, limit=512)
    flags, _, an = struct.unpack_from(">HHH", resp, 2)
    assert len(resp) <= 512 and flags & wire.TC
    assert an == (512 - 12 - len(q.question)) // 16
    full = wire.build_response(q, wire.NOERROR, records)
    assert struct.unpack_from(">H", full, 6)[0] == 40 and not struct.unpack_from(">H", full, 2)[0] & wire.TC


def test_response_to_an_edns_query_carries_an_opt_record():
    q = wire.parse_query(make_query("c1", edns=opt(4096, do=True)))
    resp = wire.build_response(q, wire.NOERROR, [wire.rr_a("10.0.0.1", 600)])
    assert struct.unpack_from(">H", resp, 10)[0] == 1
    name, rtype, size, ttl, rdlen = struct.unpack_from(">BHHIH", resp, len(resp) - 11)
    assert (name, rtype, size, rdlen) == (0, wire.TYPE_OPT, wire.OUR_UDP_SIZE, 0)
    assert ttl & 0x8000  # DO copied


def test_badvers_travels_in_the_opt_extended_rcode():
    q = wire.parse_query(make_query("c1", edns=opt(version=1)))
    resp = wire.build_response(q, wire.BADVERS)
    assert resp[3] & 0xF == 0  # 16 = ext rcode 1, header rcode 0
    ttl = struct.unpack_from(">I", resp, len(resp) - 6)[0]
    assert ttl >> 24 == 1


def test_answer_records_point_at_the_question_name():
    assert wire.rr_a("172.18.0.2", 600) == bytes.fromhex("c00c00010001000002580004ac120002")
    assert wire.rr_aaaa("fd00::1", 600)[:12] == bytes.fromhex("c00c001c0001000002580010")
    assert wire.rr_ptr("c2.net1", 600).endswith(b"\x02c2\x04net1\x00")


def test_error_response_echoes_a_readable_question_and_drops_responses():
    data = make_query("c1", qid=9)
    resp = wire.error_response(data, wire.FORMERR)
    assert resp[:2] == b"\x00\x09" and resp[3] & 0xF == wire.FORMERR and resp[12:] == data[12:]
    assert wire.error_response(b"\x00\x09\x81\x80" + b"\x00" * 8, wire.FORMERR) is None  # QR set
    assert wire.error_response(b"\x00\x01", wire.FORMERR) is None
    bare = wire.error_response(struct.pack(">HHHHHH", 3, 0, 1, 0, 0, 0) + b"\x09ab", wire.FORMERR)
    assert bare is not None and len(bare) == 12 and struct.unpack_from(">H", bare, 4)[0] == 0


@pytest.mark.parametrize(
    "name,ip",
    [
        ("2.0.18.172.in-addr.arpa", "172.18.0.2"),
        ("010.0.0.10.in-addr.arpa", "10.0.0.10"),
        ("3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "fd00::3"),
        ("0.18.172.in-addr.arpa", None),
        ("256.0.18.172.in-addr.arpa", None),
        ("x.0.18.172.in-addr.arpa", None),
        ("2.0.18.17\u00b2.in-addr.arpa", None),  # str.isdigit() would accept the superscript
        ("3.0.d.f.ip6.arpa", None),
        ("c1", None),
    ],
)
def test_ptr_to_ip(name, ip):
    assert wire.ptr_to_ip(name) == ip


def test_with_id_and_add_flags():
    msg = bytes.fromhex("000181800001000000000000")
    assert wire.with_id(msg, 0xABCD)[:2] == b"\xab\xcd"
    assert struct.unpack_from(">H", wire.add_flags(msg, wire.TC), 2)[0] & wire.TC

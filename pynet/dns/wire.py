"""DNS messages on the wire (RFC 1035, EDNS from RFC 6891): just what the embedded server needs.

Parsing is strict about structure (a query that cannot be walked is a ``FormatError``)
and lenient about content (unknown types, classes and EDNS options pass through).
Answers always name the question by a compression pointer to offset 12, so a response
echoes the question exactly as the client spelled it (0x20 mixed case included).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

# Record types and classes the server knows by name.
TYPE_A = 1
TYPE_PTR = 12
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_ANY = 255
CLASS_IN = 1

# Response codes.
NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5
BADVERS = 16  # extended (EDNS) rcode: 4 high bits travel in the OPT record

# Header flag bits.
QR = 0x8000
OPCODE_MASK = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
CD = 0x0010

HEADER = struct.Struct(">HHHHHH")
_RR_FIXED = struct.Struct(">HHIH")  # type, class, ttl, rdlength
_TYPE_CLASS = struct.Struct(">HH")

PLAIN_UDP_LIMIT = 512  # without EDNS (RFC 1035 4.2.1)
OUR_UDP_SIZE = 1232  # what we advertise in our OPT record (DNS flag day 2020)
MAX_POINTER_HOPS = 32
MAX_NAME_LEN = 255


class FormatError(ValueError):
    """The message cannot be parsed; the server answers FORMERR (or drops it)."""


@dataclass(slots=True)
class Edns:
    """The OPT pseudo-record of a query."""

    udp_size: int
    version: int
    do: bool
    has_options: bool


@dataclass(slots=True)
class Query:
    """One parsed query: what the server needs to answer or forward it."""

    id: int
    flags: int
    qname: str  # lowercase, dotted, no trailing dot ("" is the root)
    qtype: int
    qclass: int
    question: bytes  # the question section exactly as sent (name + type + class)
    edns: Edns | None

    @property
    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> 11

    def udp_limit(self) -> int:
        """The largest UDP response this client accepts."""
        if self.edns is None:
            return PLAIN_UDP_LIMIT
        return max(PLAIN_UDP_LIMIT, self.edns.udp_size)


def read_name(data: bytes, offset: int, *, allow_pointers: bool = True) -> tuple[list[bytes], int]:
    """The labels of the name at ``offset`` and the offset just after it.

    Follows compression pointers (bounded, so a pointer loop cannot spin).
    """
    labels: list[bytes] = []
    end = -1
    hops = 0
    total = 0
    size = len(data)
    while True:
        if offset >= size:
            raise FormatError("name runs past the end of the message")
        length = data[offset]
        if length == 0:
            if end < 0:
                end = offset + 1
            return labels, end
        kind = length & 0xC0
        if kind == 0xC0:
            if not allow_pointers:
                raise FormatError("compression pointer in the question")
            if offset + 1 >= size:
                raise FormatError("truncated compression pointer")
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise FormatError("compression pointer loop")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if kind:
            raise FormatError("unknown label type")
        label = data[offset + 1 : offset + 1 + length]
        if len(label) != length:
            raise FormatError("label runs past the end of the message")
        total += length + 1
        if total > MAX_NAME_LEN:
            raise FormatError("name longer than 255 octets")
        labels.append(label)
        offset += length + 1


def labels_to_text(labels: list[bytes]) -> str:
    """Lowercase dotted text; a dot inside a label is escaped so it never matches a name."""
    parts = []
    for label in labels:
        text = label.lower().decode("latin-1")
        if "." in text or "\\" in text:
            text = text.replace("\\", "\\\\").replace(".", "\\.")
        parts.append(text)
    return ".".join(parts)


def encode_name(name: str) -> bytes:
    """Wire form of a dotted name (no compression)."""
    out = bytearray()
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if len(raw) > 63:
            raise ValueError(f"label too long: {label!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def _skip_rr(data: bytes, offset: int) -> tuple[int, int, int, int]:
    """Walk one resource record: (type, class, ttl, next offset); offset of rdata is not needed."""
    _, offset = read_name(data, offset)
    if offset + 10 > len(data):
        raise FormatError("record header runs past the end of the message")
    rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(data, offset)
    offset += 10 + rdlen
    if offset > len(data):
        raise FormatError("record data runs past the end of the message")
    return rtype, rclass, ttl, offset


def parse_query(data: bytes) -> Query:
    """Parse a query with exactly one question; anything else is a ``FormatError``."""
    if len(data) < 12:
        raise FormatError("shorter than a DNS header")
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if qdcount != 1:
        raise FormatError("not exactly one question")
    labels, offset = read_name(data, 12, allow_pointers=False)
    if offset + 4 > len(data):
        raise FormatError("question runs past the end of the message")
    qtype, qclass = _TYPE_CLASS.unpack_from(data, offset)
    question = data[12 : offset + 4]
    offset += 4
    for _ in range(ancount + nscount):
        offset = _skip_rr(data, offset)[3]
    edns = None
    for _ in range(arcount):
        start = offset
        rtype, rclass, ttl, offset = _skip_rr(data, offset)
        if rtype != TYPE_OPT:
            continue
        if edns is not None or data[start] != 0:
            raise FormatError("bad OPT record")  # RFC 6891 6.1.1: one OPT, root owner
        rdlen = struct.unpack_from(">H", data, offset - 2)[0]
        edns = Edns(udp_size=rclass, version=(ttl >> 16) & 0xFF, do=bool(ttl & 0x8000), has_options=rdlen > 0)
    return Query(qid, flags, labels_to_text(labels), qtype, qclass, question, edns)


# -- building ----------------------------------------------------------------------------


def rr_a(ip: str, ttl: int) -> bytes:
    """An A record whose owner is the question name (pointer to offset 12)."""
    return b"\xc0\x0c" + _RR_FIXED.pack(TYPE_A, CLASS_IN, ttl, 4) + socket.inet_pton(socket.AF_INET, ip)


def rr_aaaa(ip: str, ttl: int) -> bytes:
    """An AAAA record whose owner is the question name."""
    return b"\xc0\x0c" + _RR_FIXED.pack(TYPE_AAAA, CLASS_IN, ttl, 16) + socket.inet_pton(socket.AF_INET6, ip)


def rr_ptr(target: str, ttl: int) -> bytes:
    """A PTR record whose owner is the question name."""
    rdata = encode_name(target)
    return b"\xc0\x0c" + _RR_FIXED.pack(TYPE_PTR, CLASS_IN, ttl, len(rdata)) + rdata


def opt_record(query_edns: Edns, rcode: int) -> bytes:
    """Our OPT record for a response to a query that carried one."""
    ttl = ((rcode >> 4) << 24) | (0x8000 if query_edns.do else 0)
    return b"\x00" + _RR_FIXED.pack(TYPE_OPT, OUR_UDP_SIZE, ttl, 0)


def response_flags(query_flags: int, rcode: int, *, truncated: bool = False) -> int:
    """Reply flags as Docker's resolver sets them: QR, RA, opcode/RD/CD copied, not AA."""
    flags = QR | RA | (query_flags & (OPCODE_MASK | RD | CD)) | (rcode & 0xF)
    if truncated:
        flags |= TC
    return flags


def build_response(
    query: Query, rcode: int, answers: list[bytes] | tuple[bytes, ...] = (), *, limit: int | None = None
) -> bytes:
    """A complete response; with ``limit`` (UDP), answers that do not fit are cut and TC set."""
    opt = opt_record(query.edns, rcode) if query.edns is not None else b""
    size = 12 + len(query.question) + len(opt)
    kept = len(answers)
    if limit is not None:
        for i, rr in enumerate(answers):
            size += len(rr)
            if size > limit:
                kept = i
                break
    truncated = kept < len(answers)
    header = HEADER.pack(query.id, response_flags(query.flags, rcode, truncated=truncated), 1, kept, 0, 1 if opt else 0)
    return b"".join((header, query.question, *answers[:kept], opt))


def error_response(data: bytes, rcode: int) -> bytes | None:
    """A bare reply (header only, or header + question when it parses) for a bad query.

    None when not even a header is there (such a packet is dropped).
    """
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from(">HH", data)
    if flags & QR:
        return None  # never answer a response: two servers could ping-pong forever
    question = b""
    try:
        labels, offset = read_name(data, 12, allow_pointers=False)
        if offset + 4 <= len(data) and struct.unpack_from(">H", data, 4)[0] >= 1:
            question = data[12 : offset + 4]
    except FormatError:
        pass
    return HEADER.pack(qid, response_flags(flags, rcode), 1 if question else 0, 0, 0, 0) + question


def opt_for_query(udp_size: int = OUR_UDP_SIZE, *, version: int = 0, do: bool = False, options: bytes = b"") -> bytes:
    """An OPT record for a query (EDNS)."""
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\x00" + _RR_FIXED.pack(TYPE_OPT, udp_size, ttl, len(options)) + options


def build_query(name: str, qtype: int = TYPE_A, *, qid: int = 0, flags: int = RD, opt: bytes = b"") -> bytes:
    """A one-question query (for clients, tests and benchmarks); ``opt`` from ``opt_for_query``."""
    header = HEADER.pack(qid, flags, 1, 0, 0, 1 if opt else 0)
    return header + encode_name(name) + _TYPE_CLASS.pack(qtype, CLASS_IN) + opt


def with_id(message: bytes, new_id: int) -> bytes:
    """The message with its ID replaced."""
    return struct.pack(">H", new_id) + message[2:]


def add_flags(message: bytes, flags: int) -> bytes:
    """The message with extra header flag bits set."""
    return message[:2] + struct.pack(">H", struct.unpack_from(">H", message, 2)[0] | flags) + message[4:]


def rcode_of(message: bytes) -> int:
    """The (non-extended) rcode of a message of at least 4 bytes."""
    return message[3] & 0x0F


def _is_octet(text: str) -> bool:
    return 0 < len(text) <= 3 and all(c in "0123456789" for c in text) and int(text) < 256


def ptr_to_ip(qname: str) -> str | None:
    """The address a reverse name asks about, or None when it is not a full reverse name."""
    if qname.endswith(".in-addr.arpa"):
        parts = qname[: -len(".in-addr.arpa")].split(".")
        if len(parts) != 4 or not all(_is_octet(p) for p in parts):
            return None
        return ".".join(str(int(p)) for p in reversed(parts))
    if qname.endswith(".ip6.arpa"):
        nibbles = qname[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        raw = bytes.fromhex("".join(reversed(nibbles)))
        return socket.inet_ntop(socket.AF_INET6, raw)
    return None


def answer_addresses(message: bytes) -> list[str]:
    """The IPv4 addresses of the A records in a response's answer section (``FormatError``
    when it cannot be walked)."""
    if len(message) < 12:
        raise FormatError("shorter than a DNS header")
    _, _, qdcount, ancount, _, _ = HEADER.unpack_from(message)
    offset = 12
    for _ in range(qdcount):
        offset = read_name(message, offset)[1] + 4
    found = []
    for _ in range(ancount):
        start = read_name(message, offset)[1]
        rtype, _, _, offset = _skip_rr(message, offset)
        if rtype == TYPE_A and offset - start == 14:  # 10 header bytes + 4 of address
            found.append(socket.inet_ntoa(message[offset - 4 : offset]))
    return found

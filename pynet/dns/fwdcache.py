"""Upstream answers kept for their TTL, so a repeated forwarded query is answered on the hot path.

Docker's resolver asks the upstream every time. pynet keeps an upstream's final UDP answer
for as long as its records live (the smallest TTL; for a negative answer the SOA's, RFC 2308)
and serves it with every TTL counted down by the whole seconds it has been held — never
beyond expiry, as any caching resolver does. A ``ForwardCache`` belongs to one ``View`` (so a
container name that appears later wins at once: a changed network builds a new view with
empty caches) and one upstream list (sandboxes with different ``--dns`` never share answers).

``hot`` is what the UDP readers consult after the view's own caches: query minus its ID ->
(monotonic time until which the response is exact, the ID-less response). An answer enters
it at its first reuse and whenever that time has passed: the reader takes the slow path,
where ``refresh`` counts the TTLs down (or drops the answer once expired), so an answer
costs one rewrite per second it is in use, and one asked only once costs no walk at all. An answer
still in use near its end is asked for again ahead of time (``renew_now``).

Not kept: truncated answers, rcodes other than NOERROR/NXDOMAIN, a negative answer without
an SOA, any record with TTL 0 (or >= 2**31, RFC 2181 8), anything that cannot be walked.
"""

from __future__ import annotations

import struct

from pynet.dns import wire

MAX_ENTRIES = 4096  # per cache; a full cache starts again empty
MAX_CACHE_KEY = 300  # as the view's caches: longer queries are not kept
MAX_LIFETIME = 3600  # seconds an answer is kept at most, whatever its TTL says
_TTL = struct.Struct(">I")
_RR = struct.Struct(">HHIH")  # type, class, ttl, rdlength
_SOA_MINIMUM_FROM_END = 4  # MINIMUM is the last 32-bit field of an SOA's rdata
TYPE_SOA = 6


class Entry:
    """One upstream answer as received and, from its first reuse on, where its TTLs are."""

    __slots__ = ("fetched", "message", "body", "ttls", "lifetime", "renewing")

    def __init__(self, fetched: float, message: bytes) -> None:
        self.fetched = fetched
        self.message = message  # as received, until ``walked``
        self.body = b""  # the message without its ID
        self.ttls: tuple[tuple[int, int], ...] = ()  # (offset in body, TTL as received), OPT left out
        self.lifetime = 0
        self.renewing = False  # asked upstream again before it runs out

    def walked(self) -> bool:
        """Find the TTLs (once, at the first reuse, so a name asked once costs no walk);
        False when the answer may not be kept."""
        if self.message:
            found = layout(self.message)
            if found is None:
                return False
            self.body = self.message[2:]
            self.ttls = tuple((at - 2, ttl) for at, ttl in found[0])
            self.lifetime = found[1]
            self.message = b""
        return True


def layout(message: bytes) -> tuple[tuple[tuple[int, int], ...], int] | None:
    """The TTL fields of a complete response and how long it may be kept (None: not at all).

    Offsets are those of the full message (ID included).
    """
    try:
        return _layout(message)
    except (wire.FormatError, struct.error, IndexError):
        return None


def _layout(message: bytes) -> tuple[tuple[tuple[int, int], ...], int] | None:
    _, flags, qdcount, ancount, nscount, arcount = wire.HEADER.unpack_from(message)
    rcode = flags & 0x0F
    if qdcount != 1 or flags & wire.TC or rcode not in (wire.NOERROR, wire.NXDOMAIN):
        return None
    offset = wire.read_name(message, 12)[1] + 4
    ttls: list[tuple[int, int]] = []
    lifetime = MAX_LIFETIME
    soa = False
    for i in range(ancount + nscount + arcount):
        if message[offset] >= 0xC0:  # the usual owner: a compression pointer
            offset += 2
        else:
            offset = wire.read_name(message, offset)[1]
        rtype, _, ttl, rdlen = _RR.unpack_from(message, offset)
        end = offset + 10 + rdlen
        if end > len(message):
            return None
        if rtype != wire.TYPE_OPT:
            if ttl == 0 or ttl >= 1 << 31:
                return None
            ttls.append((offset + 4, ttl))
            lifetime = min(lifetime, ttl)
            if rtype == TYPE_SOA and ancount <= i < ancount + nscount and rdlen >= 20:
                soa = True
                lifetime = min(lifetime, _TTL.unpack_from(message, end - _SOA_MINIMUM_FROM_END)[0])
        offset = end
    if (rcode == wire.NXDOMAIN or ancount == 0) and not soa:
        return None  # a negative answer says how long it holds only through an SOA
    if lifetime <= 0:
        return None
    return tuple(ttls), lifetime


class ForwardCache:
    """Upstream answers of one view and upstream list (see the module docstring)."""

    def __init__(self) -> None:
        self.hot: dict[bytes, tuple[float, bytes]] = {}
        self.entries: dict[bytes, Entry] = {}

    def store(self, key: bytes, message: bytes, now: float) -> None:
        """Keep the complete upstream ``message`` that answered the query ``key`` (ID-less).

        Only the header is checked here; the records are walked when it is first reused.
        """
        if len(key) > MAX_CACHE_KEY or len(message) < 12 or message[2] & 0x02 or message[3] & 0x0F not in (0, 3):
            return  # truncated, or an rcode other than NOERROR/NXDOMAIN
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
            self.hot.clear()
        self.entries[key] = Entry(now, message)
        self.hot.pop(key, None)  # a renewed answer: the next query takes the new one

    def refresh(self, key: bytes, now: float) -> bytes | None:
        """The ID-less response for ``key`` with its TTLs as of ``now``; None when not held."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        age = int(now - entry.fetched)
        if not entry.walked() or age >= entry.lifetime or age < 0:
            del self.entries[key]
            self.hot.pop(key, None)
            return None
        body = bytearray(entry.body)
        for at, ttl in entry.ttls:
            _TTL.pack_into(body, at, ttl - age)
        response = bytes(body)
        self.hot[key] = (entry.fetched + age + 1, response)
        return response

    def renew_now(self, key: bytes, now: float) -> bool:
        """True (once per answer) when an answer in use enters its last tenth (at least its
        last second): the caller asks upstream again, and the new answer replaces it before
        it runs out, so a name in steady use never waits for the upstream."""
        entry = self.entries.get(key)
        if entry is None or entry.renewing:
            return False
        if entry.fetched + entry.lifetime - now > max(1, entry.lifetime // 10):
            return False
        entry.renewing = True
        return True

"""Who is called what, per network, and what one sandbox sees.

A ``NetworkTable`` holds one network's names; a ``View`` is the ordered tables of one
sandbox's networks, shared by sandboxes with the same networks, with its answer caches.
Both are immutable (a change builds new ones). Lookup order: dns.md, "What resolves".
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pynet.dns import wire
from pynet.dns.fwdcache import ForwardCache

TTL = 600  # Docker's respTTL
MAX_ROTATIONS = 64  # names with more holders are rotated on the slow path only
MAX_CACHE_ENTRIES = 20000
MAX_CACHE_KEY = 300
MAX_UPSTREAM_LISTS = 16  # answer caches per view (one per distinct --dns list in use)


@dataclass(frozen=True)
class Member:
    """One endpoint's DNS data on one network."""

    container_id: str
    names: tuple[str, ...]  # as given; the first one is the PTR target
    ipv4: str = ""  # bare address, "" = none
    ipv6: str = ""


@dataclass(frozen=True)
class Answer:
    """A local answer: an rcode and its answer records (rotated when ``rotate``)."""

    rcode: int
    records: tuple[bytes, ...] = ()

    @property
    def rotate(self) -> bool:
        return len(self.records) > 1


NODATA = Answer(wire.NOERROR)


def _bare(address: str) -> str:
    """'172.18.0.2/16' -> '172.18.0.2' in canonical text ('' stays '')."""
    if not address:
        return ""
    try:
        return str(ipaddress.ip_interface(address).ip)
    except ValueError:
        return ""


def member_from_records(container: dict, endpoint: dict) -> Member:
    """The DNS names of a container on one network, from its state records.

    Container name, network aliases, hostname and short ID; duplicates dropped.
    """
    cname = (endpoint.get("name") or container.get("name") or "").lstrip("/")
    names = [cname, *endpoint.get("aliases", []), container.get("hostname", ""), container.get("id", "")[:12]]
    seen: set[str] = set()
    ordered = []
    for name in names:
        key = name.strip().rstrip(".").lower()
        if key and key not in seen:
            seen.add(key)
            ordered.append(name.strip().rstrip("."))
    return Member(
        container.get("id", ""), tuple(ordered), _bare(endpoint.get("ipv4", "")), _bare(endpoint.get("ipv6", ""))
    )


class NetworkTable:
    """The names and reverse names of one network."""

    def __init__(self, network_id: str, name: str, members: Iterable[Member]) -> None:
        members = list(members)
        self.network_id = network_id
        self.name = name
        self.key = name.lower()
        v4: dict[str, set[str]] = {}
        v6: dict[str, set[str]] = {}
        self.reverse: dict[str, str] = {}
        for member in members:
            for name_ in member.names:
                key = name_.lower()
                bucket4 = v4.setdefault(key, set())
                bucket6 = v6.setdefault(key, set())
                if member.ipv4:
                    bucket4.add(member.ipv4)
                if member.ipv6:
                    bucket6.add(member.ipv6)
            if member.names:
                target = f"{member.names[0]}.{name}"
                for ip in (member.ipv4, member.ipv6):
                    if ip:
                        self.reverse.setdefault(ip, target)
        # Sorted so the answer order is stable before rotation (singletons need no sort).
        self.v4 = {k: _ordered(v) for k, v in v4.items()}
        self.v6 = {k: _ordered(v) for k, v in v6.items()}
        self._holders: dict[str, int] = {}
        for member in members:
            for name_ in member.names:
                self._holders[name_.lower()] = self._holders.get(name_.lower(), 0) + 1

    def changed(self, removed: Iterable[Member], added: Iterable[Member]) -> tuple["NetworkTable", set[str], set[str]]:
        """A NEW table: this one minus ``removed`` plus ``added``, in O(their names) (dict copies
        run at C speed); plus the names that left / joined (for HeldNames). Tables stay immutable."""
        new = NetworkTable.__new__(NetworkTable)
        new.network_id, new.name, new.key = self.network_id, self.name, self.key
        new.v4, new.v6, new.reverse, new._holders = (
            dict(self.v4),
            dict(self.v6),
            dict(self.reverse),
            dict(self._holders),
        )
        left: set[str] = set()
        joined: set[str] = set()
        for m in removed:
            for name_ in m.names:
                key = name_.lower()
                n = new._holders.get(key, 0) - 1
                if n > 0:
                    new._holders[key] = n
                    new.v4[key] = tuple(ip for ip in new.v4.get(key, ()) if ip != m.ipv4)
                    new.v6[key] = tuple(ip for ip in new.v6.get(key, ()) if ip != m.ipv6)
                else:
                    for d in (new._holders, new.v4, new.v6):
                        d.pop(key, None)
                    left.add(key)
            if m.names:
                target = f"{m.names[0]}.{self.name}"
                for ip in (m.ipv4, m.ipv6):
                    if ip and new.reverse.get(ip) == target:
                        del new.reverse[ip]
        for m in added:
            for name_ in m.names:
                key = name_.lower()
                if key not in new._holders:
                    joined.add(key)
                    left.discard(key)
                new._holders[key] = new._holders.get(key, 0) + 1
                if m.ipv4:
                    new.v4[key] = _ordered({*new.v4.get(key, ()), m.ipv4})
                else:
                    new.v4.setdefault(key, ())
                if m.ipv6:
                    new.v6[key] = _ordered({*new.v6.get(key, ()), m.ipv6})
                else:
                    new.v6.setdefault(key, ())
            if m.names:
                target = f"{m.names[0]}.{self.name}"
                for ip in (m.ipv4, m.ipv6):
                    if ip:
                        new.reverse.setdefault(ip, target)
        joined -= {k for k in joined if k in self._holders}
        return new, {k for k in left if k not in new._holders}, joined

    def names(self) -> set[str]:
        """Every (lowercase) name this network answers."""
        return set(self.v4)


def _ordered(ips: set[str]) -> tuple[str, ...]:
    return tuple(ips) if len(ips) < 2 else tuple(sorted(ips, key=ipaddress.ip_address))


def _candidates(qname: str) -> Iterator[tuple[str, str]]:
    """(name, network) pairs to try: the full name anywhere, then 'a' in network 'b.c'..."""
    yield qname, ""
    i = len(qname)
    while True:
        i = qname.rfind(".", 0, i)
        if i <= 0:
            return
        yield qname[:i], qname[i + 1 :]


class View:
    """What one set of networks (in attach order) answers, plus its response caches.

    ``fast`` maps a query without its ID (``data[2:]``) to the response without its ID;
    ``rotating`` does the same for names with several addresses (a cycle of responses).
    The daemon's UDP loop reads both directly.
    """

    def __init__(self, tables: list[NetworkTable], links: dict[str, str] | None = None) -> None:
        self.tables = tables
        #: legacy links of the one container using this view: alias -> container name
        self.links = links or {}
        self.fast: dict[bytes, bytes] = {}
        self.rotating: dict[bytes, Iterator[bytes]] = {}
        #: query without its ID -> its parsed query, for the names this view forwards over
        #: UDP: a repeated forwarded query is not parsed again. Dotted names only: whether a
        #: single-label name is forwarded also depends on names held on other networks.
        self.forwards: dict[bytes, wire.Query] = {}
        #: upstream answers to those queries, per upstream list (``pynet.dns.fwdcache``)
        self.answered: dict[tuple[str, ...], ForwardCache] = {}
        self._memo: dict[tuple[str, int], Answer | None] = {}
        self._turn: dict[tuple[str, int], int] = {}

    def lookup(self, qname: str, qtype: int) -> Answer | None:
        """The local answer for a name, or None when the name is not ours (forward it)."""
        key = (qname, qtype)
        try:
            return self._memo[key]
        except KeyError:
            pass
        answer = self._lookup(qname, qtype)
        if len(self._memo) >= MAX_CACHE_ENTRIES:
            self._memo.clear()
        self._memo[key] = answer
        return answer

    def _lookup(self, qname: str, qtype: int) -> Answer | None:
        if qtype == wire.TYPE_PTR:
            ip = wire.ptr_to_ip(qname)
            if ip is not None:
                for table in self.tables:
                    target = table.reverse.get(ip)
                    if target:
                        return Answer(wire.NOERROR, (wire.rr_ptr(target, TTL),))
                return None
        qname = self.links.get(qname, qname)
        for name, network in _candidates(qname):
            known = False
            for table in self.tables:
                if network and table.key != network:
                    continue
                v4 = table.v4.get(name)
                if v4 is None:
                    continue
                known = True
                records = self._records(qtype, v4, table.v6[name])
                if records:
                    return Answer(wire.NOERROR, records)
            if known:
                return NODATA  # e.g. AAAA of an IPv4-only name: NOERROR, no answer
        return None

    @staticmethod
    def _records(qtype: int, v4: tuple[str, ...], v6: tuple[str, ...]) -> tuple[bytes, ...]:
        if qtype == wire.TYPE_A:
            return tuple(wire.rr_a(ip, TTL) for ip in v4)
        if qtype == wire.TYPE_AAAA:
            return tuple(wire.rr_aaaa(ip, TTL) for ip in v6)
        if qtype == wire.TYPE_ANY:
            return tuple(wire.rr_a(ip, TTL) for ip in v4) + tuple(wire.rr_aaaa(ip, TTL) for ip in v6)
        return ()  # MX, TXT... of a container name: it exists, without such records

    def next_turn(self, qname: str, qtype: int, count: int) -> int:
        """The rotation offset for this answer (advances on every call)."""
        key = (qname, qtype)
        turn = self._turn.get(key, 0)
        self._turn[key] = (turn + 1) % count
        return turn

    def remember(self, key: bytes, responses: list[bytes]) -> None:
        """Cache ID-less responses for a query key (one, or a rotation of several)."""
        if len(key) > MAX_CACHE_KEY:
            return
        if len(self.fast) + len(self.rotating) >= MAX_CACHE_ENTRIES:
            self.fast.clear()
            self.rotating.clear()
        if len(responses) == 1:
            self.fast[key] = responses[0]
        else:
            self.rotating[key] = itertools.cycle(responses)

    def forward_cache(self, upstreams: tuple[str, ...]) -> ForwardCache:
        """The upstream answers this view keeps for sandboxes forwarding to ``upstreams``."""
        cache = self.answered.get(upstreams)
        if cache is None:
            if len(self.answered) >= MAX_UPSTREAM_LISTS:
                self.answered.clear()
            cache = self.answered[upstreams] = ForwardCache()
        return cache

    def remember_forward(self, key: bytes, query: wire.Query) -> None:
        """Keep the parsed form of a query this view forwards (see ``forwards``)."""
        if len(key) > MAX_CACHE_KEY:
            return
        if len(self.forwards) >= MAX_CACHE_ENTRIES:
            self.forwards.clear()
        self.forwards[key] = query


@dataclass
class HeldNames:
    """Single-label names some container on this host holds, with how many networks hold each.

    A query for one of these from a sandbox that does not share the holder's network gets
    NXDOMAIN at once instead of being sent upstream (a container name must not leak to
    the host's resolvers, and isolation must not depend on what they answer).
    """

    counts: dict[str, int] = field(default_factory=dict)

    def update(self, old: Iterable[str], new: Iterable[str]) -> None:
        for name in old:
            if "." not in name:
                left = self.counts.get(name, 0) - 1
                if left > 0:
                    self.counts[name] = left
                else:
                    self.counts.pop(name, None)
        for name in new:
            if "." not in name:
                self.counts[name] = self.counts.get(name, 0) + 1

    def __contains__(self, name: object) -> bool:
        return name in self.counts

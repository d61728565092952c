"""``AddressSpace``: the per-network address allocator, and ``PoolExhausted``.

libnetwork's bitmask, as a dict of allocated addresses plus a round-robin ``last`` pointer
(like netavark), JSON-serialisable. Two forms: ``to_dict`` keeps each address's owner
(version 1); ``to_compact`` (version 2, what the state store keeps) keeps only runs of
allocated addresses, so a network's IPAM file stays a few hundred bytes with 1000
containers — owners live in the per-endpoint membership records instead.
"""

from __future__ import annotations

import ipaddress
import itertools
import _socket
from dataclasses import dataclass

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.drivers.ipam.pools import IPAddr, IPNet

from pynet.drivers.ipam.pools import (
    ERR_ADDRESS_IN_USE,
    ERR_NO_ADDRESSES,
    ERR_STATIC_NEEDS_SUBNET,
    _geometry,
    _Geometry,
    _network,
    _parse_host,
    host_in_subnet,
)
from pynet.records.model import IPAMPool
from pynet.errors import Conflict, InvalidArgument, StateCorrupt, Unavailable


SCHEMA_VERSION = 2  # the newest form this pynet reads (1: owners; 2: compact runs)


class PoolExhausted(Unavailable):
    """No free address left for dynamic allocation (Docker: ``ErrNoAvailableIPs``).

    The message is Docker's network-level one; without a name/id it stops before the colon.
    ``for_network`` re-words it once the caller knows the network.
    """

    def __init__(self, version: int = 4, name: str = "", network_id: str = "") -> None:
        self.version = version
        msg = f"no available IPv{version} addresses on this network's address pools"
        if name or network_id:
            msg += f": {name} ({network_id})"
        super().__init__(msg)

    def for_network(self, name: str, network_id: str) -> "PoolExhausted":
        return PoolExhausted(self.version, name, network_id)


# ---------------------------------------------------------------- AddressSpace


@dataclass
class _PoolState:
    """One pool's allocations while an AddressSpace is open."""

    net: IPNet
    allocated: dict[int, str]  # address -> owner (endpoint id)
    last: int | None = None  # last dynamically handed-out address

    def addr(self, value: int) -> str:
        if self.net.version == 4:
            return _socket.inet_ntop(_socket.AF_INET, value.to_bytes(4, "big"))
        return str(ipaddress.IPv6Address(value))

    def parse(self, text: str) -> int:
        """An address of this pool's family as an int (strict; ValueError otherwise).

        inet_pton instead of ipaddress: a network's file is read on every run/rm, and
        parsing 1000 addresses with ipaddress alone cost ~20 ms.
        """
        family = _socket.AF_INET if self.net.version == 4 else _socket.AF_INET6
        try:
            return int.from_bytes(_socket.inet_pton(family, text), "big")
        except OSError:
            raise ValueError(f"{text!r} is not an IPv{self.net.version} address") from None


class AddressSpace:
    """Allocation state of ONE network: per pool, allocated addresses and a ``last`` pointer.

    Dynamic allocation walks forward from ``last`` (wrapping once) so a just-freed address is
    not handed out again at once. Never handed out: network address, IPv4 broadcast, gateway,
    aux addresses; nothing outside the ip-range dynamically. A static address may lie outside
    the ip-range but must be inside the subnet (as in Docker).
    """

    def __init__(self, *, name: str = "", network_id: str = "") -> None:
        self.name = name
        self.network_id = network_id
        self._pools: dict[str, _PoolState] = {}

    # -- persistence
    @classmethod
    def from_dict(
        cls, data: dict[str, Any] | None, pools: list[IPAMPool], *, name: str = "", network_id: str = ""
    ) -> "AddressSpace":
        """Load state written by ``to_dict`` (None = a fresh network). Raises StateCorrupt."""
        space = cls(name=name, network_id=network_id)
        for pool in pools:
            space._state(pool)
        if data is None:
            return space
        try:
            version = int(data.get("version", 1))
            if version > SCHEMA_VERSION:
                raise StateCorrupt(f"IPAM state version {data['version']} is newer than this pynet")
            for key, entry in data.get("pools", {}).items():
                if version >= 2:
                    space._load_runs(key, entry)
                else:
                    space._load_pool(key, entry)
        except (AttributeError, TypeError, ValueError, KeyError, InvalidArgument) as err:
            raise StateCorrupt(f"corrupt IPAM state: {err}") from None
        return space

    def _load_pool(self, key: str, entry: dict[str, Any]) -> None:
        state = self._state_for(key)
        low, high = int(state.net.network_address), int(state.net.broadcast_address)
        for text, owner in entry.get("allocated", {}).items():
            value = state.parse(text)
            if not low <= value <= high:
                raise ValueError(f"{text} is not in {key}")
            state.allocated[value] = str(owner)
        last = entry.get("last")
        state.last = int(ipaddress.ip_address(last)) if last else None

    def _load_runs(self, key: str, entry: dict[str, Any]) -> None:
        state = self._state_for(key)
        low, high = int(state.net.network_address), int(state.net.broadcast_address)
        for first, last in entry.get("runs", []):
            a, b = state.parse(first), state.parse(last)
            if not low <= a <= b <= high:
                raise ValueError(f"{first}-{last} is not a run in {key}")
            state.allocated.update(dict.fromkeys(range(a, b + 1), ""))
        last = entry.get("last")
        state.last = int(ipaddress.ip_address(last)) if last else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state with every address's owner (version 1; addresses sorted)."""
        pools = {}
        for key, st in self._pools.items():
            pools[key] = {
                "allocated": {st.addr(i): st.allocated[i] for i in sorted(st.allocated)},
                "last": st.addr(st.last) if st.last is not None else None,
            }
        return {"version": 1, "pools": pools}

    def to_compact(self) -> dict[str, Any]:
        """JSON-ready state as runs of allocated addresses (version 2; no owners).

        Its size follows the number of gaps, not of addresses: sequential allocation
        keeps a 1000-container network's state to a run or a few.
        """
        pools = {}
        for key, st in self._pools.items():
            pools[key] = {
                "runs": [[st.addr(a), st.addr(b)] for a, b in _runs(sorted(st.allocated))],
                "last": st.addr(st.last) if st.last is not None else None,
            }
        return {"version": 2, "pools": pools}

    def _state_for(self, key: str) -> _PoolState:
        net = _network(key)
        key = str(net)
        if key not in self._pools:
            self._pools[key] = _PoolState(net, {})
        return self._pools[key]

    def _state(self, pool: IPAMPool) -> _PoolState:
        return self._state_for(pool.subnet)

    # -- allocation
    def allocate(self, pool: IPAMPool, owner: str, preferred: str | None = None) -> str:
        """Hand out an address of ``pool`` to ``owner``: ``preferred`` if given, else the
        next free one after ``last``. Returns 'a.b.c.d' (no prefix)."""
        state, geo = self._state(pool), _geometry(pool)
        if preferred:
            return self._allocate_static(state, geo, owner, preferred)
        return self._allocate_dynamic(state, geo, owner)

    def _allocate_static(self, state: _PoolState, geo: _Geometry, owner: str, preferred: str) -> str:
        ip = _parse_host(preferred)
        if ip is None or ip.version != geo.net.version or ip not in geo.net:
            raise _not_in_subnets(ip, preferred)
        if len(geo.reserved) + len(state.allocated) >= geo.net.num_addresses:
            raise Unavailable(ERR_NO_ADDRESSES)  # libnetwork checks fullness first
        if int(ip) in geo.reserved or int(ip) in state.allocated:
            raise Conflict(ERR_ADDRESS_IN_USE)
        state.allocated[int(ip)] = owner
        return str(ip)

    def _allocate_dynamic(self, state: _PoolState, geo: _Geometry, owner: str) -> str:
        if self._range_full(state, geo):
            raise PoolExhausted(geo.net.version, self.name, self.network_id)
        lo, hi = geo.lo, geo.hi
        nxt = state.last + 1 if state.last is not None else lo
        start = nxt if lo <= nxt <= hi else lo
        for value in itertools.chain(range(start, hi + 1), range(lo, start)):
            if value not in state.allocated and value not in geo.reserved:
                state.allocated[value] = owner
                state.last = value
                return str(geo.addr(value))
        raise PoolExhausted(geo.net.version, self.name, self.network_id)  # pragma: no cover

    @staticmethod
    def _range_full(state: _PoolState, geo: _Geometry) -> bool:
        """O(1) unless nearly full: only then count the allocations inside the range."""
        capacity = geo.hi - geo.lo + 1 - geo.reserved_in_range
        if len(state.allocated) < capacity:
            return False
        return sum(1 for i in state.allocated if geo.lo <= i <= geo.hi) >= capacity

    def allocate_from(
        self, pools: list[IPAMPool], owner: str, preferred: str | None = None, *, v6: bool = False
    ) -> tuple[IPAMPool, str]:
        """libnetwork ``assignAddressVersion``: pick the pool (of one family) and allocate.

        A preferred address goes to the pool containing it; without one, pools are tried in
        order and the network-level PoolExhausted is raised when all are full. The caller
        still checks Docker's 'user defined networks only' rule for built-in networks.
        """
        family = [p for p in pools if p.is_ipv6 == v6]
        if preferred:
            if not any(p.user_configured for p in family):
                raise InvalidArgument(ERR_STATIC_NEEDS_SUBNET)
            ip = _parse_host(preferred)
            for pool in family:
                if ip is not None and host_in_subnet(pool, str(ip)):
                    return pool, self.allocate(pool, owner, str(ip))
            raise _not_in_subnets(ip, preferred)
        for pool in family:
            try:
                return pool, self.allocate(pool, owner)
            except PoolExhausted:
                continue
        raise PoolExhausted(6 if v6 else 4, self.name, self.network_id)

    # -- release and queries
    def release(self, pool: IPAMPool, address: str) -> None:
        """Free one address (idempotent; unknown or foreign addresses are ignored)."""
        state = self._pools.get(str(_network(pool.subnet)))
        ip = _parse_host(address)
        if state is None or ip is None or ip.version != state.net.version:
            return
        state.allocated.pop(int(ip), None)

    def release_address(self, address: str) -> None:
        """Free ``address`` ('a.b.c.d' or with a prefix) in whichever pool holds it."""
        ip = _parse_host(address.partition("/")[0])
        if ip is None:
            return
        for state in self._pools.values():
            if ip.version == state.net.version and ip in state.net:
                state.allocated.pop(int(ip), None)
                return

    def release_owner(self, owner: str) -> list[str]:
        """Free every address of ``owner``; returns them (empty when none, idempotent)."""
        freed: list[str] = []
        for state in self._pools.values():
            mine = [i for i, o in state.allocated.items() if o == owner]
            for value in mine:
                del state.allocated[value]
                freed.append(state.addr(value))
        return freed

    def owner_of(self, address: str) -> str | None:
        """Who holds ``address`` (None: free, reserved, or in no pool)."""
        ip = _parse_host(address)
        if ip is None:
            return None
        for state in self._pools.values():
            if ip.version == state.net.version and ip in state.net:
                return state.allocated.get(int(ip))
        return None

    def addresses_of(self, owner: str) -> list[str]:
        """Every address ``owner`` holds, pool by pool."""
        return [st.addr(i) for st in self._pools.values() for i, o in sorted(st.allocated.items()) if o == owner]

    def count(self) -> int:
        """Number of allocated addresses (gateway and aux not counted)."""
        return sum(len(st.allocated) for st in self._pools.values())


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """Sorted integers as inclusive (first, last) runs of consecutive values."""
    out: list[tuple[int, int]] = []
    for v in values:
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _not_in_subnets(ip: IPAddr | None, preferred: str) -> InvalidArgument:
    shown = str(ip) if ip is not None else preferred
    return InvalidArgument(f"Invalid address {shown}: It does not belong to any of this network's subnets")

"""Docker 20.10's default IPAM, in pure Python (stdlib ``ipaddress`` only, no I/O).

Four jobs, each named after what Docker does:

* ``build_pools`` — docker/cli's consolidation of ``--subnet/--gateway/--ip-range/--aux-address``
  (``cli/command/network/create.go consolidateIpam``) followed by the daemon's own parsing
  (``daemon/network.go getIpamConfig``, libnetwork ``parsePoolRequest``), same messages.
* ``finalize_pool`` — libnetwork ``network.ipamAllocateVersion``: reserve the gateway (the first
  free address of the dynamic range when none was given) and the auxiliary addresses.
* ``choose_subnet`` / ``check_overlap`` — pool selection among Docker's predefined local pools
  (``ipamutils``) and the "Pool overlaps" check.
* ``AddressSpace`` — the per-network address allocator (libnetwork's bitmask, as a dict of
  allocated addresses plus a round-robin ``last`` pointer, like netavark), JSON-serialisable.

Addresses are handled as integers internally so that a /16 or an IPv6 /64 is never enumerated.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import itertools
from dataclasses import dataclass
from typing import Any, Union

from pynet.cnm.model import IPAMPool
from pynet.errors import Conflict, InvalidArgument, StateCorrupt, Unavailable

IPAddr = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNet = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

SCHEMA_VERSION = 1
ADDRESS_SPACE_LOCAL = "LocalDefault"     # libnetwork's local address space name

# Docker's wording (libnetwork ipamapi/contract.go, endpoint.go, daemon runconfig errors).
ERR_ADDRESS_IN_USE = "Address already in use"
ERR_POOL_OVERLAP = "Pool overlaps with other one on this address space"
ERR_NO_ADDRESSES = "No available addresses on this pool"
ERR_OUT_OF_RANGE = "Requested address is out of range"
ERR_STATIC_NEEDS_SUBNET = ("user specified IP address is supported only when connecting to "
                           "networks with user configured subnets")
ERR_NO_DEFAULT_POOL = ("could not find an available, non-overlapping IPv{} address pool among "
                       "the defaults to assign to the network")


def _default_pools_v4() -> list[str]:
    """ipamutils' local-scope defaults: 172.17-19/16, 172.20/14, 172.24/14, 172.28/14 split
    into /16s, then 192.168.0.0/16 split into /20s."""
    pools = [f"172.{octet}.0.0/16" for octet in range(17, 32)]
    pools += [str(n) for n in ipaddress.ip_network("192.168.0.0/16").subnets(new_prefix=20)]
    return pools


DEFAULT_POOLS_V4: list[str] = _default_pools_v4()


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


# ---------------------------------------------------------------- Go-compatible parsing

def _go_parse_ip(text: str) -> IPAddr | None:
    """Go's ``net.ParseIP``: plain v4/v6 text (no zone, no prefix); v4-mapped v6 is v4."""
    if "%" in text or "/" in text:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _go_parse_cidr(text: str) -> tuple[IPAddr, IPNet]:
    """Go's ``net.ParseCIDR``: 'addr/len' (decimal len) -> (addr as written, masked network).

    Raises ValueError carrying Go's text ``invalid CIDR address: <text>``.
    """
    addr, sep, bits = text.partition("/")
    ip = _go_parse_ip(addr) if sep else None
    if ip is None or not bits or any(c not in "0123456789" for c in bits):
        raise ValueError(f"invalid CIDR address: {text}")
    if int(bits) > ip.max_prefixlen:
        raise ValueError(f"invalid CIDR address: {text}")
    return ip, ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)


def _parse_host(text: str) -> IPAddr | None:
    """An address given as 'a.b.c.d' or 'a.b.c.d/nn' (the prefix is ignored); None if bad."""
    return _go_parse_ip(text.partition("/")[0]) if text else None


def _network(subnet: str) -> IPNet:
    """A pool's subnet as a (masked) network; a bad one is the daemon's 'Invalid subnet'."""
    try:
        return _go_parse_cidr(subnet)[1]
    except ValueError as err:
        raise InvalidArgument(f"Invalid subnet {subnet} : {err}") from None


def _cli_error(message: str) -> InvalidArgument:
    """docker/cli reports these before calling the daemon (no 'Error response' prefix)."""
    return InvalidArgument(message, from_daemon=False)


def _subnet_matches(subnet: str, data: str) -> bool:
    """docker/cli ``subnetMatches``: does ``subnet`` contain the address written in ``data``?"""
    try:
        net = _go_parse_cidr(subnet)[1]
    except ValueError as err:
        raise _cli_error(f"invalid subnet: {err}") from None
    if "/" in data:
        try:
            ip: IPAddr | None = _go_parse_cidr(data)[0]
        except ValueError as err:
            raise _cli_error(str(err)) from None
    else:
        ip = _go_parse_ip(data)
    return ip is not None and ip.version == net.version and ip in net


# ---------------------------------------------------------------- build_pools (create flags)

def _consolidate(subnets: list[str], gateways: list[str], ip_ranges: list[str],
                 aux_addresses: dict[str, str]) -> dict[str, dict[str, Any]]:
    """docker/cli ``consolidateIpam``, check for check and message for message."""
    if len(subnets) < len(ip_ranges) or len(subnets) < len(gateways):
        raise _cli_error("every ip-range or gateway must have a corresponding subnet")
    configs: dict[str, dict[str, Any]] = {}
    for s in subnets:
        for k in list(configs):
            inner, outer = _subnet_matches(s, k), _subnet_matches(k, s)  # Go checks both errors
            if inner or outer:
                raise _cli_error("multiple overlapping subnet configuration is not supported")
        configs[s] = {"range": "", "gateway": "", "aux": {}}
    for field, values, fmt in (
        ("range", ip_ranges, "cannot configure multiple ranges ({}, {}) on the same subnet ({})"),
        ("gateway", gateways, "cannot configure multiple gateways ({}, {}) for the same subnet ({})"),
    ):
        for value in values:
            matched = False
            for s in subnets:
                if not _subnet_matches(s, value):
                    continue
                if configs[s][field]:
                    raise _cli_error(fmt.format(value, configs[s][field], s))
                configs[s][field] = value
                matched = True
            if not matched:
                raise _cli_error(f"no matching subnet for {field} {value}")
    for key, value in aux_addresses.items():
        matched = False
        for s in subnets:
            if _subnet_matches(s, value):
                configs[s]["aux"][key] = value
                matched = True
        if not matched:
            raise _cli_error(f"no matching subnet for aux-address {value}")
    return configs


def _daemon_pool(subnet: str, cfg: dict[str, Any], network_name: str) -> IPAMPool:
    """What the daemon makes of one consolidated config (subnet already known to parse)."""
    net = _network(subnet)
    gateway = ""
    if cfg["gateway"]:
        gw = _go_parse_ip(cfg["gateway"])
        if gw is None:
            raise InvalidArgument(f"invalid gateway address {cfg['gateway']} in Ipam configuration")
        gateway = str(gw)
    ip_range = ""
    if cfg["range"]:
        try:
            ip_range = str(_go_parse_cidr(cfg["range"])[1])
        except ValueError:
            raise InvalidArgument(
                f'failed to parse pool request for address space "{ADDRESS_SPACE_LOCAL}" pool '
                f'"{subnet}" subpool "{cfg["range"]}": Invalid Address SubPool') from None
    aux: dict[str, str] = {}
    for key, value in cfg["aux"].items():
        ip = _go_parse_ip(value)
        if ip is None:
            raise InvalidArgument(f"non parsable secondary ip address ({key}:{value}) "
                                  f"passed for network {network_name}")
        aux[key] = str(ip)
    return IPAMPool(subnet=str(net), gateway=gateway, ip_range=ip_range,
                    aux_addresses=aux, user_configured=True)


def build_pools(subnets: list[str], gateways: list[str], ip_ranges: list[str],
                aux_addresses: dict[str, str], *, network_name: str = "") -> list[IPAMPool]:
    """Turn ``network create`` IPAM flags into pools, with Docker's checks and messages.

    CLI-side errors (consolidation) carry ``from_daemon=False``; daemon-side ones (a subnet
    that is not a CIDR, ...) the default. A subnet written with host bits (10.1.0.5/24) is
    accepted, as Docker 20.10 does, and stored masked (10.1.0.0/24: the pool Docker allocates
    from). Gateway is "" when not given: ``finalize_pool`` fills it. IPv4 pools come first
    (Docker lists v4 configs before v6 ones).
    """
    configs = _consolidate(subnets, gateways, ip_ranges, aux_addresses)
    for subnet in configs:  # daemon getIpamConfig: every subnet parsed before anything else
        _network(subnet)
    pools = [_daemon_pool(s, cfg, network_name) for s, cfg in configs.items()]
    return sorted(pools, key=lambda p: p.is_ipv6)


# ---------------------------------------------------------------- pool geometry

def _dynamic_bounds(net: IPNet, ip_range: str) -> tuple[int, int]:
    """Inclusive integer bounds of the dynamic range: the ip-range, or the whole subnet.

    Docker computes the range's host part within the subnet, so a range larger than its
    subnet means the whole subnet.
    """
    whole = (int(net.network_address), int(net.broadcast_address))
    if not ip_range:
        return whole
    try:
        rng = _go_parse_cidr(ip_range)[1]
    except ValueError:
        raise InvalidArgument(
            f'failed to parse pool request for address space "{ADDRESS_SPACE_LOCAL}" pool '
            f'"{net}" subpool "{ip_range}": Invalid Address SubPool') from None
    if rng.version != net.version or not rng.overlaps(net):
        raise InvalidArgument(f"invalid ip-range {ip_range}: parent subnet {net} doesn't contain ip-range")
    if rng.prefixlen <= net.prefixlen:
        return whole
    return int(rng.network_address), int(rng.broadcast_address)


def _base_reserved(net: IPNet) -> set[int]:
    """Never handed out: the network address (v4 and v6) and the v4 broadcast address."""
    reserved = {int(net.network_address)}
    if net.version == 4:
        reserved.add(int(net.broadcast_address))
    return reserved


def _first_free(lo: int, hi: int, taken: set[int]) -> int | None:
    return next((i for i in range(lo, hi + 1) if i not in taken), None)


@dataclass(frozen=True)
class _Geometry:
    net: IPNet
    lo: int                       # dynamic range, inclusive
    hi: int
    reserved: frozenset[int]      # network, v4 broadcast, gateway, aux
    reserved_in_range: int

    def addr(self, value: int) -> IPAddr:
        return type(self.net.network_address)(value)


@functools.lru_cache(maxsize=512)
def _geometry_of(subnet: str, gateway: str, ip_range: str, aux: tuple[str, ...]) -> _Geometry:
    net = _network(subnet)
    lo, hi = _dynamic_bounds(net, ip_range)
    reserved = _base_reserved(net)
    # An empty gateway means Docker's default one, which libnetwork always reserves.
    gw = _parse_host(gateway) if gateway else None
    gw_int = int(gw) if gw is not None and gw in net else _first_free(lo, hi, reserved)
    if gw_int is not None:
        reserved.add(gw_int)
    for value in aux:
        ip = _parse_host(value)
        if ip is not None and ip.version == net.version and ip in net:
            reserved.add(int(ip))
    in_range = sum(1 for r in reserved if lo <= r <= hi)
    return _Geometry(net, lo, hi, frozenset(reserved), in_range)


def _geometry(pool: IPAMPool) -> _Geometry:
    return _geometry_of(pool.subnet, pool.gateway, pool.ip_range,
                        tuple(pool.aux_addresses.values()))


def _claim(taken: set[int], value: int, size: int) -> str | None:
    """libnetwork ``getAddress`` for a preferred address: the error text, or None when taken."""
    if len(taken) >= size:
        return ERR_NO_ADDRESSES
    if value in taken:
        return ERR_ADDRESS_IN_USE
    taken.add(value)
    return None


def _reserve_gateway(pool: IPAMPool, net: IPNet, lo: int, hi: int, taken: set[int]) -> IPAddr:
    """The gateway request of ``ipamAllocateVersion``: the user's, or the first free one of
    the dynamic range; added to ``taken``."""
    size = net.num_addresses
    if pool.gateway:
        gw = _parse_host(pool.gateway)
        if gw is None or gw.version != net.version or gw not in net:
            raise InvalidArgument(f"failed to allocate gateway ({pool.gateway}): {ERR_OUT_OF_RANGE}")
        error = _claim(taken, int(gw), size)
    else:
        first = _first_free(lo, hi, taken) if len(taken) < size else None
        gw = type(net.network_address)(first) if first is not None else None
        error = ERR_NO_ADDRESSES if first is None else _claim(taken, first, size)
    if error or gw is None:
        raise InvalidArgument(f"failed to allocate gateway ({pool.gateway}): {error}")
    return gw


def finalize_pool(pool: IPAMPool, *, network_name: str = "") -> IPAMPool:
    """Reserve gateway and aux addresses as libnetwork does at network creation.

    Returns a copy with the subnet/ip-range masked and the gateway filled in: the first free
    address of the dynamic range (x.x.x.1, or the ip-range's first address) when none was
    given. The input pool is left as is, so a caller can keep the user's config for display
    (Docker 20.10's inspect shows no Gateway for ``--subnet`` alone).
    """
    net = _network(pool.subnet)
    lo, hi = _dynamic_bounds(net, pool.ip_range)
    taken = _base_reserved(net)
    gw = _reserve_gateway(pool, net, lo, hi, taken)
    size = net.num_addresses
    for key, value in pool.aux_addresses.items():
        ip = _parse_host(value)
        if ip is None:
            raise InvalidArgument(f"non parsable secondary ip address ({key}:{value}) "
                                  f"passed for network {network_name}")
        if ip.version != net.version or ip not in net:
            # sic: libnetwork's spelling
            raise InvalidArgument(f"auxilairy address: ({key}:{value}) must belong to the master pool: {net}")
        error = _claim(taken, int(ip), size)
        if error:
            raise InvalidArgument(f"failed to allocate secondary ip address ({key}:{value}): {error}")
    ip_range = str(_go_parse_cidr(pool.ip_range)[1]) if pool.ip_range else ""
    return dataclasses.replace(pool, subnet=str(net), gateway=str(gw), ip_range=ip_range,
                               aux_addresses=dict(pool.aux_addresses))


# ---------------------------------------------------------------- subnet selection

def _used_networks(used: list[str], version: int) -> list[IPNet]:
    """Parse 'used' entries (CIDRs, host addresses, 'addr/len' of interfaces).

    Unparsable entries and default routes (/0) are ignored: Docker's route check skips routes
    without a destination, and a /0 would make every pool 'overlap'.
    """
    nets: list[IPNet] = []
    for text in used:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if net.version == version and net.prefixlen > 0:
            nets.append(net)
    return nets


def choose_subnet(used: list[str], *, v6: bool = False) -> str:
    """The first default pool overlapping none of ``used`` (other networks' subnets, host
    routes and addresses, host nameservers). Docker 20.10 has no default IPv6 pools."""
    if v6:
        raise Unavailable(ERR_NO_DEFAULT_POOL.format(6))
    taken = _used_networks(used, 4)
    for candidate in DEFAULT_POOLS_V4:
        net = ipaddress.ip_network(candidate)
        if not any(net.overlaps(u) for u in taken):
            return candidate
    raise Unavailable(ERR_NO_DEFAULT_POOL.format(4))


def check_overlap(pools: list[IPAMPool], used: list[str]) -> None:
    """Conflict (Docker's ``ErrPoolOverlap``) if any pool overlaps any used subnet."""
    for pool in pools:
        net = _network(pool.subnet)
        if any(net.overlaps(u) for u in _used_networks(used, net.version)):
            raise Conflict(ERR_POOL_OVERLAP)


def host_address_in_pool(pool: IPAMPool, ip: str) -> bool:
    """True if ``ip`` ('a.b.c.d' or 'a.b.c.d/nn') is inside the pool's subnet and is neither
    its network address nor (IPv4) its broadcast address."""
    addr = _parse_host(ip)
    net = _network(pool.subnet)
    if addr is None or addr.version != net.version or addr not in net:
        return False
    return int(addr) not in _base_reserved(net)


def with_prefix(pool: IPAMPool, address: str) -> str:
    """'172.18.0.2' -> '172.18.0.2/16' (what inspect shows as IPv4Address)."""
    return f"{address.partition('/')[0]}/{_network(pool.subnet).prefixlen}"


def mac_from_ipv4(ip: str) -> str:
    """Docker's generated MAC: 02:42 followed by the four IPv4 bytes (172.18.0.2 ->
    02:42:ac:12:00:02)."""
    addr = ipaddress.IPv4Address(ip.partition("/")[0])
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


# ---------------------------------------------------------------- AddressSpace

@dataclass
class _PoolState:
    net: IPNet
    allocated: dict[int, str]     # address -> owner (endpoint id)
    last: int | None = None       # last dynamically handed-out address

    def addr(self, value: int) -> str:
        return str(type(self.net.network_address)(value))


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
    def from_dict(cls, data: dict[str, Any] | None, pools: list[IPAMPool], *,
                  name: str = "", network_id: str = "") -> "AddressSpace":
        """Load state written by ``to_dict`` (None = a fresh network). Raises StateCorrupt."""
        space = cls(name=name, network_id=network_id)
        for pool in pools:
            space._state(pool)
        if data is None:
            return space
        try:
            if int(data.get("version", SCHEMA_VERSION)) > SCHEMA_VERSION:
                raise StateCorrupt(f"IPAM state version {data['version']} is newer than this pynet")
            for key, entry in data.get("pools", {}).items():
                space._load_pool(key, entry)
        except (AttributeError, TypeError, ValueError, KeyError, InvalidArgument) as err:
            raise StateCorrupt(f"corrupt IPAM state: {err}") from None
        return space

    def _load_pool(self, key: str, entry: dict[str, Any]) -> None:
        state = self._state_for(key)
        for text, owner in entry.get("allocated", {}).items():
            addr = ipaddress.ip_address(text)
            if addr.version != state.net.version or addr not in state.net:
                raise ValueError(f"{text} is not in {key}")
            state.allocated[int(addr)] = str(owner)
        last = entry.get("last")
        state.last = int(ipaddress.ip_address(last)) if last else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (addresses sorted, so files diff nicely)."""
        pools = {}
        for key, st in self._pools.items():
            pools[key] = {
                "allocated": {st.addr(i): st.allocated[i] for i in sorted(st.allocated)},
                "last": st.addr(st.last) if st.last is not None else None,
            }
        return {"version": SCHEMA_VERSION, "pools": pools}

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

    def allocate_from(self, pools: list[IPAMPool], owner: str, preferred: str | None = None,
                      *, v6: bool = False) -> tuple[IPAMPool, str]:
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
        return [st.addr(i) for st in self._pools.values()
                for i, o in sorted(st.allocated.items()) if o == owner]

    def count(self) -> int:
        """Number of allocated addresses (gateway and aux not counted)."""
        return sum(len(st.allocated) for st in self._pools.values())


def _not_in_subnets(ip: IPAddr | None, preferred: str) -> InvalidArgument:
    shown = str(ip) if ip is not None else preferred
    return InvalidArgument(f"Invalid address {shown}: It does not belong to any of this network's subnets")


def host_in_subnet(pool: IPAMPool, ip: str) -> bool:
    """True if ``ip`` lies inside the pool's subnet (network/broadcast included)."""
    addr = _parse_host(ip)
    net = _network(pool.subnet)
    return addr is not None and addr.version == net.version and addr in net

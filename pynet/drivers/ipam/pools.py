"""Pool geometry, Docker's predefined pools and wording, and the helpers on one pool.

``finalize_pool`` (libnetwork ``network.ipamAllocateVersion``), ``choose_subnet`` /
``check_overlap`` (``ipamutils`` defaults, "Pool overlaps"), and Go-compatible address
parsing. Addresses are integers internally so that a /16 or an IPv6 /64 is never enumerated.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import _socket
from dataclasses import dataclass

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Union

    IPAddr = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
    IPNet = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

from pynet.records.model import IPAMPool
from pynet.errors import InvalidArgument, PoolOverlap, Unavailable


ADDRESS_SPACE_LOCAL = "LocalDefault"  # libnetwork's local address space name

# Docker's wording (libnetwork ipamapi/contract.go, endpoint.go, daemon runconfig errors).
ERR_ADDRESS_IN_USE = "Address already in use"
ERR_POOL_OVERLAP = "Pool overlaps with other one on this address space"
ERR_NO_ADDRESSES = "No available addresses on this pool"
ERR_OUT_OF_RANGE = "Requested address is out of range"
ERR_STATIC_NEEDS_SUBNET = (
    "user specified IP address is supported only when connecting to networks with user configured subnets"
)
ERR_NO_DEFAULT_POOL = (
    "could not find an available, non-overlapping IPv{} address pool among the defaults to assign to the network"
)


def _default_pools_v4() -> list[str]:
    """ipamutils' local-scope defaults: 172.17-19/16, 172.20/14, 172.24/14, 172.28/14 split
    into /16s, then 192.168.0.0/16 split into /20s."""
    pools = [f"172.{octet}.0.0/16" for octet in range(17, 32)]
    pools += [f"192.168.{third}.0/20" for third in range(0, 256, 16)]  # as text: no ipaddress work at import
    return pools


DEFAULT_POOLS_V4: list[str] = _default_pools_v4()


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
            f'"{net}" subpool "{ip_range}": Invalid Address SubPool'
        ) from None
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
    """A pool's subnet and the range its dynamic addresses come from."""

    net: IPNet
    lo: int  # dynamic range, inclusive
    hi: int
    reserved: frozenset[int]  # network, v4 broadcast, gateway, aux
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
    return _geometry_of(pool.subnet, pool.gateway, pool.ip_range, tuple(pool.aux_addresses.values()))


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
            raise InvalidArgument(
                f"non parsable secondary ip address ({key}:{value}) passed for network {network_name}"
            )
        if ip.version != net.version or ip not in net:
            # sic: libnetwork's spelling
            raise InvalidArgument(f"auxilairy address: ({key}:{value}) must belong to the master pool: {net}")
        error = _claim(taken, int(ip), size)
        if error:
            raise InvalidArgument(f"failed to allocate secondary ip address ({key}:{value}): {error}")
    ip_range = str(_go_parse_cidr(pool.ip_range)[1]) if pool.ip_range else ""
    return dataclasses.replace(
        pool, subnet=str(net), gateway=str(gw), ip_range=ip_range, aux_addresses=dict(pool.aux_addresses)
    )


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


def check_overlap(pools: list[IPAMPool], used: list[tuple[int, int, int]]) -> None:
    """PoolOverlap, a Conflict (Docker's ``ErrPoolOverlap``) if any pool overlaps any used span.

    ``used``: the other subnets as integer spans (:func:`subnet_spans`), not ``ip_network``
    objects: one check per existing network stays well under a microsecond, and a caller
    that keeps them (the network summary) parses none per command.
    """
    for pool in pools:
        net = _network(pool.subnet)
        version, lo, hi = net.version, int(net.network_address), int(net.broadcast_address)
        if any(v == version and a <= hi and lo <= b for v, a, b in used):
            raise PoolOverlap(ERR_POOL_OVERLAP)


#: the span of an entry that is not an address: it overlaps nothing (version 0)
NO_SPAN = (0, 1, 0)


def subnet_spans(used: list[str]) -> list[tuple[int, int, int]]:
    """(version, first, last) of each used entry ('addr' or 'addr/len'), as in _used_networks;
    an entry that is not an address gives :data:`NO_SPAN`."""
    return [_span(text) or NO_SPAN for text in used]


def _span(text: str) -> tuple[int, int, int] | None:
    """(version, first, last) of a used entry ('addr' or 'addr/len'), as in _used_networks."""
    addr, _, plen = text.strip().partition("/")
    # inet_pton is ~6x faster than ip_address (one call per existing network on every
    # create); what it refuses (an IPv6 scope, junk) takes the exact path.
    v6 = ":" in addr
    try:
        value = int.from_bytes(_socket.inet_pton(_socket.AF_INET6 if v6 else _socket.AF_INET, addr), "big")
        version, bits = (6, 128) if v6 else (4, 32)
    except OSError:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return None
        value, version, bits = int(ip), ip.version, ip.max_prefixlen
    try:
        length = int(plen) if plen else bits
    except ValueError:
        return None
    if not 0 < length <= bits:
        return None
    host = (1 << (bits - length)) - 1
    return version, value & ~host, value | host


def with_prefix(pool: IPAMPool, address: str) -> str:
    """'172.18.0.2' -> '172.18.0.2/16' (what inspect shows as IPv4Address)."""
    return f"{address.partition('/')[0]}/{_network(pool.subnet).prefixlen}"


def mac_from_ipv4(ip: str) -> str:
    """Docker's generated MAC: 02:42 followed by the four IPv4 bytes (172.18.0.2 ->
    02:42:ac:12:00:02)."""
    addr = ipaddress.IPv4Address(ip.partition("/")[0])
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


def host_in_subnet(pool: IPAMPool, ip: str) -> bool:
    """True if ``ip`` lies inside the pool's subnet (network/broadcast included)."""
    addr = _parse_host(ip)
    net = _network(pool.subnet)
    return addr is not None and addr.version == net.version and addr in net

"""Cluster-wide IPAM: the registry of overlay networks and their addresses, in etcd.

``ClusterIPAM`` is the ``IPAM`` the core uses for a driver that allocates addresses
cluster-wide (``drivers.base.AddressAllocator``: overlay); the functions below are what that
driver calls.

Every write is one etcd transaction guarded by what was read just before (optimistic
concurrency): two hosts creating networks, or running containers, at the same moment
both read, both try, one wins, the other reads again and picks something else. So
network names, VNIs and subnets are unique cluster-wide and no address is handed out
twice. Keys: see the layout at the end of ``pynet.state.etcd``.

- networks: ``/pynet/seq/networks`` is bumped by every create/remove, and each of them
  compares it, so network creations/removals are serialised cluster-wide;
- addresses: ``/pynet/ipam/<net>/<ip>`` is created only if absent (and the network still
  exists); ``/pynet/netrev/<net>`` is bumped with it, so a removal racing an allocation
  sees the change and re-checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.drivers.base import AddressAllocator

from pynet.drivers.ipam.base import IPAM, PoolRequest
from pynet.drivers.ipam.consolidate import build_pools
from pynet.drivers.ipam.pools import check_overlap, finalize_pool, subnet_spans, with_prefix
from pynet.records.model import Endpoint, IPAMPool, Network, to_dict
from pynet.records.undo import UndoLog
from pynet.errors import Conflict, Forbidden, InvalidArgument, NotFound, Unavailable
from pynet.state import etcd as kv
from pynet.state.etcd import Etcd

VNI_MIN, VNI_MAX = 4096, (1 << 24) - 1  # Docker's overlay VNI range
DEFAULT_POOL, DEFAULT_PREFIX = "10.0.0.0/8", 24  # Docker's default overlay pool
VNI_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
MAX_TRIES = 64
#: per-host facts that must not travel to the other nodes with the network record
LOCAL_KEYS = ("peers", "mtu")


# -- pure choices ------------------------------------------------------------------------
def choose_vni(used: set[int]) -> int:
    """The lowest free VNI from 4096 (as Docker's overlay manager)."""
    vni = VNI_MIN
    while vni in used:
        vni += 1
    if vni > VNI_MAX:
        raise Unavailable("no VXLAN IDs left (4096-16777215 are all in use)")
    return vni


def choose_subnet(used: list[str], pool: str = DEFAULT_POOL, prefix: int = DEFAULT_PREFIX) -> str:
    """The first /24 of 10.0.0.0/8 that overlaps nothing in ``used``."""
    taken = [ipaddress.ip_network(u, strict=False) for u in used if ":" not in u]
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    raise Unavailable(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )


def network_record(net: Network) -> dict[str, Any]:
    """The Network as stored in etcd: without this host's own facts."""
    record = to_dict(net)
    record["driver_data"] = {k: v for k, v in net.driver_data.items() if k not in LOCAL_KEYS}
    return record


def address_candidates(pool: IPAMPool) -> Iterator[str]:
    """Addresses of ``pool`` that may be handed out, lowest first (lazily: v6 pools are big)."""
    net = ipaddress.ip_network(pool.subnet, strict=False)
    span = ipaddress.ip_network(pool.ip_range, strict=False) if pool.ip_range else net
    reserved = {str(net.network_address), pool.gateway, *pool.aux_addresses.values()}
    if net.version == 4:
        reserved.add(str(net.broadcast_address))
    for ip in span:
        text = str(ip)
        if text not in reserved:
            yield text


# -- networks ----------------------------------------------------------------------------
def register_network(store: Etcd, net: Network, *, host_used: list[str]) -> None:
    """Reserve name, VNI and (unless given) a subnet cluster-wide; store the record.

    Fills ``net.ipam_config`` (when empty), ``net.driver_data["vni"]`` and the VNI option.
    """
    given = list(net.ipam_config)
    wanted_vni = _wanted_vni(net)
    for _ in range(MAX_TRIES):
        (seq, records), _rev = store.read_many([kv.range_op(kv.SEQ_NETWORKS), kv.range_op(kv.NETWORKS, prefix=True)])
        others = [r for r in (x.json() for x in records) if isinstance(r, dict)]
        _check_name(net, others)
        vni = _pick_vni(wanted_vni, others)
        net.ipam_config = given or [_default_pool(others, host_used)]
        check_overlap(net.ipam_config, subnet_spans(_subnets(others)))
        net.driver_data["vni"] = vni
        net.options[VNI_OPTION] = str(vni)
        seq_rev = seq[0].mod_revision if seq else 0
        ok, _, _ = store.txn(
            [kv.if_mod(kv.SEQ_NETWORKS, seq_rev)],
            [kv.put_op(kv.SEQ_NETWORKS, net.id), kv.put_op(kv.network_key(net.id), network_record(net))],
        )
        if ok:
            return
    raise Unavailable(f"could not register network {net.name}: the cluster store stayed too busy")


def _wanted_vni(net: Network) -> int | None:
    text = (net.options.get(VNI_OPTION) or "").split(",")[0].strip()
    if not text:
        return None
    try:
        vni = int(text)
    except ValueError:
        raise InvalidArgument(f"invalid VXLAN ID {text!r} in {VNI_OPTION}") from None
    if not 1 <= vni <= VNI_MAX:
        raise InvalidArgument(f"invalid VXLAN ID {vni}: must be between 1 and {VNI_MAX}")
    return vni


def _check_name(net: Network, others: list[dict[str, Any]]) -> None:
    if any(o.get("name") == net.name and o.get("id") != net.id for o in others):
        raise Conflict(f"network with name {net.name} already exists")


def _pick_vni(wanted: int | None, others: list[dict[str, Any]]) -> int:
    used = {int(o.get("driver_data", {}).get("vni", 0)): o.get("name", "") for o in others}
    if wanted is None:
        return choose_vni(set(used))
    if wanted in used:
        raise Conflict(f"VXLAN ID {wanted} is already used by network {used[wanted]}")
    return wanted


def _subnets(records: list[dict[str, Any]]) -> list[str]:
    return [p["subnet"] for r in records for p in r.get("ipam_config", []) if p.get("subnet")]


def _default_pool(others: list[dict[str, Any]], host_used: list[str]) -> IPAMPool:
    subnet = choose_subnet(_subnets(others) + host_used)
    gateway = str(next(ipaddress.ip_network(subnet).hosts()))
    return IPAMPool(subnet=subnet, gateway=gateway)


def unregister_network(store: Etcd, net: Network) -> None:
    """Remove the network cluster-wide; Forbidden while any node has endpoints on it."""
    for _ in range(MAX_TRIES):
        (rev, addresses, present), _ = store.read_many(
            [
                kv.range_op(kv.netrev_key(net.id)),
                kv.range_op(kv.ipam_prefix(net.id), prefix=True, keys_only=True),
                kv.range_op(kv.network_key(net.id), keys_only=True),
            ]
        )
        if not present:
            return  # already gone (removed from another host)
        if addresses:
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} has active endpoints")
        ok, _, _ = store.txn(
            [kv.if_mod(kv.netrev_key(net.id), rev[0].mod_revision if rev else 0)],
            [
                kv.delete_op(kv.network_key(net.id)),
                kv.delete_op(kv.netrev_key(net.id)),
                kv.delete_op(kv.endpoints_prefix(net.id), prefix=True),
                kv.delete_op(kv.ipam_prefix(net.id), prefix=True),
                kv.put_op(kv.SEQ_NETWORKS, net.id),
            ],
        )
        if ok:
            return
    raise Unavailable(f"could not remove network {net.name}: the cluster store stayed too busy")


def network_in_use(store: Etcd, network_id: str) -> bool:
    """True while any node holds an address on the network."""
    found, _ = store.range(kv.ipam_prefix(network_id), keys_only=True)
    return bool(found)


# -- addresses ---------------------------------------------------------------------------
def allocate(store: Etcd, net: Network, ep: Endpoint, node: str, preferred_v4: str, preferred_v6: str) -> None:
    """Give ``ep`` an address from each family's pools, unique cluster-wide."""
    v4 = [p for p in net.ipam_config if not p.is_ipv6]
    v6 = [p for p in net.ipam_config if p.is_ipv6]
    if v4:
        pool, ip = _allocate_family(store, net, v4, ep.id, node, preferred_v4)
        ep.ipv4, ep.gateway = with_prefix(pool, ip), pool.gateway
    if net.enable_ipv6 and v6:
        pool, ip = _allocate_family(store, net, v6, ep.id, node, preferred_v6)
        ep.ipv6, ep.gateway6 = with_prefix(pool, ip), pool.gateway


def _allocate_family(
    store: Etcd, net: Network, pools: list[IPAMPool], ep_id: str, node: str, preferred: str
) -> tuple[IPAMPool, str]:
    if preferred:
        addr = ipaddress.ip_address(preferred)
        for pool in pools:
            if addr in ipaddress.ip_network(pool.subnet, strict=False):
                if not _claim(store, net, str(addr), ep_id, node):
                    raise Conflict("Address already in use")
                return pool, str(addr)
        raise InvalidArgument(f"Invalid address {preferred}: It does not belong to any of this network's subnets")
    for _ in range(MAX_TRIES):
        found, _ = store.range(kv.ipam_prefix(net.id), keys_only=True)
        used = {x.key.rsplit("/", 1)[1] for x in found}
        pick = _first_free(pools, used)
        if pick is None:
            family = "IPv6" if pools[0].is_ipv6 else "IPv4"
            raise Unavailable(f"no available {family} addresses on this network's address pools: {net.name} ({net.id})")
        if _claim(store, net, pick[1], ep_id, node):
            return pick
    raise Unavailable(f"could not allocate an address on {net.name}: the cluster store stayed too busy")


def _first_free(pools: list[IPAMPool], used: set[str]) -> tuple[IPAMPool, str] | None:
    for pool in pools:
        for ip in address_candidates(pool):
            if ip not in used:
                return pool, ip
    return None


def _claim(store: Etcd, net: Network, ip: str, ep_id: str, node: str) -> bool:
    """Take ``ip`` for ``ep_id`` if nobody has it; NotFound when the network is gone."""
    key = kv.ipam_key(net.id, ip)
    ok, _, _ = store.txn(
        [kv.if_present(kv.network_key(net.id)), kv.if_absent(key)],
        [kv.put_op(key, {"endpoint": ep_id, "node": node}), kv.put_op(kv.netrev_key(net.id), ep_id)],
        [kv.range_op(kv.network_key(net.id), keys_only=True)],
    )
    if ok:
        return True
    if store.get(kv.network_key(net.id)) is None:
        raise NotFound(f"network {net.name} not found")
    return False


# -- endpoints (the peers other hosts program) -------------------------------------------------
def register_endpoint(store: Etcd, net: Network, node: str, record: dict[str, Any]) -> None:
    key = kv.endpoint_key(net.id, node, record["id"])
    ok, _, _ = store.txn([kv.if_present(kv.network_key(net.id))], [kv.put_op(key, record)])
    if not ok:
        raise NotFound(f"network {net.name} not found")


# -- the IPAM interface ------------------------------------------------------------------------
class ClusterIPAM(IPAM):
    """Addresses from ``driver`` (unique cluster-wide); pools from ``plugin`` when the network
    names an IPAM plugin, else the create flags checked against this host's networks (the
    driver picks a default subnet from the cluster's pool when registering the network)."""

    def __init__(self, driver: AddressAllocator, plugin: IPAM | None = None) -> None:
        self.driver, self.plugin = driver, plugin

    def request_pools(self, req: PoolRequest, net: Network, undo: UndoLog) -> list[IPAMPool]:
        if self.plugin is not None:
            return self.plugin.request_pools(req, net, undo)
        pools = build_pools(req.subnets, req.gateways, req.ip_ranges, req.aux_addresses)
        check_overlap(pools, req.used_spans())
        return [finalize_pool(p) for p in pools]

    def assign(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
        undo.add(
            {"kind": "driver", "driver": net.driver, "what": "addresses", "network_id": net.id, "endpoint_id": ep.id}
        )
        self.driver.allocate_addresses(net, ep, preferred_v4, preferred_v6)

    def release_endpoint(self, net: Network, ep: Endpoint) -> None:
        self.driver.release_addresses(net, ep)

    def release_network(self, net: Network) -> None:
        if self.plugin is not None:
            self.plugin.release_network(net)

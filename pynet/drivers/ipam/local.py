"""Docker's default IPAM (``--ipam-driver default``): pools and addresses on this host.

Pools: ``build_pools`` (the create flags, ``consolidate.py``), ``check_overlap`` and
``choose_subnet`` among Docker's predefined pools, ``finalize_pool`` (``pools.py``).
Addresses: the network's ``AddressSpace`` (``space.py``), which the caller loads from and
stores back into its state transaction — this module does no I/O.
"""

from __future__ import annotations

import ipaddress

from pynet.drivers.ipam.base import IPAM, PoolRequest
from pynet.drivers.ipam.consolidate import build_pools
from pynet.drivers.ipam.pools import check_overlap, choose_subnet, finalize_pool, with_prefix
from pynet.drivers.ipam.space import AddressSpace
from pynet.errors import InvalidArgument, Unavailable
from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.records.undo import UndoLog


class LocalIPAM(IPAM):
    """The default IPAM; ``space`` is the network's allocator state (None: not loaded)."""

    def __init__(self, space: AddressSpace | None = None) -> None:
        self.space = space

    def request_pools(self, req: PoolRequest, net: Network, undo: UndoLog) -> list[IPAMPool]:
        pools = build_pools(req.subnets, req.gateways, req.ip_ranges, req.aux_addresses)
        for pool in pools:
            # Docker shows a Gateway for --subnet only when --gateway was given too.
            pool.show_gateway = bool(pool.gateway)
        check_overlap(pools, req.used_spans())
        need_v4 = not any(not p.is_ipv6 for p in pools)
        need_v6 = req.enable_ipv6 and not any(p.is_ipv6 for p in pools)
        if need_v4 or need_v6:
            # Only a pool pynet picks must avoid the host's routes (as Docker): reading them
            # costs O(routes), so `--subnet` creates skip it.
            used = req.used_subnets() + req.host_subnets()
        if need_v4:
            pools.insert(0, IPAMPool(subnet=choose_subnet(used)))
        if need_v6:
            pools.append(IPAMPool(subnet=choose_subnet(used, v6=True)))
        if not req.enable_ipv6 and any(p.is_ipv6 for p in pools):
            raise InvalidArgument("IPv6 subnet given without --ipv6: add --ipv6 to enable IPv6 on this network")
        return [finalize_pool(p) for p in pools]

    def assign(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
        space = self._space(net)
        v4 = [p for p in net.ipam_config if not p.is_ipv6]
        v6 = [p for p in net.ipam_config if p.is_ipv6]
        if v4:
            pool, address = _allocate(space, v4, ep.id, preferred_v4, net)
            ep.ipv4, ep.gateway = with_prefix(pool, address), pool.gateway
        if net.enable_ipv6 and v6:
            pool, address = _allocate(space, v6, ep.id, preferred_v6, net)
            ep.ipv6, ep.gateway6 = with_prefix(pool, address), pool.gateway

    def release_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Nothing here: the caller releases the addresses its membership record names
        (``release_addresses``), which also covers an endpoint whose record is gone."""

    def release_addresses(self, net: Network, addresses: list[str]) -> None:
        """Give ``addresses`` back to the network's space."""
        space = self._space(net)
        for address in addresses:
            space.release_address(address)

    def release_network(self, net: Network) -> None:
        """Nothing to give back: the pools die with the network's state."""

    def _space(self, net: Network) -> AddressSpace:
        if self.space is None:
            self.space = AddressSpace.from_dict(None, net.ipam_config)
        return self.space


def _allocate(
    space: AddressSpace, pools: list[IPAMPool], owner: str, preferred: str, net: Network
) -> tuple[IPAMPool, str]:
    if preferred:
        addr = ipaddress.ip_address(preferred)
        for pool in pools:
            if addr in ipaddress.ip_network(pool.subnet, strict=False):
                return pool, space.allocate(pool, owner, preferred)
        raise InvalidArgument(f"Invalid address {preferred}: It does not belong to any of this network's subnets")
    last_error: Exception | None = None
    for pool in pools:
        try:
            return pool, space.allocate(pool, owner)
        except Unavailable as exc:
            last_error = exc
    family = "IPv6" if pools[0].is_ipv6 else "IPv4"
    raise Unavailable(
        f"no available {family} addresses on this network's address pools: {net.name} ({net.id})"
    ) from last_error

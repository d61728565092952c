"""Networks whose addresses come from an IPAM plugin (``network create --ipam-driver NAME``).

libnetwork's flow (``libnetwork/docs/ipam.md``): on network create, one RequestPool per
configured subnet (one with no subnet when none was given: the plugin chooses), then the
gateway (``RequestAddressType: com.docker.network.gateway``) unless the pool's Data
names one, then each aux address; on endpoint create one RequestAddress per family; on
delete the reverse. Every request logs its release in the undo log first thing after the
plugin answered, so a failed command gives everything back.
"""

from __future__ import annotations

import ipaddress

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.cnm import ipam
from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.records.undo import UndoLog
from pynet.errors import InvalidArgument, PynetError

#: ``net.driver_data`` key: subnet (CIDR) -> the plugin's pool id
POOL_IDS = "ipam_pool_ids"
_GATEWAY_DATA = "com.docker.network.gateway"


def is_plugin(ipam_driver: str) -> bool:
    """True when ``--ipam-driver`` names a plugin (not Docker's built-in ``default``)."""
    return ipam_driver not in ("", "default")


def uses_plugin(net: Network) -> bool:
    return bool(net.driver_data.get(POOL_IDS))


def _driver(name: str) -> Any:
    from pynet.drivers.remote_ipam import RemoteIPAM

    return RemoteIPAM(name)


def request_pools(req: Any, net: Network, undo: UndoLog) -> list[IPAMPool]:
    """The network's pools, gateways and aux addresses, from plugin ``req.ipam_driver``."""
    from pynet.drivers.remote_ipam import GATEWAY_OPTIONS

    drv = _driver(req.ipam_driver)
    asked = ipam.build_pools(req.subnets, req.gateways, req.ip_ranges, req.aux_addresses, network_name=req.name)
    if not req.enable_ipv6 and any(p.is_ipv6 for p in asked):
        raise InvalidArgument("IPv6 subnet given without --ipv6: add --ipv6 to enable IPv6 on this network")
    wanted = [(p, p.is_ipv6) for p in asked]
    if not any(not v6 for _p, v6 in wanted):
        wanted.insert(0, (IPAMPool(subnet=""), False))
    if req.enable_ipv6 and not any(v6 for _p, v6 in wanted):
        wanted.append((IPAMPool(subnet=""), True))
    ids: dict[str, str] = {}
    pools = []
    for asked_pool, v6 in wanted:
        pool_id, cidr, data = drv.request_pool(asked_pool.subnet, asked_pool.ip_range, net.ipam_options, v6, undo=undo)
        ids[cidr] = pool_id
        gateway = "" if asked_pool.gateway else data.get(_GATEWAY_DATA, "").split("/")[0]
        if not gateway:
            try:
                gateway = drv.request_address(pool_id, asked_pool.gateway, GATEWAY_OPTIONS, undo=undo).split("/")[0]
            except PynetError as exc:
                raise type(exc)(f"failed to allocate gateway ({asked_pool.gateway}): {exc.message}") from None
        for name, addr in asked_pool.aux_addresses.items():
            try:
                drv.request_address(pool_id, addr, {}, undo=undo)
            except PynetError as exc:
                raise type(exc)(f"failed to allocate secondary ip address ({name}:{addr}): {exc.message}") from None
        pools.append(
            IPAMPool(
                subnet=cidr,
                gateway=gateway,
                ip_range=asked_pool.ip_range,
                aux_addresses=dict(asked_pool.aux_addresses),
                user_configured=bool(asked_pool.subnet),
                show_gateway=bool(asked_pool.gateway) or not asked_pool.subnet,
            )
        )
    net.driver_data[POOL_IDS] = ids
    net.driver_data["address_space"] = drv.get_default_address_spaces()[0]  # sent to remote drivers
    return pools


def assign(net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
    """Set ``ep.ipv4``/``ep.gateway`` (and v6) from the plugin."""
    drv = _driver(net.ipam_driver)
    ids = net.driver_data[POOL_IDS]
    for v6, preferred in ((False, preferred_v4), (True, preferred_v6)):
        pools = [p for p in net.ipam_config if p.is_ipv6 == v6]
        if not pools or (v6 and not net.enable_ipv6):
            continue
        pool = _pool_for(pools, preferred)
        address = drv.request_address(ids[pool.subnet], preferred, {}, undo=undo)
        if v6:
            ep.ipv6, ep.gateway6 = address, pool.gateway
        else:
            ep.ipv4, ep.gateway = address, pool.gateway


def _pool_for(pools: list[IPAMPool], preferred: str) -> IPAMPool:
    if not preferred:
        return pools[0]
    addr = ipaddress.ip_address(preferred)
    for pool in pools:
        if addr in ipaddress.ip_network(pool.subnet, strict=False):
            return pool
    raise InvalidArgument(f"Invalid address {preferred}: It does not belong to any of this network's subnets")


def release_endpoint(net: Network, ep: Endpoint) -> None:
    """Give the endpoint's addresses back (errors are ignored, as Docker only logs them)."""
    drv = _driver(net.ipam_driver)
    for address in (ep.ipv4, ep.ipv6):
        pool_id = _pool_id_of(net, address)
        if pool_id:
            _quietly(drv.release_address, pool_id, address)


def release_network(net: Network) -> None:
    """Gateway and aux addresses, then the pools, back to the plugin."""
    drv = _driver(net.ipam_driver)
    ids = net.driver_data.get(POOL_IDS) or {}
    for pool in net.ipam_config:
        pool_id = ids.get(pool.subnet)
        if not pool_id:
            continue
        for address in [pool.gateway, *pool.aux_addresses.values()]:
            if address:
                _quietly(drv.release_address, pool_id, address)
        _quietly(drv.release_pool, pool_id)


def _pool_id_of(net: Network, address: str) -> str:
    if not address:
        return ""
    ip = ipaddress.ip_interface(address).ip
    for subnet, pool_id in (net.driver_data.get(POOL_IDS) or {}).items():
        if ip in ipaddress.ip_network(subnet):
            return pool_id
    return ""


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except PynetError:
        pass

"""Remote IPAM (``--ipam-driver NAME``): Docker's ``/IpamDriver.*`` plugin protocol.

``RemoteIPAM`` is the proxy for one plugin; ``PluginIPAM`` is the ``IPAM`` the core uses for
a network whose ``ipam_driver`` is a plugin. libnetwork's flow (``docs/ipam.md``):

* network create: ``request_pool`` per configured subnet (one empty request when none
  was given), then the gateway with ``request_address(pool, gw, GATEWAY_OPTIONS)``, then
  each aux address;
* endpoint create: ``request_address(pool, preferred or "", {})``;
* endpoint delete: ``release_address``; network delete: gateway and aux addresses, then
  ``release_pool``.

Each ``request_*`` takes an optional undo log and records the matching release as soon
as the plugin has answered, so a failure later in the command gives everything back.
"""

from __future__ import annotations

import ipaddress

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.drivers import plugins
from pynet.drivers.ipam.base import IPAM, PoolRequest
from pynet.drivers.ipam.consolidate import build_pools
from pynet.firewall.hooks import NOTICES
from pynet.errors import InvalidArgument, PynetError, Unavailable
from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.records.undo import UndoLog

KIND = "IpamDriver"
#: ``net.driver_data`` key: subnet (CIDR) -> the plugin's pool id
POOL_IDS = "ipam_pool_ids"
_GATEWAY_DATA = "com.docker.network.gateway"
#: options libnetwork sends when it asks for a network's gateway address
GATEWAY_OPTIONS = {"RequestAddressType": "com.docker.network.gateway"}


class RemoteIPAM:
    """The proxy for IPAM plugin ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.plugin = plugins.get(name, KIND)
        self._spaces: tuple[str, str] | None = None

    def _call(self, method: str, payload: Any = None, *, optional: bool = False) -> dict[str, Any]:
        return self.plugin.client.call(f"{KIND}.{method}", payload, optional=optional)

    def _bad(self, method: str, what: str) -> Unavailable:
        return Unavailable(f'plugin "{self.name}" sent an invalid answer to {KIND}.{method}: {what}')

    # -- registration -----------------------------------------------------------------
    def get_capabilities(self) -> dict[str, Any]:
        """``{"RequiresMACAddress": bool, ...}``; optional for plugins (``{}`` if absent)."""
        return self._call("GetCapabilities", optional=True)

    def requires_mac(self) -> bool:
        return bool(self.get_capabilities().get("RequiresMACAddress"))

    def get_default_address_spaces(self) -> tuple[str, str]:
        """(local, global) default address space names."""
        if self._spaces is None:
            answer = self._call("GetDefaultAddressSpaces")
            local, glob = answer.get("LocalDefaultAddressSpace"), answer.get("GlobalDefaultAddressSpace")
            if not isinstance(local, str) or not isinstance(glob, str):
                raise self._bad(
                    "GetDefaultAddressSpaces", "expected LocalDefaultAddressSpace and GlobalDefaultAddressSpace strings"
                )
            self._spaces = (local, glob)
        return self._spaces

    # -- pools ------------------------------------------------------------------------
    def request_pool(
        self,
        subnet: str,
        ip_range: str,
        options: dict[str, str] | None,
        v6: bool,
        *,
        address_space: str = "",
        undo: UndoLog | None = None,
    ) -> tuple[str, str, dict[str, str]]:
        """Register a pool (``subnet`` may be "" = the plugin chooses); (pool id, CIDR, data)."""
        space = address_space or self.get_default_address_spaces()[0]
        answer = self._call(
            "RequestPool",
            {
                "AddressSpace": space,
                "Pool": subnet or "",
                "SubPool": ip_range or "",
                "Options": dict(options or {}),
                "V6": bool(v6),
            },
        )
        pool_id, pool, data = answer.get("PoolID"), answer.get("Pool"), answer.get("Data") or {}
        if not isinstance(pool_id, str) or not pool_id:
            raise self._bad("RequestPool", "no PoolID")
        if undo is not None:
            undo.add(plugins.undo_record(self.name, f"{KIND}.ReleasePool", {"PoolID": pool_id}))
        try:
            network = ipaddress.ip_network(str(pool), strict=False)
        except ValueError:
            raise self._bad("RequestPool", f"Pool {pool!r} is not a CIDR") from None
        if (network.version == 6) != bool(v6):
            raise self._bad("RequestPool", f"Pool {pool} is not an IPv{6 if v6 else 4} pool")
        if not isinstance(data, dict):
            raise self._bad("RequestPool", "Data is not an object")
        return pool_id, str(network), {str(k): str(v) for k, v in data.items()}

    def release_pool(self, pool_id: str) -> None:
        self._call("ReleasePool", {"PoolID": pool_id})

    # -- addresses --------------------------------------------------------------------
    def request_address(
        self, pool_id: str, preferred: str, options: dict[str, str] | None, *, undo: UndoLog | None = None
    ) -> str:
        """Reserve ``preferred`` (an IP, no prefix) or any address; the answer in CIDR form."""
        answer = self._call(
            "RequestAddress",
            {"PoolID": pool_id, "Address": (preferred or "").split("/")[0], "Options": dict(options or {})},
        )
        address = answer.get("Address")
        if not isinstance(address, str) or "/" not in address:
            raise self._bad("RequestAddress", f"Address {address!r} is not in CIDR form (A.B.C.D/MM)")
        try:
            iface = ipaddress.ip_interface(address)
        except ValueError:
            raise self._bad("RequestAddress", f"Address {address!r} is not in CIDR form (A.B.C.D/MM)") from None
        if undo is not None:
            undo.add(
                plugins.undo_record(self.name, f"{KIND}.ReleaseAddress", {"PoolID": pool_id, "Address": str(iface.ip)})
            )
        return str(iface)

    def release_address(self, pool_id: str, address: str) -> None:
        """Give back ``address`` ("a.b.c.d" or "a.b.c.d/nn")."""
        self._call("ReleaseAddress", {"PoolID": pool_id, "Address": address.split("/")[0]})


def _uses_plugin(net: Network) -> bool:
    return bool(net.driver_data.get(POOL_IDS))


class PluginIPAM(IPAM):
    """A network's pools and addresses from IPAM plugin ``net.ipam_driver``.

    Every request logs its release in the undo log first thing after the plugin answered.
    The plugin is activated at the first request, not before.
    """

    def request_pools(self, req: PoolRequest, net: Network, undo: UndoLog) -> list[IPAMPool]:
        """The network's pools, gateways and aux addresses, from plugin ``req.ipam_driver``."""
        drv = RemoteIPAM(req.ipam_driver)
        asked = build_pools(req.subnets, req.gateways, req.ip_ranges, req.aux_addresses, network_name=req.name)
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
            pool_id, cidr, data = drv.request_pool(
                asked_pool.subnet, asked_pool.ip_range, net.ipam_options, v6, undo=undo
            )
            ids[cidr] = pool_id
            gateway = _gateway(drv, pool_id, asked_pool, data, undo)
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

    def assign(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
        """Set ``ep.ipv4``/``ep.gateway`` (and v6) from the plugin."""
        drv = RemoteIPAM(net.ipam_driver)
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

    def release_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Give the endpoint's addresses back (errors are ignored, as Docker only logs them)."""
        if not _uses_plugin(net):
            return
        drv = RemoteIPAM(net.ipam_driver)
        for address in (ep.ipv4, ep.ipv6):
            pool_id = _pool_id_of(net, address)
            if pool_id:
                _quietly(drv.release_address, pool_id, address)

    def release_network(self, net: Network) -> None:
        """Gateway and aux addresses, then the pools, back to the plugin."""
        if not _uses_plugin(net):
            return
        drv = RemoteIPAM(net.ipam_driver)
        ids = net.driver_data.get(POOL_IDS) or {}
        for pool in net.ipam_config:
            pool_id = ids.get(pool.subnet)
            if not pool_id:
                continue
            for address in [pool.gateway, *pool.aux_addresses.values()]:
                if address:
                    _quietly(drv.release_address, pool_id, address)
            _quietly(drv.release_pool, pool_id)


def _gateway(drv: RemoteIPAM, pool_id: str, asked: IPAMPool, data: dict[str, str], undo: UndoLog) -> str:
    """The pool's gateway: named in the plugin's Data, else requested (libnetwork's order)."""
    gateway = "" if asked.gateway else data.get(_GATEWAY_DATA, "").split("/")[0]
    if gateway:
        return gateway
    try:
        return drv.request_address(pool_id, asked.gateway, GATEWAY_OPTIONS, undo=undo).split("/")[0]
    except PynetError as exc:
        raise type(exc)(f"failed to allocate gateway ({asked.gateway}): {exc.message}") from None


def _pool_for(pools: list[IPAMPool], preferred: str) -> IPAMPool:
    if not preferred:
        return pools[0]
    addr = ipaddress.ip_address(preferred)
    for pool in pools:
        if addr in ipaddress.ip_network(pool.subnet, strict=False):
            return pool
    raise InvalidArgument(f"Invalid address {preferred}: It does not belong to any of this network's subnets")


def _pool_id_of(net: Network, address: str) -> str:
    if not address:
        return ""
    ip = ipaddress.ip_interface(address).ip
    for subnet, pool_id in (net.driver_data.get(POOL_IDS) or {}).items():
        if ip in ipaddress.ip_network(subnet):
            return pool_id
    return ""


def _quietly(fn: Any, *args: Any) -> None:
    """A release the plugin refused: Docker logs it and goes on; pynet warns and goes on."""
    try:
        fn(*args)
    except PynetError as exc:
        NOTICES.append(f"WARNING: IPAM plugin: {exc.message}")

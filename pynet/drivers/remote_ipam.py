"""Remote IPAM drivers (``--ipam-driver NAME``): Docker's ``/IpamDriver.*`` protocol.

A small synchronous API the core calls instead of its own allocator when a network's
``ipam_driver`` is a plugin. It follows libnetwork's flow (``docs/ipam.md``):

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
from pynet.records.undo import UndoLog
from pynet.errors import Unavailable

KIND = "IpamDriver"
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

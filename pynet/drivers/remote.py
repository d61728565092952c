"""Remote network drivers: a third-party plugin speaking Docker's protocol does the work.

One ``RemoteDriver`` per plugin name; the verbs map to ``/NetworkDriver.*`` calls as in
libnetwork's ``drivers/remote``, and pynet does the sandbox side itself (the interface the
plugin names becomes ``eth<N>``). Each call that makes something is preceded by the undo
record of the call that reverses it. Protocol and differences from Docker: plugins.md.
"""

from __future__ import annotations

import ipaddress
import re

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.records.model import Endpoint, IPAMPool, Network, Sandbox
from pynet.drivers import plugins
from pynet.drivers.base import Driver
from pynet.records.undo import UndoLog
from pynet.errors import InvalidArgument, NotFound, PynetError, Unavailable
from pynet.faults import fault
from pynet.kernel import netlink

KIND = "NetworkDriver"
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class RemoteDriver(Driver):
    """The proxy for network driver plugin ``name``."""

    name = "remote"

    def __init__(self, plugin_name: str) -> None:
        self.name = plugin_name  # type: ignore[misc] - per-instance driver name
        self.plugin = plugins.get(plugin_name, KIND)
        caps = self._call("GetCapabilities")
        scope = caps.get("Scope")
        if scope not in ("local", "global"):
            raise Unavailable(f"invalid capability: expecting 'local' or 'global', got {scope}")
        self.scope = scope  # type: ignore[misc] - per-instance scope
        self.capabilities = caps

    def _call(self, method: str, payload: Any = None, *, optional: bool = False) -> dict[str, Any]:
        return self.plugin.client.call(f"{KIND}.{method}", payload, optional=optional)

    def _try(self, method: str, payload: Any) -> str:
        """A best-effort call (a rollback or a teardown step): its error text, or ""."""
        try:
            self._call(method, payload, optional=True)
        except PynetError as exc:
            return exc.message
        return ""

    def _warn(self, what: str, error: str) -> None:
        # Docker only logs driver errors on teardown; pynet tells the user on stderr.
        from pynet.firewall.hooks import NOTICES

        NOTICES.append(f'WARNING: plugin "{self.name}": {what}: {error}')

    def _undo(self, undo: UndoLog, method: str, args: dict[str, Any]) -> None:
        """Log the call that reverses the next one (the core's "driver" undo kind)."""
        undo.add(
            {"kind": "driver", "driver": self.name, "what": "plugin-call", "method": f"{KIND}.{method}", "args": args}
        )

    def undo_resource(self, resource: dict[str, Any]) -> None:
        """Roll back: make the logged reversing call (404 = nothing to undo)."""
        if resource.get("what") == "plugin-call":
            self.plugin.client.call(resource["method"], resource.get("args"), optional=True)

    # -- network ---------------------------------------------------------------------
    def create_network(self, net: Network, undo: UndoLog) -> None:
        space = net.driver_data.get("address_space") or ("GlobalDefault" if net.scope == "global" else "LocalDefault")
        request = {
            "NetworkID": net.id,
            "Options": network_options(net),
            "IPv4Data": [ipam_data(p, space) for p in net.ipam_config if not p.is_ipv6],
            "IPv6Data": [ipam_data(p, space) for p in net.ipam_config if p.is_ipv6] if net.enable_ipv6 else [],
        }
        args = {"NetworkID": net.id}
        self._undo(undo, "DeleteNetwork", args)
        try:
            self._call("CreateNetwork", request)
        except plugins.PluginError:
            raise  # the plugin refused: it made nothing
        except PynetError:
            self._try("DeleteNetwork", args)  # it may have done half of it
            raise
        net.driver_data["plugin"] = self.name

    def delete_network(self, net: Network) -> None:
        error = self._try("DeleteNetwork", {"NetworkID": net.id})
        if error:
            self._warn(f"failed to delete network {net.id}", error)

    # -- endpoint --------------------------------------------------------------------
    def create_endpoint(self, net: Network, ep: Endpoint, undo: UndoLog) -> None:
        args = {"NetworkID": net.id, "EndpointID": ep.id}
        request = {
            **args,
            "Options": dict(ep.driver_opts or {}),
            "Interface": {"Address": ep.ipv4, "AddressIPv6": ep.ipv6, "MacAddress": ep.mac},
        }
        self._undo(undo, "DeleteEndpoint", args)
        try:
            answer = self._call("CreateEndpoint", request)
        except plugins.PluginError:
            raise
        except PynetError:
            self._try("DeleteEndpoint", args)
            raise
        try:
            self._adopt_interface(ep, answer.get("Interface"))
        except PynetError as exc:
            error = self._try("DeleteEndpoint", args)
            rollback = f"failed to roll back: {error}" if error else "rolled back"
            raise type(exc)(f"{exc.message}; {rollback}") from None

    def _adopt_interface(self, ep: Endpoint, iface: Any) -> None:
        """Take the MAC the plugin chose; refuse an address other than IPAM's."""
        if not iface:
            return
        if not isinstance(iface, dict):
            raise Unavailable(
                f'plugin "{self.name}" sent an invalid answer to CreateEndpoint: Interface is not an object'
            )
        mac = iface.get("MacAddress") or ""
        if mac:
            if not isinstance(mac, str) or not _MAC_RE.match(mac):
                raise InvalidArgument(f"driver modified interface MAC address: invalid MAC address {mac!r}")
            ep.mac = mac.lower()
        for key, mine in (("Address", ep.ipv4), ("AddressIPv6", ep.ipv6)):
            theirs = iface.get(key) or ""
            if theirs and not _same_interface(theirs, mine):
                raise InvalidArgument(f"driver modified interface address: {theirs} (IPAM gave {mine or 'none'})")

    def endpoint_oper_info(self, net: Network, ep: Endpoint) -> dict[str, Any]:
        """The plugin's operational data on an endpoint (``{}`` when it has none)."""
        answer = self._call("EndpointOperInfo", {"NetworkID": net.id, "EndpointID": ep.id}, optional=True)
        value = answer.get("Value")
        return value if isinstance(value, dict) else {}

    def delete_endpoint(self, net: Network, ep: Endpoint) -> None:
        error = self._try("DeleteEndpoint", {"NetworkID": net.id, "EndpointID": ep.id})
        if error:
            self._warn(f"failed to delete endpoint {ep.id}", error)

    # -- join / leave ----------------------------------------------------------------
    def join(self, net: Network, ep: Endpoint, sandbox: Sandbox, undo: UndoLog) -> None:
        args = {"NetworkID": net.id, "EndpointID": ep.id}
        self._undo(undo, "Leave", args)
        try:
            answer = self._call(
                "Join", {**args, "SandboxKey": sandbox.netns_path, "Options": dict(ep.driver_opts or {})}
            )
        except plugins.PluginError:
            self._try("DeleteEndpoint", args)  # the core does not delete_endpoint after a failed join
            raise
        except PynetError:
            self._try("Leave", args)
            self._try("DeleteEndpoint", args)
            raise
        try:
            plan = JoinPlan.parse(self.name, answer)
            self._plumb(net, ep, sandbox, plan, undo)
        except PynetError as exc:
            src = ep.driver_data.get("src_name")
            if src:
                _quietly(netlink.link_move_to_host, sandbox.netns_path, ep.ifname, src)
            errors = [e for e in (self._try("Leave", args), self._try("DeleteEndpoint", args)) if e]
            error = "; ".join(errors)
            rollback = f"failed to roll back: {error}" if error else "rolled back"
            raise type(exc)(f"{exc.message}; {rollback}") from None

    def _plumb(self, net: Network, ep: Endpoint, sandbox: Sandbox, plan: JoinPlan, undo: UndoLog) -> None:
        netns, src = sandbox.netns_path, plan.src_name
        if not netlink.link_exists(src):
            raise NotFound(f'plugin "{self.name}": interface {src} named by Join was not found on the host')
        ep.driver_data["src_name"] = src
        undo.add({"kind": "link", "name": src})
        undo.add({"kind": "link", "name": ep.ifname, "netns": netns})
        netlink.link_move(src, netns, ep.ifname)
        fault("veth_add")
        if ep.mac:
            netlink.sandbox_set_mac(netns, ep.ifname, ep.mac)
        use_gw = sandbox.default_gateway and not net.internal
        ep.gateway, ep.gateway6 = plan.gateway, plan.gateway6
        netlink.sandbox_interface_up(
            netns,
            ep.ifname,
            addresses=[a for a in (ep.ipv4, ep.ipv6) if a],
            gateway=plan.gateway if use_gw else "",
            gateway6=plan.gateway6 if use_gw else "",
        )
        routes = [r for r in plan.routes if use_gw or not _is_default(r[0])]
        if routes:
            netlink.sandbox_routes(netns, ep.ifname, routes)
        fault("netns_config")

    def leave(self, net: Network, ep: Endpoint, sandbox: Sandbox) -> None:
        src = ep.driver_data.get("src_name")
        if src:
            # As Docker's sandbox: the interface goes back to the host under the plugin's name.
            _quietly(netlink.link_move_to_host, sandbox.netns_path, ep.ifname, src)
        error = self._try("Leave", {"NetworkID": net.id, "EndpointID": ep.id})
        if error:
            self._warn(f"failed to leave endpoint {ep.id}", error)


class JoinPlan:
    """A checked Join answer: the interface to move in, gateways, static routes."""

    def __init__(self, src_name: str, gateway: str, gateway6: str, routes: list[tuple[str, str]]) -> None:
        self.src_name, self.gateway, self.gateway6, self.routes = src_name, gateway, gateway6, routes

    @classmethod
    def parse(cls, plugin: str, answer: dict[str, Any]) -> JoinPlan:
        def bad(what: str) -> Unavailable:
            return Unavailable(f'plugin "{plugin}" sent an invalid answer to Join: {what}')

        names = answer.get("InterfaceName")
        src = names.get("SrcName") if isinstance(names, dict) else None
        if not isinstance(src, str) or not src:
            raise bad("no InterfaceName.SrcName (the interface to move into the sandbox)")
        gateway = _ip_or_empty(answer.get("Gateway"), 4, f'unable to parse Gateway "{answer.get("Gateway")}"')
        gateway6 = _ip_or_empty(
            answer.get("GatewayIPv6"), 6, f'unable to parse GatewayIPv6 "{answer.get("GatewayIPv6")}"'
        )
        routes = []
        for route in answer.get("StaticRoutes") or []:
            if not isinstance(route, dict):
                raise bad("a StaticRoutes entry is not an object")
            routes.append(_route(route, bad))
        return cls(src, gateway, gateway6, routes)


def _route(route: dict[str, Any], bad: Any) -> tuple[str, str]:
    try:
        dst = str(ipaddress.ip_network(route.get("Destination") or "", strict=False))
    except ValueError:
        raise bad(f"invalid route destination {route.get('Destination')!r}") from None
    kind, hop = route.get("RouteType", 0), route.get("NextHop") or ""
    if kind == 1:
        return dst, ""  # connected route
    try:
        return dst, str(ipaddress.ip_address(hop))
    except ValueError:
        raise bad(f"failed to parse nexthop IP {hop}") from None


def _ip_or_empty(value: Any, version: int, message: str) -> str:
    if not value:
        return ""
    try:
        ip = ipaddress.ip_address(str(value))
    except ValueError:
        raise Unavailable(message) from None
    if ip.version != version:
        raise Unavailable(message)
    return str(ip)


def _is_default(dst: str) -> bool:
    return ipaddress.ip_network(dst).prefixlen == 0


def _same_interface(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_interface(a) == ipaddress.ip_interface(b)
    except ValueError:
        return False


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except PynetError:
        pass


# -- request payloads ----------------------------------------------------------------------
def network_options(net: Network) -> dict[str, Any]:
    """What libnetwork hands a driver as ``Options``: the ``-o`` map under ``generic``."""
    out: dict[str, Any] = {
        "com.docker.network.enable_ipv6": net.enable_ipv6,
        "com.docker.network.generic": dict(net.options),
    }
    if net.internal:
        out["com.docker.network.internal"] = True
    return out


def ipam_data(pool: IPAMPool, address_space: str = "LocalDefault") -> dict[str, Any]:
    """One ``IPv4Data``/``IPv6Data`` entry: gateway and aux addresses in CIDR form, as Docker."""
    plen = ipaddress.ip_network(pool.subnet, strict=False).prefixlen
    data: dict[str, Any] = {
        "AddressSpace": address_space,
        "Pool": pool.subnet,
        "AuxAddresses": {k: f"{v}/{plen}" for k, v in pool.aux_addresses.items()},
    }
    if pool.gateway:
        data["Gateway"] = f"{pool.gateway}/{plen}"
    return data

"""The bridge driver: a Linux bridge per network, a veth pair per endpoint.

Names: bridge ``br-<12 hex of network id>`` (or ``com.docker.network.bridge.name``; the
default network uses ``pynet0``), host side ``veth<7 hex>``, sandbox side ``eth0``,
``eth1``... Setup is a sequence of named steps, each logged for undo before it runs.
"""

from __future__ import annotations

import ipaddress
import os

from pynet.cnm import options as opt
from pynet.cnm.model import Endpoint, Network
from pynet.drivers import firewall_hooks as fw
from pynet.drivers.base import Driver, NullUndo, SandboxInfo, UndoLog
from pynet.errors import Conflict, InvalidArgument
from pynet.faults import fault
from pynet.kernel import netlink

DEFAULT_BRIDGE_DEVICE = "pynet0"


def bridge_name(net: Network) -> str:
    """The bridge device of ``net``."""
    return str(net.driver_data.get("bridge") or net.options.get(opt.BRIDGE_NAME) or f"br-{net.id[:12]}")


class BridgeDriver(Driver):
    """Docker's default driver on one host."""

    name = "bridge"

    # -- network ---------------------------------------------------------------------
    def validate_create(self, net: Network) -> None:
        name = net.options.get(opt.BRIDGE_NAME) or (
            DEFAULT_BRIDGE_DEVICE if net.builtin else f"br-{net.id[:12]}")
        if len(name.encode()) > opt.IFNAME_MAX or not name or "/" in name or " " in name:
            raise InvalidArgument(f"invalid bridge name {name!r}: at most {opt.IFNAME_MAX} characters, no '/' or spaces")
        for key in opt.BOOL_OPTIONS:
            value = net.options.get(key)
            if value is not None and value.strip().lower() not in ("1", "0", "t", "f", "true", "false"):
                raise InvalidArgument(f"invalid value {value!r} for option {key}: expected true or false")
        binding = net.options.get(opt.BRIDGE_HOST_BINDING_IPV4)
        if binding is not None:
            opt.check_ip_option(opt.BRIDGE_HOST_BINDING_IPV4, binding)
        mtu = net.options.get(opt.DRIVER_MTU)
        if mtu is not None:
            value = opt.parse_int_option(opt.DRIVER_MTU, mtu)
            if not 68 <= value <= 65535:
                raise InvalidArgument(f"invalid MTU number: {value}")
        net.driver_data["bridge"] = name

    def create_network(self, net: Network, undo: UndoLog) -> None:
        name = bridge_name(net)
        self._setup_device(net, name, undo)
        fw.network_up(net, undo)

    def _setup_device(self, net: Network, name: str, undo: UndoLog) -> None:
        mtu = int(net.options.get(opt.DRIVER_MTU) or net.driver_data.get("mtu") or netlink.uplink_mtu())
        net.driver_data["mtu"] = mtu
        exists = netlink.link_exists(name)
        if exists and netlink.link_kind(name) != "bridge":
            # Adopting it (lo, eth0...) would make a network that cannot be removed.
            raise Conflict(f"cannot create network {net.id} ({name}): device {name} exists and is not a bridge")
        if not exists:
            undo.add({"kind": "link", "name": name})
        fault("bridge_add")
        netlink.bridge_create(name, mtu=mtu, addresses=_gateway_cidrs(net))

    def delete_network(self, net: Network) -> None:
        fw.network_down(net)
        netlink.bridge_delete(bridge_name(net))

    def restore_network(self, net: Network) -> None:
        self._setup_device(net, bridge_name(net), NullUndo())
        fw.network_up(net, NullUndo())

    def network_present(self, net: Network) -> bool:
        return netlink.link_exists(bridge_name(net))

    # -- endpoint --------------------------------------------------------------------
    def create_endpoint(self, net: Network, ep: Endpoint, undo: UndoLog) -> None:
        ep.driver_data["host_ifname"] = "veth" + os.urandom(4).hex()[:7]

    def join(self, net: Network, ep: Endpoint, sandbox: SandboxInfo, undo: UndoLog) -> None:
        host_if = ep.driver_data["host_ifname"]
        mtu = int(net.driver_data.get("mtu") or 1500)
        undo.add({"kind": "link", "name": host_if})
        netlink.veth_create(host_if, ep.ifname, sandbox.netns_path, mtu=mtu, peer_mac=ep.mac, host_ipv6=False)
        fault("veth_add")
        # Hairpin lets a container reach its own published port through the host address.
        netlink.link_attach(host_if, bridge_name(net), hairpin=True)
        addresses = [a for a in (ep.ipv4, ep.ipv6) if a]
        use_gw = sandbox.default_gateway and not net.internal
        netlink.sandbox_interface_up(
            sandbox.netns_path, ep.ifname, addresses=addresses,
            gateway=ep.gateway if use_gw else "", gateway6=ep.gateway6 if use_gw else "")
        fault("netns_config")

    def leave(self, net: Network, ep: Endpoint, sandbox: SandboxInfo) -> None:
        # Deleting the host end removes the pair; when the sandbox is gone it is gone too.
        netlink.link_delete(ep.driver_data.get("host_ifname", ""))



def _gateway_cidrs(net: Network) -> list[str]:
    out = []
    for pool in net.ipam_config:
        if pool.gateway:
            plen = ipaddress.ip_network(pool.subnet, strict=False).prefixlen
            out.append(f"{pool.gateway}/{plen}")
    return out

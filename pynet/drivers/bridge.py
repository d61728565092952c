"""The bridge driver: a Linux bridge per network, a veth pair per endpoint.

Names: bridge ``br-<12 hex of network id>`` (or ``com.docker.network.bridge.name``; the
default network uses ``pynet0``), host side ``veth<7 hex>``, sandbox side ``eth0``,
``eth1``... Setup is a sequence of named steps, each logged for undo before it runs.

Ownership (Docker's rule): an existing device of that name that is not a bridge is an error;
an existing bridge is used, but recorded as not pynet's (``driver_data["bridge_owned"]``):
``network rm`` then removes only the addresses pynet added to it (and its rules and ports)
and puts back the per-device sysctls it changed, never the device.
"""

from __future__ import annotations

import ipaddress
import os

from pynet.records import options as opt
from pynet.records.model import Endpoint, Network, Sandbox
from pynet.firewall import hooks as fw
from pynet.drivers.base import Driver
from pynet.records.undo import NullUndo, UndoLog
from pynet.errors import Conflict, InvalidArgument, Unavailable
from pynet.faults import fault
from pynet.kernel import netlink

DEFAULT_BRIDGE_DEVICE = "pynet0"
#: per-device IPv4 sysctls pynet may change on a bridge (internal networks, the firewall)
_TOUCHED_SYSCTLS = ("forwarding", "route_localnet")


bridge_name = opt.bridge_device  # the bridge device of a network


def bridge_owned(net: Network) -> bool:
    """True when pynet created the bridge of ``net`` (so ``network rm`` may delete it).

    Records written before ownership was recorded: only pynet's own names count as
    pynet's (``pynet0``, ``br-<id12>``); a ``bridge.name`` device is left in place.
    """
    owned = net.driver_data.get("bridge_owned")
    if owned is not None:
        return bool(owned)
    return net.builtin or bridge_name(net) == opt.default_bridge_device(net.id)


class BridgeDriver(Driver):
    """Docker's default driver on one host."""

    name = "bridge"
    publishes_ports = True
    firewalled = True
    restores_on_boot = True

    # -- network ---------------------------------------------------------------------
    def validate_create(self, net: Network) -> None:
        name = net.options.get(opt.BRIDGE_NAME) or (
            DEFAULT_BRIDGE_DEVICE if net.builtin else opt.default_bridge_device(net.id)
        )
        if len(name.encode()) > opt.IFNAME_MAX or not name or "/" in name or " " in name:
            raise InvalidArgument(
                f"invalid bridge name {name!r}: at most {opt.IFNAME_MAX} characters, no '/' or spaces"
            )
        for key in opt.BOOL_OPTIONS:
            value = net.options.get(key)
            if value is not None:
                opt.check_bool_option(key, value)
        binding = net.options.get(opt.BRIDGE_HOST_BINDING_IPV4)
        if binding is not None:
            opt.check_ip_option(opt.BRIDGE_HOST_BINDING_IPV4, binding)
        mtu = net.options.get(opt.DRIVER_MTU)
        if mtu is not None:
            opt.parse_mtu(mtu)
        net.driver_data["bridge"] = name

    def create_network(self, net: Network, undo: UndoLog) -> None:
        self._setup_device(net, bridge_name(net), undo, creating=True)
        fw.network_up(net, undo)

    def _setup_device(self, net: Network, name: str, undo: UndoLog, *, creating: bool) -> None:
        """Make (or, when ``creating``, adopt) the bridge; a restore keeps the recorded owner."""
        mtu = int(net.options.get(opt.DRIVER_MTU) or net.driver_data.get("mtu") or netlink.uplink_mtu())
        net.driver_data["mtu"] = mtu
        kind = netlink.link_kind(name)
        if kind is None:
            net.driver_data.setdefault("bridge_owned", True)
            record = {"kind": "link", "name": name}
            undo.add(record)
            fault("bridge_add")
            index = netlink.bridge_add(name, mtu=mtu, mac=docker_mac())
            undo.confirm(record, index=index)  # the proof journal replay needs to delete it
            netlink.bridge_configure(index, name, _gateway_cidrs(net))
        elif kind != "bridge":
            raise Conflict(f"existing interface {name} is not a bridge")
        elif creating:
            self._adopt(net, name, undo)
        else:
            mine = _gateway_cidrs(net) if bridge_owned(net) else net.driver_data.get("added_addresses", [])
            netlink.bridge_configure(netlink.link_index(name) or 0, name, mine)
        if net.internal:
            _forwarding_off(name)

    def _adopt(self, net: Network, name: str, undo: UndoLog) -> None:
        """Use the user's bridge ``name``: pynet adds its gateway addresses, nothing else.

        What pynet changes on it (addresses, per-device sysctls that the firewall or an
        internal network set) is recorded, undone on failure and put back by ``network rm``.
        """
        index = netlink.link_index(name) or 0
        present = {_iface(c) for c in netlink.link_addresses(name)}
        added = [c for c in _gateway_cidrs(net) if _iface(c) not in present]
        sysctls = {key: netlink.link_sysctl(name, key) for key in _TOUCHED_SYSCTLS}
        net.driver_data.update(bridge_owned=False, added_addresses=added, sysctls_before=sysctls)
        undo.add({"kind": "sysctls", "link": name, "index": index, "values": sysctls})
        if added:
            undo.add({"kind": "addresses", "link": name, "index": index, "cidrs": added})
        netlink.bridge_configure(index, name, added)

    def delete_network(self, net: Network) -> None:
        fw.network_down(net)
        fault("bridge_del")
        name = bridge_name(net)
        if bridge_owned(net):
            netlink.bridge_delete(name)
            return
        for cidr in net.driver_data.get("added_addresses", []):
            netlink.addr_delete(name, cidr)
        if netlink.link_exists(name):
            for key, value in net.driver_data.get("sysctls_before", {}).items():
                if value is not None:
                    netlink.set_link_sysctl(name, key, value)

    def update_network(self, old: Network, new: Network) -> list[str]:
        """``--internal``/``--no-internal`` live: the firewall's sets and the bridge's forwarding."""
        if old.internal == new.internal:
            return []
        notices = fw.network_changed(old, new)
        if new.internal:
            _forwarding_off(bridge_name(new))
        else:
            netlink.set_link_sysctl(bridge_name(new), "forwarding", "1")
        return notices

    def restore_network(self, net: Network) -> None:
        self._setup_device(net, bridge_name(net), NullUndo(), creating=False)
        fw.network_up(net, NullUndo())

    def network_present(self, net: Network) -> bool:
        return netlink.link_exists(bridge_name(net))

    def kernel_devices(self, net: Network) -> dict[str, str]:
        return {"bridge": bridge_name(net)}

    def check_capacity(self, net: Network, endpoints: int) -> None:
        if endpoints >= opt.BRIDGE_MAX_PORTS:
            dev = net.driver_data.get("bridge", "")
            raise Unavailable(
                f"network {net.name} is full: Linux bridge {dev} holds at most "
                f"{opt.BRIDGE_MAX_PORTS} ports (kernel limit); use another network"
            )

    # -- endpoint --------------------------------------------------------------------
    def create_endpoint(self, net: Network, ep: Endpoint, undo: UndoLog) -> None:
        ep.driver_data["host_ifname"] = "veth" + os.urandom(4).hex()[:7]

    def join(self, net: Network, ep: Endpoint, sandbox: Sandbox, undo: UndoLog) -> None:
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
            sandbox.netns_path,
            ep.ifname,
            addresses=addresses,
            gateway=ep.gateway if use_gw else "",
            gateway6=ep.gateway6 if use_gw else "",
        )
        fault("netns_config")

    def leave(self, net: Network, ep: Endpoint, sandbox: Sandbox) -> None:
        # Deleting the host end removes the pair; when the sandbox is gone it is gone too.
        # Both ends are unlisted at once; the kernel's RCU waits after that (~15-20 ms)
        # are left to a short-lived child, as for a bridge (design.md, "Deleting a bridge").
        netlink.link_delete(ep.driver_data.get("host_ifname", ""), wait_unlisted_only=True)


def _forwarding_off(name: str) -> None:
    """An internal network routes nothing off its bridge (as Docker's DROP rules ensure).

    Per-device ``forwarding=0`` holds even without pynet's firewall; the firewall's drop
    rule covers the other direction (and re-sets this when it turns ``ip_forward`` on).
    """
    netlink.set_link_sysctl(name, "forwarding", "0")


def _iface(cidr: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(cidr)


def _gateway_cidrs(net: Network) -> list[str]:
    out = []
    for pool in net.ipam_config:
        if pool.gateway:
            plen = ipaddress.ip_network(pool.subnet, strict=False).prefixlen
            out.append(f"{pool.gateway}/{plen}")
    return out


def docker_mac() -> str:
    """A bridge's MAC as Docker 20.10 gives one (``netutils.GenerateRandomMAC``: 02:42 and
    four random bytes). Set at creation, it also turns a port-less bridge's carrier off, as
    in Docker (``NO-CARRIER``, state DOWN until a container joins): the kernel then gives it
    no IPv6 link-local address and routes, whose insertion grows with every other bridge."""
    return "02:42:" + ":".join(f"{b:02x}" for b in os.urandom(4))

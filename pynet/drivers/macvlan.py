"""The macvlan driver: containers get their own MAC address on a host interface's LAN.

Each endpoint is a macvlan sub-interface of the network's parent link, moved into the
sandbox; no parent (or ``--internal``) gives an isolated network on a port-less bridge
``dm-<id12>``. Docker's rules (options, shared parents, 802.1q parents), kept here, and
what differs: macvlan.md.
"""

from __future__ import annotations

import ipaddress
import secrets

from pynet.records import options as opt
from pynet.records.model import Endpoint, Network, Sandbox
from pynet.drivers.base import Driver
from pynet.records.undo import NullUndo, UndoLog
from pynet.errors import Conflict, InvalidArgument, NotFound, Unsupported
from pynet.faults import fault
from pynet.kernel import netlink

MODES = ("bridge", "private", "vepa", "passthru")
DUMMY_PREFIX = "dm-"


def dummy_name(net_id: str) -> str:
    """Docker's name of the private parent of a parent-less network: ``dm-<12 hex>``."""
    return DUMMY_PREFIX + net_id[:12]


def parse_vlan(parent: str) -> tuple[str, int]:
    """``eth0.10`` -> ``("eth0", 10)`` with Docker's messages for bad names."""
    parts = parent.split(".")
    if len(parts) != 2:
        raise InvalidArgument(
            f"required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received {parent}"
        )
    base, vid_text = parts
    try:
        vid = int(vid_text)
    except ValueError:
        raise InvalidArgument(f"unable to parse a valid vlan id from: {vid_text} (ex. eth0.10 for vlan 10)") from None
    if not 1 <= vid <= 4094:
        raise InvalidArgument(f"vlan id must be between 1-4094, received: {vid}")
    return base, vid


class MacvlanDriver(Driver):
    """Docker's ``macvlan`` driver (local scope)."""

    name = "macvlan"

    # -- network ---------------------------------------------------------------------
    def validate_create(self, net: Network) -> None:
        mode = net.options.get(opt.MACVLAN_MODE) or "bridge"
        if mode not in MODES:
            raise InvalidArgument(
                f"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan driver default"
            )
        parent = "" if net.internal else net.options.get(opt.MACVLAN_PARENT, "")
        if parent == "lo":
            raise InvalidArgument("loopback interface is not a valid macvlan parent link")
        created = ""
        if not parent:
            parent, created = dummy_name(net.id), "dummy"
        elif not netlink.link_exists(parent):
            created = self._check_missing_parent(parent)
        check_siblings(net, parent, mode, _stored_macvlan_networks())
        net.driver_data.update(parent=parent, mode=mode, created_parent=created, isolated=created == "dummy")

    @staticmethod
    def _check_missing_parent(parent: str) -> str:
        """A parent that is not there: Docker would make it when it is ``name.vlan``."""
        if "." not in parent:
            raise NotFound(f"-o parent interface was not found on the host: {parent}")
        base, _vid = parse_vlan(parent)
        if not netlink.link_kind_supported("vlan"):
            raise Unsupported(f"802.1q VLAN sub-interfaces are not supported by this kernel (-o parent={parent})")
        if not netlink.link_exists(base):
            raise NotFound(f"-o parent interface was not found on the host: {base}")
        return "vlan"

    def create_network(self, net: Network, undo: UndoLog) -> None:
        self._make_parent(net, undo)

    def _make_parent(self, net: Network, undo: UndoLog) -> None:
        parent, created = net.driver_data["parent"], net.driver_data.get("created_parent")
        if not created or netlink.link_exists(parent):
            return
        undo.add({"kind": "link", "name": parent})
        if created == "dummy":
            # Stands in for Docker's dummy link: a port-less bridge (carrier on, no exit).
            netlink.bridge_create(parent, mtu=1500, addresses=[])
        else:
            base, vid = parse_vlan(parent)
            netlink.vlan_create(parent, parent=base, vid=vid)

    def delete_network(self, net: Network) -> None:
        parent, created = net.driver_data.get("parent", ""), net.driver_data.get("created_parent")
        if not parent or not created:
            return  # the user's interface: never ours to remove
        expected = "bridge" if created == "dummy" else "vlan"
        if netlink.link_kind(parent) == expected:
            netlink.link_delete(parent)

    def restore_network(self, net: Network) -> None:
        parent = net.driver_data["parent"]
        if not net.driver_data.get("created_parent") and not netlink.link_exists(parent):
            raise NotFound(f"-o parent interface was not found on the host: {parent}")
        self._make_parent(net, NullUndo())

    def kernel_devices(self, net: Network) -> dict[str, str]:
        return {"parent": str(net.driver_data.get("parent", ""))}

    def network_present(self, net: Network) -> bool:
        return netlink.link_exists(net.driver_data.get("parent", ""))

    # -- endpoint --------------------------------------------------------------------
    def join(self, net: Network, ep: Endpoint, sandbox: Sandbox, undo: UndoLog) -> None:
        tmp = "mvl" + secrets.token_hex(3)
        netns = sandbox.netns_path
        # Whatever step fails, the sub-interface is removed wherever it got to.
        undo.add({"kind": "link", "name": tmp})
        undo.add({"kind": "link", "name": tmp, "netns": netns})
        undo.add({"kind": "link", "name": ep.ifname, "netns": netns})
        netlink.macvlan_create(
            tmp,
            parent=net.driver_data["parent"],
            mode=net.driver_data["mode"],
            netns=netns,
            new_name=ep.ifname,
            mtu=None,
            mac=ep.mac,
        )
        fault("veth_add")
        use_gw = sandbox.default_gateway and not net.internal and not net.driver_data.get("isolated")
        netlink.sandbox_interface_up(
            netns,
            ep.ifname,
            addresses=[a for a in (ep.ipv4, ep.ipv6) if a],
            gateway=ep.gateway if use_gw else "",
            gateway6=ep.gateway6 if use_gw else "",
        )
        fault("netns_config")

    def leave(self, net: Network, ep: Endpoint, sandbox: Sandbox) -> None:
        # The sub-interface lives only in the sandbox; gone with it if the sandbox is gone.
        netlink.link_delete(ep.ifname, sandbox.netns_path)


def check_siblings(net: Network, parent: str, mode: str, others: list[Network]) -> None:
    """Docker's rules for several macvlan networks on one parent (Conflict on a clash)."""
    mine = [ipaddress.ip_network(p.subnet, strict=False) for p in net.ipam_config]
    for other in others:
        if other.id == net.id or other.driver_data.get("parent") != parent:
            continue
        if mode == "passthru":
            raise Conflict(
                f"cannot use mode passthru, macvlan network {other.id} is already using parent interface {parent}"
            )
        if other.driver_data.get("mode") == "passthru":
            raise Conflict(f"macvlan network {other.id} is already using parent interface {parent} in mode passthru")
        theirs = [ipaddress.ip_network(p.subnet, strict=False) for p in other.ipam_config]
        if any(a.version == b.version and a.overlaps(b) for a in mine for b in theirs):
            raise Conflict(f"network {dummy_name(other.id)} is already using parent interface {parent}")


def _stored_macvlan_networks() -> list[Network]:
    """The macvlan networks already committed to the state store (read only).

    Like Docker's driver, which keeps its own list of networks, the driver needs its
    siblings to apply the one-parent rules. The store is only read; the caller holds
    the mutation lock, so the list cannot change underneath.
    """
    from pynet import paths
    from pynet.records.model import from_dict
    from pynet.state.store import Store

    out = []
    for record in Store(paths.state_dir()).all("networks"):
        if record.get("driver") == "macvlan":
            out.append(from_dict(Network, record))
    return out

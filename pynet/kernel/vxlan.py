"""A VXLAN device's static peers: FDB entries to remote VTEPs and proxy neighbours.

Shared by the overlay driver (which makes ``vx-<vni>``) and the helper daemon (which
programs its peers from the cluster store), so neither imports the other.
"""

from __future__ import annotations

from pynet.kernel import netlink

FLOOD_MAC = "00:00:00:00:00:00"


def vxlan_name(vni: int) -> str:
    """The VXLAN device of VNI ``vni`` on every host."""
    return f"vx-{vni}"


def set_peers(vni: int, fdb: set[tuple[str, str]], neigh: set[tuple[str, str]]) -> bool:
    """Make ``vx-<vni>``'s static entries exactly ``fdb`` {(mac, vtep)} and ``neigh`` {(ip, mac)}.

    Flood entries use the all-zero MAC. The bridge learns nothing on the device's port;
    it gets one static entry per remote MAC instead, so frames to a remote container go
    into the tunnel only while that container is remote. Returns False when the device
    does not exist here (or is not on its bridge yet).
    """
    dev = vxlan_name(vni)
    if not netlink.link_exists(dev) or netlink.link_master_name(dev) is None:
        return False
    netlink.port_learning_off(dev)  # also for ports made before learning was turned off
    have_fdb, have_neigh = netlink.vxlan_fdb_entries(dev), netlink.neigh_entries(dev)
    port, have_port = {mac for mac, _ in fdb if mac != FLOOD_MAC}, netlink.port_fdb_entries(dev)
    for ip, mac in have_neigh - neigh:
        netlink.neigh_remove(dev, ip)
    for mac in have_port - port:
        netlink.port_fdb_del(dev, mac)
    for mac, dst in have_fdb - fdb:
        netlink.vxlan_fdb_del(dev, mac, dst)
    for mac, dst in sorted(fdb - have_fdb):
        netlink.vxlan_fdb_add(dev, mac, dst)
    for mac in sorted(port - have_port):
        netlink.port_fdb_set(dev, mac)
    for ip, mac in neigh - have_neigh:
        netlink.neigh_set(dev, ip, mac)
    return True

"""The overlay driver: one layer-2 segment across hosts, VXLAN over the underlay.

Control plane in etcd (``pynet.state.etcd``: network, VNI, subnet and addresses cluster-wide);
data plane per host, made with the first local endpoint: bridge ``ov-<id12>`` (the anycast
gateway) and ``vx-<vni>``, whose peers the helper daemon programs (``pynet.daemon.overlay``).
The details: overlay.md, "Design".
"""

from __future__ import annotations

import ipaddress
import secrets

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.records import options as opt
from pynet.records.model import Endpoint, Network, Sandbox
from pynet.firewall import hooks as fw
from pynet.drivers.ipam import cluster as gipam
from pynet.drivers.base import AddressAllocator, ClusterMember, Driver
from pynet.records.undo import UndoLog
from pynet.errors import Forbidden, InvalidArgument, PynetError, Unavailable, Unsupported
from pynet.faults import fault
from pynet.kernel import netlink, procnet
from pynet.kernel.vxlan import vxlan_name
from pynet.state import etcd as kv

VXLAN_PORT = 4789
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
ENCRYPTED = "encrypted"
NOT_JOINED = (
    'This node is not part of a cluster. Use "pynet cluster join" to connect '
    "this node to a cluster store and try again."
)


def bridge_name(net: Network) -> str:
    return str(net.driver_data.get("bridge") or f"ov-{net.id[:12]}")


def config() -> kv.ClusterConfig:
    """This node's cluster membership; Forbidden when it has none."""
    cfg = kv.load_config(paths.state_dir())
    if cfg is None:
        raise Forbidden(NOT_JOINED)
    return cfg


def store(cfg: kv.ClusterConfig | None = None) -> kv.Etcd:
    return kv.client(cfg or config())


def underlay(cfg: kv.ClusterConfig) -> tuple[str, int]:
    """(link, MTU) of the underlay: the link holding the advertise address."""
    found = netlink.link_of_address(cfg.advertise_addr)
    if found is None:
        raise Unavailable(
            f"advertise address {cfg.advertise_addr} is not an address of this host "
            "any more; rejoin the cluster with a current one"
        )
    return found


class OverlayDriver(Driver, AddressAllocator, ClusterMember):
    """Docker's overlay driver, with etcd instead of swarm."""

    name = "overlay"
    scope = "global"
    cluster_store = True

    # -- network ---------------------------------------------------------------------
    def kernel_devices(self, net: Network) -> dict[str, str]:
        vni = net.driver_data.get("vni")
        return {"bridge": bridge_name(net), **({"vxlan": vxlan_name(int(vni))} if vni else {})}

    def validate_create(self, net: Network) -> None:
        if ENCRYPTED in net.options:
            raise Unsupported("encrypted overlay networks need IPsec (ESP), which this kernel does not support")
        if net.ingress:
            raise Unsupported("ingress networks (the swarm routing mesh) are not supported by pynet")
        if net.scope not in ("global", "swarm"):
            raise InvalidArgument(f"overlay networks span the cluster: scope {net.scope!r} is not supported")
        net.scope = "global"
        mtu = net.options.get(opt.DRIVER_MTU)
        if mtu is not None:
            opt.parse_mtu(mtu)
        if net.enable_ipv6 and not any(p.is_ipv6 for p in net.ipam_config):
            raise InvalidArgument("an IPv6 overlay network needs an IPv6 --subnet (there is no default IPv6 pool)")
        config()
        net.driver_data["bridge"] = bridge_name(net)

    def create_network(self, net: Network, undo: UndoLog) -> None:
        undo.add({"kind": "driver", "driver": self.name, "what": "network", "network_id": net.id})
        gipam.register_network(store(), net, host_used=procnet.host_subnets())

    def delete_network(self, net: Network) -> None:
        gipam.unregister_network(store(), net)
        remove_local(net)

    def restore_network(self, net: Network) -> None:
        """Nothing to restore: the per-host devices come with the first local endpoint."""

    def in_use(self, net: Network) -> bool:
        """True while any node of the cluster has an endpoint on ``net``."""
        return gipam.network_in_use(store(), net.id)

    # -- endpoint --------------------------------------------------------------------
    def allocate_addresses(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str) -> None:
        if not net.attachable:
            raise Forbidden(
                f"Could not attach to network {net.name}: rpc error: code = PermissionDenied "
                f"desc = network {net.name} not manually attachable"
            )
        cfg = config()
        gipam.allocate(store(cfg), net, ep, cfg.node_id, preferred_v4, preferred_v6)

    def release_addresses(self, net: Network, ep: Endpoint) -> None:
        _best_effort({"what": "addresses", "network_id": net.id, "endpoint_id": ep.id})

    def create_endpoint(self, net: Network, ep: Endpoint, undo: UndoLog) -> None:
        ensure_local(net, config(), undo)
        ep.driver_data["host_ifname"] = "veth" + secrets.token_hex(4)[:7]

    def join(self, net: Network, ep: Endpoint, sandbox: Sandbox, undo: UndoLog) -> None:
        cfg = config()
        host_if = ep.driver_data["host_ifname"]
        undo.add({"kind": "link", "name": host_if})
        fault("veth_add")
        netlink.veth_create(host_if, ep.ifname, sandbox.netns_path, mtu=int(net.driver_data["mtu"]), peer_mac=ep.mac)
        netlink.link_attach(host_if, bridge_name(net))
        forget_remote(net, ep)
        use_gw = sandbox.default_gateway and not net.internal
        fault("netns_config")
        netlink.sandbox_interface_up(
            sandbox.netns_path,
            ep.ifname,
            addresses=[a for a in (ep.ipv4, ep.ipv6) if a],
            gateway=ep.gateway if use_gw else "",
            gateway6=ep.gateway6 if use_gw else "",
        )
        key = kv.endpoint_key(net.id, cfg.node_id, ep.id)
        undo.add({"kind": "driver", "driver": self.name, "what": "endpoint", "key": key})
        gipam.register_endpoint(store(cfg), net, cfg.node_id, peer_record(ep, sandbox, cfg))

    def leave(self, net: Network, ep: Endpoint, sandbox: Sandbox) -> None:
        netlink.link_delete(ep.driver_data.get("host_ifname", ""))

    def delete_endpoint(self, net: Network, ep: Endpoint) -> None:
        cfg = kv.load_config(paths.state_dir())
        if cfg is not None:
            _best_effort({"what": "endpoint", "key": kv.endpoint_key(net.id, cfg.node_id, ep.id)})
        if not [p for p in netlink.bridge_port_names(bridge_name(net)) if not p.startswith("vx-")]:
            remove_local(net)

    # -- undo after a failure or a kill -9 -------------------------------------------------
    def remove_local(self, net: Network) -> None:
        remove_local(net)

    def peer_record(self, ep: Endpoint, sandbox: Sandbox, cfg: kv.ClusterConfig) -> dict[str, Any]:
        return peer_record(ep, sandbox, cfg)

    def undo_resource(self, resource: dict[str, Any]) -> None:
        what = resource.get("what")
        if what == "network":
            _drop_network(resource["network_id"])
        elif what in ("addresses", "endpoint"):
            _best_effort(resource)


def peer_record(ep: Endpoint, sandbox: Sandbox, cfg: kv.ClusterConfig) -> dict[str, Any]:
    """What the other hosts need to reach (and resolve) this endpoint."""
    return {
        "id": ep.id,
        "container": sandbox.container_id,
        "name": ep.name,
        "aliases": list(ep.aliases),
        "ipv4": ep.ipv4,
        "ipv6": ep.ipv6,
        "mac": ep.mac,
        "node": cfg.node_id,
        "vtep": cfg.advertise_addr,
    }


def _drop_network(network_id: str) -> None:
    """Undo a half-made network registration (only while nobody uses it)."""
    s = store()
    if not gipam.network_in_use(s, network_id):
        s.txn(
            [],
            [
                kv.delete_op(kv.network_key(network_id)),
                kv.delete_op(kv.netrev_key(network_id)),
                kv.put_op(kv.SEQ_NETWORKS, network_id),
            ],
        )


def _best_effort(item: dict[str, Any]) -> None:
    """Run a store cleanup now, or queue it for the next sync when the store is away.

    Tearing a container down must not fail because etcd is unreachable: the local
    objects go now, the cluster records when the store answers again.
    """
    cfg = kv.load_config(paths.state_dir())
    if cfg is None:
        return  # no longer a member: nothing of ours is left in a store we know
    try:
        kv.run_cleanup(store(cfg), item)
    except Unavailable as exc:
        kv.queue_cleanup(paths.state_dir(), item)
        fw.NOTICES.append(f"WARNING: {exc}; the cluster records will be cleaned up later")


# -- the per-host devices ------------------------------------------------------------------
def ensure_local(net: Network, cfg: kv.ClusterConfig, undo: UndoLog) -> None:
    """Bridge + VXLAN device of ``net`` on this host (made once, by the first endpoint)."""
    br, vx = bridge_name(net), vxlan_name(int(net.driver_data["vni"]))
    link, underlay_mtu = underlay(cfg)
    mtu = int(net.options.get(opt.DRIVER_MTU) or underlay_mtu - VXLAN_OVERHEAD)
    net.driver_data["mtu"] = mtu
    if netlink.link_exists(br) and netlink.link_master_name(vx) == br:
        return
    if not netlink.link_exists(br):
        undo.add({"kind": "link", "name": br})
    fault("bridge_add")
    netlink.bridge_create(br, mtu=mtu, addresses=_gateway_cidrs(net))
    if netlink.link_exists(vx):
        netlink.link_delete(vx)  # left by a removed network that had the same VNI
    undo.add({"kind": "link", "name": vx})
    netlink.overlay_vxlan_create(
        vx, vni=int(net.driver_data["vni"]), local=cfg.advertise_addr, underlay=link, port=VXLAN_PORT, mtu=mtu
    )
    netlink.link_attach(vx, br)
    netlink.port_learning_off(vx)  # set_peers programs the bridge's entries for this port
    fw.network_up(net, undo)


def forget_remote(net: Network, ep: Endpoint) -> None:
    """Drop what this host still holds for ``ep``'s MAC and addresses behind the tunnel.

    The MAC follows the IP, so an address last used on another host leaves entries that
    would send the new local holder's frames into the tunnel.
    """
    vx = vxlan_name(int(net.driver_data["vni"]))
    mac = ep.mac.lower()
    netlink.port_fdb_del(vx, mac)
    netlink.vxlan_fdb_forget(vx, mac)
    for cidr in (ep.ipv4, ep.ipv6):
        if cidr:
            netlink.neigh_remove(vx, str(ipaddress.ip_interface(cidr).ip))


def remove_local(net: Network) -> None:
    """Remove this host's devices of ``net``; success when they are gone already."""
    br = bridge_name(net)
    if netlink.link_exists(br):
        try:
            fw.network_down(net)
        except PynetError as exc:  # the devices go anyway; the user is told about the rules
            fw.NOTICES.append(f"WARNING: network {net.name}: {exc.message}")
    vni = net.driver_data.get("vni")
    if vni and netlink.link_master_name(vxlan_name(int(vni))) in (br, None):
        netlink.link_delete(vxlan_name(int(vni)))
    netlink.link_delete(br)


def _gateway_cidrs(net: Network) -> list[str]:
    return [
        f"{p.gateway}/{ipaddress.ip_network(p.subnet, strict=False).prefixlen}" for p in net.ipam_config if p.gateway
    ]


# -- peers (called by the helper daemon) ---------------------------------------------------

"""THE one module that imports pyroute2: namespaces, links, addresses, routes, FDB, neighbours.

An intention-level API for the drivers that turns netlink errors into pynet errors.
pyroute2 (~150 ms) is imported lazily; the hot path goes through the private raw
rtnetlink module ``_rtnl`` instead. Calls act on the current netns ("the host") or on a
sandbox netns given by its path; sockets are cached per namespace for the process's life.
"""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.errors import KernelError, NotFound
from pynet.kernel.netlink import _rtnl as rtnl  # stdlib-only fast path (no pyroute2) for the hot commands

_sockets: dict[str | None, Any] = {}


def _ipr(netns: str | None = None) -> Any:
    """A cached IPRoute for the host (None) or the netns at ``netns``."""
    sock = _sockets.get(netns)
    if sock is None:
        from pyroute2 import IPRoute

        try:
            sock = IPRoute() if netns is None else IPRoute(netns=netns, flags=0)
        except FileNotFoundError:
            raise NotFound(f"network namespace {netns} does not exist") from None
        _sockets[netns] = sock
    return sock


def close_all() -> None:
    """Close every cached socket (call before fork/exec or at exit)."""
    rtnl.close_all()
    failures = [_close(netns, _sockets.pop(netns)) for netns in list(_sockets)]
    _raise_failures([f for f in failures if f])


def _fail(exc: Exception, what: str) -> Exception:
    """The pynet error for a failed request (pyroute2's NetlinkError or rtnl's: same mapping)."""
    return rtnl.pynet_error(exc, what)


# -- namespaces ----------------------------------------------------------------------
def netns_create(path: str, *, ipv6: bool = True) -> None:
    """Create a network namespace bind-mounted at ``path`` (its dir becomes a mount point).

    No fork: this thread unshares, binds and switches back (``rtnl.netns_create``).
    """
    try:
        rtnl.netns_create(path, ipv6=ipv6)
    except OSError as exc:
        raise _fail(exc, f"failed to create network namespace {path}") from None


def netns_delete(path: str) -> None:
    """Remove a bind-mounted namespace; success when already gone."""
    _drop_socket(path)
    try:
        rtnl.netns_delete(path)
    except OSError as exc:
        raise _fail(exc, f"failed to remove network namespace {path}") from None


def netns_dir_release(directory: str) -> None:
    """Unmount pynet's (empty) namespace directory: nothing of pynet stays mounted."""
    rtnl.unshare_dir(directory)


def netns_exists(path: str) -> bool:
    """True when ``path`` is a live namespace bind mount (not just a leftover file).

    An nsfs bind mount has another device number than the directory holding it.
    """
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False


def _drop_socket(netns: str) -> None:
    sock = _sockets.pop(netns, None)
    if sock is not None:
        _raise_failures([f for f in [_close(netns, sock)] if f])


def _close(netns: str | None, sock: Any) -> str:
    """Close one cached socket; what went wrong ("" when nothing did)."""
    try:
        sock.close()
    except OSError as exc:
        return f"failed to close the netlink socket of {netns or 'the host namespace'}: {exc.strerror or exc}"
    return ""


def _raise_failures(failures: list[str]) -> None:
    """Every socket was closed (or tried): report the ones that failed, together."""
    if failures:
        raise KernelError("; ".join(failures))


# -- links ---------------------------------------------------------------------------
def link_index(name: str, netns: str | None = None) -> int | None:
    """Index of link ``name`` or None (NotFound when the namespace ``netns`` is gone)."""
    try:
        return rtnl.link_index(name, netns)
    except OSError as exc:
        raise _fail(exc, f"failed to look up link {name}") from None


def _index_if_present(name: str, netns: str | None) -> int | None:
    """Index of ``name``; None when the link or its whole namespace is gone (teardown paths)."""
    try:
        return link_index(name, netns)
    except NotFound:
        return None


def link_exists(name: str, netns: str | None = None) -> bool:
    try:
        return link_index(name, netns) is not None
    except NotFound:
        return False


def link_delete(name: str, netns: str | None = None, *, wait_unlisted_only: bool = False) -> None:
    """Delete a link; success when it (or its namespace) is already gone.

    ``wait_unlisted_only`` (host namespace): return as soon as the kernel has unlisted it and
    leave its RCU grace periods to a child (``rtnl.link_delete_unlisted``): for bridges,
    whose deletion otherwise blocks for ~30-45 ms.
    """
    idx = _index_if_present(name, netns)
    if idx is None:
        return
    try:
        if wait_unlisted_only and netns is None:
            rtnl.link_delete_unlisted(idx, name)
        else:
            rtnl.link_delete(idx, netns)
    except OSError as exc:
        if exc.errno in (errno.ENODEV, errno.ENOENT):
            return
        raise _fail(exc, f"failed to delete link {name}") from None


def bridge_delete(name: str) -> None:
    """Delete a bridge of this namespace; returns as soon as it is unlisted (see rtnl)."""
    link_delete(name, wait_unlisted_only=True)


def uplink_mtu(default: int = 1500) -> int:
    """MTU of the interface holding the default route, else ``default``."""
    return rtnl.uplink_mtu(default)


def bridge_create(name: str, *, mtu: int, addresses: list[str], mac: str | None = None) -> None:
    """Create (or adopt) a Linux bridge, give it the gateway addresses, bring it up."""
    idx = link_index(name)
    if idx is None:
        idx = bridge_add(name, mtu=mtu, mac=mac)
    bridge_configure(idx, name, addresses)


def bridge_add(name: str, *, mtu: int, mac: str | None = None) -> int:
    """Create a new Linux bridge (EEXIST when the name is taken); its index."""
    try:
        rtnl.bridge_add(name, mtu=mtu, mac=mac)
    except Exception as exc:  # noqa: BLE001 - bad MAC too
        raise _fail(exc, f"failed to create bridge {name}") from None
    idx = link_index(name)
    if idx is None:
        raise NotFound(f"failed to create bridge {name}: {os.strerror(errno.ENODEV)}")
    return idx


def bridge_configure(index: int, name: str, addresses: list[str]) -> None:
    """Add ``addresses`` to bridge ``index`` (tolerating present ones) and bring it up."""
    for cidr in addresses:
        addr_add(index, cidr)
    try:
        rtnl.link_set(index, up=True)
    except OSError as exc:
        raise _fail(exc, f"failed to bring up bridge {name}") from None


def link_addresses(name: str) -> list[str]:
    """The addresses (``"10.1.0.1/24"``) of host link ``name``; [] when it is absent."""
    idx = link_index(name)
    if idx is None:
        return []
    return [
        f"{a.get_attr('IFA_LOCAL') or a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
        for a in _ipr().addr("dump")
        if a["index"] == idx
    ]


def addr_delete(name: str, cidr: str) -> None:
    """Remove address ``cidr`` from host link ``name``; success when either is gone."""
    idx = link_index(name)
    if idx is None:
        return
    ip, plen = cidr.split("/")
    try:
        _ipr().addr("del", index=idx, address=ip, prefixlen=int(plen), family=10 if ":" in ip else 2)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) in (errno.EADDRNOTAVAIL, errno.ENODEV, errno.ENOENT):
            return
        raise _fail(exc, f"failed to remove address {cidr} from {name}") from None


def link_sysctl(name: str, key: str) -> str | None:
    """``net.ipv4.conf.<name>.<key>`` of host link ``name``; None when there is none."""
    try:
        with open(f"/proc/sys/net/ipv4/conf/{name}/{key}") as f:
            return f.read().strip()
    except OSError:
        return None


def set_link_sysctl(name: str, key: str, value: str) -> None:
    """Set ``net.ipv4.conf.<name>.<key>`` (e.g. ``forwarding``: routing of what it receives)."""
    try:
        with open(f"/proc/sys/net/ipv4/conf/{name}/{key}", "w") as f:
            f.write(value)
    except OSError as exc:
        raise _fail(exc, f"failed to set net.ipv4.conf.{name}.{key}") from None


def addr_add(index: int, cidr: str, netns: str | None = None) -> None:
    """Add an address (``"10.1.0.1/24"``) to a link; tolerate it being there already.

    IPv4 gets its broadcast address; IPv6 is IFA_F_NODAD: usable at once, as Docker does.
    """
    try:
        rtnl.addr_add(index, cidr, netns)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) == errno.EEXIST:
            return
        raise _fail(exc, f"failed to add address {cidr}") from None


def veth_create(
    host_name: str, peer_name: str, peer_netns: str, *, mtu: int, peer_mac: str = "", host_ipv6: bool = True
) -> None:
    """A veth pair whose peer is born inside ``peer_netns`` as ``peer_name``.

    ``host_ipv6=False``: no IPv6 on the host end (a bridge port needs no address of its own;
    without one it sends no DAD/MLD/RS, which the bridge would flood to every port).
    """
    try:
        rtnl.veth_add(host_name, peer_name, peer_netns, mtu=mtu, peer_mac=peer_mac)
        if not host_ipv6:
            rtnl.ipv6_disable_here(host_name)  # still down: nothing was sent yet
    except Exception as exc:  # noqa: BLE001 - bad MAC too
        raise _fail(exc, f"failed to create veth pair {host_name}") from None


def link_attach(name: str, master: str, *, hairpin: bool = False) -> None:
    """Enslave ``name`` to bridge ``master`` and bring it up."""
    idx, midx = link_index(name), link_index(master)
    if idx is None or midx is None:
        raise NotFound(f"failed to attach {name} to {master}: no such device")
    try:
        rtnl.link_set(idx, up=True, master=midx)
        if hairpin:
            rtnl.hairpin(idx)
    except OSError as exc:
        raise _fail(exc, f"failed to attach {name} to bridge {master}") from None


def link_move(name: str, netns: str, new_name: str) -> None:
    """Move a host link into ``netns`` under ``new_name`` (macvlan, plugin interfaces)."""
    idx = link_index(name)
    if idx is None:
        raise NotFound(f"failed to move {name}: no such device")
    try:
        _ipr().link("set", index=idx, net_ns_fd=netns)
        nidx = link_index(name, netns)
        _ipr(netns).link("set", index=nidx, ifname=new_name)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to move {name} into {netns}") from None


def sandbox_interface_up(
    netns: str,
    ifname: str,
    *,
    addresses: list[str],
    gateway: str = "",
    gateway6: str = "",
    routes: list[tuple[str, str]] | None = None,
) -> None:
    """Inside a sandbox: addresses on ``ifname``, lo and ``ifname`` up, default routes."""
    idx = link_index(ifname, netns)  # NotFound when the sandbox namespace is gone
    if idx is None:
        raise NotFound(f"interface {ifname} not found in sandbox")
    try:
        if idx != 1 and any(":" in cidr for cidr in addresses):
            rtnl.ipv6_enable(netns, ifname)  # sandboxes start with IPv6 off (netns_create)
        rtnl.link_set(1, netns, up=True)  # lo
        for cidr in addresses:
            addr_add(idx, cidr, netns)
        if idx != 1:
            rtnl.link_set(idx, netns, up=True)
        if gateway:
            rtnl.route_replace(idx, "default", gateway, netns, family=rtnl.AF_INET)
        if gateway6:
            rtnl.route_replace(idx, "default", gateway6, netns, family=rtnl.AF_INET6)
        for dst, via in routes or []:
            rtnl.route_replace(idx, dst, via or None, netns)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to configure {ifname} in sandbox") from None


def _route_replace(ipr: Any, *, dst: str, gateway: str | None, oif: int, family: int = 2) -> None:
    kw: dict[str, Any] = {"dst": dst, "oif": oif, "family": family, "proto": 3}  # RTPROT_BOOT, as `ip route`
    if gateway:
        kw["gateway"] = gateway
    ipr.route("replace", **kw)


# -- macvlan -----------------------------------------------------------------------------


def macvlan_create(
    name: str, *, parent: str, mode: str, netns: str, new_name: str, mtu: int | None, mac: str = ""
) -> None:
    """A macvlan sub-interface of ``parent`` born inside ``netns`` as ``new_name``."""
    pidx = link_index(parent)
    if pidx is None:
        raise NotFound(f"-o parent interface was not found on the host: {parent}")
    spec: dict[str, Any] = {"ifname": name, "kind": "macvlan", "link": pidx, "macvlan_mode": mode}
    if mtu:
        spec["mtu"] = mtu
    if mac:
        spec["address"] = mac
    try:
        _ipr().link("add", **spec)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to create macvlan {name}") from None
    link_move(name, netns, new_name)


def link_kind_supported(kind: str) -> bool:
    """Probe whether the kernel can make links of ``kind`` (e.g. ipvlan, vlan)."""
    name = f"pyn-probe{os.getpid() % 100000}"
    try:
        _ipr().link("add", ifname=name, kind=kind)
    except Exception as exc:  # noqa: BLE001
        return getattr(exc, "code", None) != errno.EOPNOTSUPP
    link_delete(name)
    return True


# -- macvlan and remote-plugin helpers (issue #6) -------------------------------------
def link_move_to_host(netns: str, name: str, new_name: str) -> None:
    """Move ``name`` out of the sandbox ``netns`` back into the host, renamed ``new_name``.

    What Docker's sandbox does on leave for a plugin's interface, so the plugin finds it
    again under the name it chose. Success when the sandbox or the link is already gone.
    """
    idx = _index_if_present(name, netns)
    if idx is None:
        return
    try:
        ipr = _ipr(netns)
        ipr.link("set", index=idx, state="down")
        # The fd of our own netns: the kernel resolves it in the caller (the host).
        ipr.link("set", index=idx, net_ns_fd=f"/proc/{os.getpid()}/ns/net")
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) in (errno.ENODEV, errno.ENOENT):
            return
        raise _fail(exc, f"failed to move {name} out of {netns}") from None
    hidx = link_index(name)
    if hidx is not None and name != new_name:
        try:
            _ipr().link("set", index=hidx, ifname=new_name)
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"failed to rename {name} to {new_name}") from None


def sandbox_set_mac(netns: str, ifname: str, mac: str) -> None:
    """Give ``ifname`` in the sandbox the MAC address ``mac`` (link still down)."""
    idx = link_index(ifname, netns)
    if idx is None:
        raise NotFound(f"interface {ifname} not found in sandbox")
    try:
        _ipr(netns).link("set", index=idx, address=mac)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to set MAC address {mac} on {ifname}") from None


def sandbox_routes(netns: str, ifname: str, routes: list[tuple[str, str]]) -> None:
    """Routes ``(destination CIDR, next hop or "")`` on ``ifname`` in the sandbox (v4 or v6)."""
    ipr = _ipr(netns)
    idx = link_index(ifname, netns)
    if idx is None:
        raise NotFound(f"interface {ifname} not found in sandbox")
    for dst, via in routes:
        family = 10 if ":" in dst else 2
        try:
            _route_replace(ipr, dst=dst, gateway=via or None, oif=idx, family=family)
        except Exception as exc:  # noqa: BLE001
            raise _fail(exc, f"failed to add route {dst} via {via or ifname}") from None


def _host_link(name: str) -> Any:
    """pyroute2's message for host link ``name``, or None when there is none."""
    idx = link_index(name)
    return None if idx is None else _ipr().link("get", index=idx)[0]


def link_kind(name: str) -> str | None:
    """The kind (``bridge``, ``veth``, ``macvlan``...) of host link ``name``; ``""`` for a
    device without one (a NIC); None when absent."""
    try:
        return rtnl.link_kind(name)
    except OSError as exc:
        raise _fail(exc, f"failed to look up link {name}") from None


def vlan_create(name: str, *, parent: str, vid: int) -> None:
    """An 802.1q sub-interface ``name`` of ``parent`` with VLAN id ``vid``, brought up."""
    pidx = link_index(parent)
    if pidx is None:
        raise NotFound(f"-o parent interface was not found on the host: {parent}")
    try:
        _ipr().link("add", ifname=name, kind="vlan", link=pidx, vlan_id=vid)
        _ipr().link("set", index=link_index(name), state="up")
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to create {name} vlan link") from None


# -- overlay networks (issue #5): VXLAN with static peers ------------------------------
NTF_SELF = 0x02  # an FDB entry of the device itself (the VXLAN table), not its master's
NTF_MASTER = 0x04  # an entry of the bridge the device is a port of
NUD_NOARP = 0x40  # `static` in a bridge's table (NUD_PERMANENT there means "local")
NUD_PERMANENT = 0x80


def overlay_vxlan_create(name: str, *, vni: int, local: str, underlay: str | None, port: int, mtu: int) -> None:
    """A VXLAN device for an overlay: explicit UDP port, learning off, ARP/ND proxy on.

    With ``proxy`` the device answers ARP/ND from its static neighbour entries and never
    floods those requests to other hosts. An existing device of that name is adopted.
    """
    spec: dict[str, Any] = {
        "ifname": name,
        "kind": "vxlan",
        "vxlan_id": vni,
        "vxlan_port": port,
        "vxlan_learning": 0,
        "vxlan_proxy": 1,
        "vxlan_local": local,
        "mtu": mtu,
    }
    if underlay and (uidx := link_index(underlay)) is not None:
        spec["vxlan_link"] = uidx
    try:
        _ipr().link("add", **spec)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) != errno.EEXIST:
            raise _fail(exc, f"failed to create vxlan {name} (VNI {vni})") from None


def links_snapshot(netns: str | None = None) -> dict[str, dict[str, Any]]:
    """Every link of the host (None) or of the netns at ``netns``, by name: ``ifindex``,
    ``kind`` ("" for a NIC), ``state`` (operstate, lower case), ``master`` (a name or ""),
    ``mac``, ``mtu``, ``peer_ifindex`` (a veth's other end, 0 when not one) and
    ``addresses`` (CIDRs). One dump each (what ``topology`` and ``inspect -v`` show)."""
    ipr = _ipr(netns)
    try:
        links = list(ipr.get_links())
        addrs = list(ipr.get_addr())
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, "failed to list links") from None
    by_index: dict[int, dict[str, Any]] = {}
    for link in links:
        info = link.get_attr("IFLA_LINKINFO")
        by_index[link["index"]] = {
            "name": link.get_attr("IFLA_IFNAME"),
            "ifindex": link["index"],
            "kind": (info.get_attr("IFLA_INFO_KIND") if info else None) or "",
            "state": str(link.get_attr("IFLA_OPERSTATE") or "").lower(),
            "master_index": link.get_attr("IFLA_MASTER") or 0,
            "mac": link.get_attr("IFLA_ADDRESS") or "",
            "mtu": link.get_attr("IFLA_MTU") or 0,
            "peer_ifindex": link.get_attr("IFLA_LINK") or 0,
            "addresses": [],
        }
    for a in addrs:
        entry = by_index.get(a["index"])
        if entry is not None:
            entry["addresses"].append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
    names = {index: entry.pop("name") for index, entry in by_index.items()}
    for entry in by_index.values():
        entry["master"] = names.get(entry.pop("master_index"), "")
        if entry["kind"] != "veth":
            entry["peer_ifindex"] = 0
    return {names[index]: entry for index, entry in by_index.items()}


def link_master_name(name: str) -> str | None:
    """The bridge ``name`` is enslaved to, or None."""
    link = _host_link(name)
    if link is None:
        return None
    master = link.get_attr("IFLA_MASTER")
    if not master:
        return None
    found = _ipr().link("get", index=master)
    return found[0].get_attr("IFLA_IFNAME") if found else None


def bridge_port_names(bridge: str) -> list[str]:
    """Names of the links enslaved to ``bridge`` ([] when it does not exist)."""
    idx = link_index(bridge)
    if idx is None:
        return []
    return [
        link.get_attr("IFLA_IFNAME") for link in _ipr().link("dump", master=idx) if link.get_attr("IFLA_MASTER") == idx
    ]


def link_of_address(address: str) -> tuple[str, int] | None:
    """(name, MTU) of the host link that holds ``address``; None when no link does."""
    family = 10 if ":" in address else 2
    for a in _ipr().addr("dump", family=family):
        if a.get_attr("IFA_ADDRESS") == address or a.get_attr("IFA_LOCAL") == address:
            link = _ipr().link("get", index=a["index"])[0]
            return link.get_attr("IFLA_IFNAME"), int(link.get_attr("IFLA_MTU"))
    return None


def vxlan_fdb_entries(dev: str) -> set[tuple[str, str]]:
    """The device's own (``self``) FDB entries that point at a remote VTEP: {(mac, dst)}."""
    idx = link_index(dev)
    if idx is None:
        return set()
    out = set()
    for m in _ipr().fdb("dump", ifindex=idx):
        dst = m.get_attr("NDA_DST")
        if m["ifindex"] == idx and dst and m["flags"] & NTF_SELF:
            out.add((m.get_attr("NDA_LLADDR"), dst))
    return out


def vxlan_fdb_add(dev: str, mac: str, dst: str) -> None:
    """Static FDB entry ``mac -> dst`` (``append``: the all-zero MAC may have many dsts)."""
    try:
        _ipr().fdb("append", ifindex=link_index(dev), lladdr=mac, dst=dst, flags=NTF_SELF, state=NUD_PERMANENT)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "code", None) != errno.EEXIST:
            raise _fail(exc, f"failed to add fdb entry {mac} dst {dst} on {dev}") from None


def vxlan_fdb_del(dev: str, mac: str, dst: str) -> None:
    idx = link_index(dev)
    if idx is not None:
        _delete_if_present(
            f"failed to delete fdb entry {mac} dst {dst} on {dev}",
            "fdb",
            "del",
            ifindex=idx,
            lladdr=mac,
            dst=dst,
            flags=NTF_SELF,
        )


def port_learning_off(dev: str) -> None:
    """`bridge link set dev <dev> learning off`: the bridge learns no MAC behind this port."""
    idx = link_index(dev)
    if idx is None:
        raise NotFound(f"failed to turn learning off on {dev}: no such device")
    try:
        rtnl.learning(idx, False)
    except OSError as exc:
        raise _fail(exc, f"failed to turn learning off on {dev}") from None


def port_fdb_entries(dev: str) -> set[str]:
    """MACs of the static entries that the bridge ``dev`` is a port of holds for it."""
    idx = link_index(dev)
    if idx is None:
        return set()
    return {
        m.get_attr("NDA_LLADDR")
        for m in _ipr().fdb("dump", ifindex=idx)
        if m["ifindex"] == idx
        and m["flags"] & NTF_MASTER
        and not m["flags"] & NTF_SELF
        and m["state"] & NUD_NOARP
        and not m["state"] & NUD_PERMANENT
    }


def _delete_if_present(what: str, request: str, *args: Any, **kwargs: Any) -> None:
    """Run the host IPRoute's ``request`` (a delete); an entry or device gone already is success."""
    try:
        getattr(_ipr(), request)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - pyroute2's NetlinkError, mapped by _fail
        if getattr(exc, "code", None) not in (errno.ENOENT, errno.ENODEV):
            raise _fail(exc, what) from None


def port_fdb_set(dev: str, mac: str) -> None:
    """`bridge fdb replace <mac> dev <dev> master static`: the bridge sends ``mac`` to ``dev``."""
    try:
        _ipr().fdb("replace", ifindex=link_index(dev), lladdr=mac, flags=NTF_MASTER, state=NUD_NOARP)
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to add bridge fdb entry {mac} on {dev}") from None


def port_fdb_del(dev: str, mac: str) -> None:
    """Remove the bridge's entry for ``mac`` on port ``dev`` (static or learnt); gone is fine."""
    idx = link_index(dev)
    if idx is not None:
        _delete_if_present(
            f"failed to delete bridge fdb entry {mac} on {dev}",
            "fdb",
            "del",
            ifindex=idx,
            lladdr=mac,
            flags=NTF_MASTER,
        )


def vxlan_fdb_forget(dev: str, mac: str) -> None:
    """Remove every VXLAN (``self``) entry for ``mac`` on ``dev``, whatever its destination."""
    for have, dst in vxlan_fdb_entries(dev):
        if have == mac:
            vxlan_fdb_del(dev, mac, dst)


def neigh_entries(dev: str) -> set[tuple[str, str]]:
    """Permanent neighbour entries (IPv4 and IPv6) on ``dev``: {(ip, mac)}."""
    idx = link_index(dev)
    if idx is None:
        return set()
    out = set()
    for m in _ipr().neigh("dump", ifindex=idx):
        ip, mac = m.get_attr("NDA_DST"), m.get_attr("NDA_LLADDR")
        if m["ifindex"] == idx and ip and mac and m["state"] & NUD_PERMANENT:
            out.add((ip, mac))
    return out


def neigh_set(dev: str, ip: str, mac: str) -> None:
    """A permanent neighbour entry ``ip -> mac`` on ``dev`` (replacing any other)."""
    try:
        _ipr().neigh(
            "replace", ifindex=link_index(dev), dst=ip, lladdr=mac, state=NUD_PERMANENT, family=10 if ":" in ip else 2
        )
    except Exception as exc:  # noqa: BLE001
        raise _fail(exc, f"failed to add neighbour {ip} on {dev}") from None


def neigh_remove(dev: str, ip: str) -> None:
    idx = link_index(dev)
    if idx is not None:
        _delete_if_present(
            f"failed to delete neighbour {ip} on {dev}",
            "neigh",
            "del",
            ifindex=idx,
            dst=ip,
            family=10 if ":" in ip else 2,
        )


# -- path facts (read-only: `pynet network diagnose`) ---------------------------------
_BRPORT_STATES = {0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}
_NUD_NAMES = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}
IFF_UP = 0x1


def link_facts(name: str, netns: str | None = None) -> dict[str, Any] | None:
    """What ``ip -d addr show NAME`` tells about one link, or None when it does not exist.

    ``{"name", "index", "up" (admin), "oper" (IFLA_OPERSTATE), "kind", "master" (name or
    None), "port_state" (bridge port state or None), "addresses" (["10.0.0.2/24"])}``.
    """
    idx = _index_if_present(name, netns)
    if idx is None:
        return None
    ipr = _ipr(netns)
    link = ipr.link("get", index=idx)[0]
    info = link.get_attr("IFLA_LINKINFO")
    slave = info.get_attr("IFLA_INFO_SLAVE_DATA") if info is not None else None
    state = slave.get_attr("IFLA_BRPORT_STATE") if slave is not None else None
    master = link.get_attr("IFLA_MASTER")
    return {
        "name": name,
        "index": idx,
        "up": bool(link["flags"] & IFF_UP),
        "oper": link.get_attr("IFLA_OPERSTATE") or "UNKNOWN",
        "kind": info.get_attr("IFLA_INFO_KIND") if info is not None else None,
        "master": ipr.link("get", index=master)[0].get_attr("IFLA_IFNAME") if master else None,
        "port_state": _BRPORT_STATES.get(state, str(state)) if state is not None else None,
        "addresses": [f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr(index=idx, family=2)],
    }


def route_to(address: str, netns: str | None = None) -> dict[str, Any] | None:
    """``ip route get ADDRESS``: ``{"dev", "gateway", "source", "type"}``; None when unreachable."""
    ipr = _ipr(netns)
    try:
        route = ipr.route("get", dst=address)[0]
    except Exception as exc:  # noqa: BLE001 - pyroute2's NetlinkError; the errno decides
        if getattr(exc, "code", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL):
            return None
        raise _fail(exc, f"failed to look up the route to {address}") from None
    oif = route.get_attr("RTA_OIF")
    dev = ipr.link("get", index=oif)[0].get_attr("IFLA_IFNAME") if oif else None
    kinds = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable", 8: "prohibit"}
    return {
        "dev": dev,
        "gateway": route.get_attr("RTA_GATEWAY"),
        "source": route.get_attr("RTA_PREFSRC"),
        "type": kinds.get(route["type"], str(route["type"])),
    }


def neigh_state(dev: str, address: str, netns: str | None = None) -> str | None:
    """The neighbour entry of ``address`` on ``dev`` ("REACHABLE", "STALE"...); None when absent."""
    idx = _index_if_present(dev, netns)
    if idx is None:
        return None
    for m in _ipr(netns).neigh("dump", ifindex=idx):
        if m["ifindex"] == idx and m.get_attr("NDA_DST") == address:
            names = [n for bit, n in _NUD_NAMES.items() if m["state"] & bit]
            return "|".join(names) or "NONE"
    return None

"""Cluster membership and global networks: join, leave, ls, rm, and sync.

A node is a member when ``<state>/cluster.json`` exists (written by ``join``). Members
are listed under ``/pynet/nodes/`` in etcd; a node is *alive* while its helper daemon
keeps its lease (``/pynet/alive/<node>``). Global (overlay) networks live in etcd;
``sync`` — run at the start of every command on a member — keeps a local copy of each
in the local state, so ``network ls``/``inspect``/``run --network`` see them as any
other network, and drops the copies of networks removed cluster-wide.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.notifier import Notifier

from pynet.records.model import Network, from_dict, to_dict
from pynet.cnm.notifier import NullNotifier
from pynet.cnm.repo import Repo
from pynet.drivers.base import ClusterMember
from pynet.records.undo import UndoLog
from pynet.firewall.hooks import NOTICES
from pynet.errors import Conflict, Forbidden, InvalidArgument, NotFound, PynetError, Unavailable, Unsupported
from pynet.state import etcd as kv

SYNC_TIMEOUT = 1.5  # a command on a member waits at most this for the store
# "down" only means the node's lease expired: a node cut off from the store looks the same.
DOWN_MAY_RETURN = (
    "node {name} is down, but it may only be cut off from the cluster store: "
    "removing it hands its containers' addresses out again, and if it comes back "
    "two containers hold the same address. Use --force if it is gone for good"
)


@dataclass
class NodeView:
    """One line of ``pynet cluster ls``."""

    id: str
    name: str
    hostname: str
    addr: str
    alive: bool
    self: bool


# -- join / leave ----------------------------------------------------------------------------
def check_store_url(store: str) -> None:
    """InvalidArgument unless ``store`` is a cluster store URL pynet can use (``etcd://HOST:PORT``)."""
    kv.parse_url(store)


def join(ctl: Any, *, store: str, advertise_addr: str, ttl: int, hostname: str = "") -> str:
    """Make this node a member of the cluster at ``store``; idempotent. Returns a message."""
    host, port = kv.parse_url(store)
    url = f"etcd://{host}:{port}"
    _check_addr(advertise_addr)
    if not 1 <= ttl <= 3600:
        raise InvalidArgument(f"invalid --ttl {ttl}: must be between 1 and 3600 seconds")
    root = ctl.store.root
    cfg = kv.load_config(root)
    if cfg is not None and (cfg.store != url or cfg.advertise_addr != advertise_addr):
        raise Conflict(
            f"This node is already part of a cluster (store {cfg.store}, address "
            f'{cfg.advertise_addr}). Use "pynet cluster leave" to leave it and join another one.'
        )
    already = cfg is not None
    if cfg is None:
        name = hostname or socket.gethostname()
        node_id = secrets.token_hex(6)
        cfg = kv.ClusterConfig(
            store=url,
            advertise_addr=advertise_addr,
            node_id=node_id,
            node_name=f"{name}-{node_id}",
            hostname=name,
            ttl=ttl,
        )
    else:
        cfg.ttl = ttl
    _underlay_ok(advertise_addr)
    etcd = kv.client(cfg)
    _register_node(etcd, cfg)
    with ctl.mutation() as (repo, undo):
        kv.save_config(root, cfg)
        sync(repo, undo, strict=True, notifier=ctl.notifier)
    _tell_daemon(ctl.notifier)
    if already:
        return f"This node is already part of the cluster at {url}."
    return f"This node joined the cluster at {url} as {cfg.node_name}."


def _check_addr(addr: str) -> None:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise InvalidArgument(f"advertise address must be a non-zero IP address: {addr!r}") from None
    if ip.is_unspecified or ip.is_loopback:
        raise InvalidArgument(f"advertise address must be a non-zero, non-loopback IP address: {addr}")


def _underlay_ok(addr: str) -> None:
    from pynet.kernel import netlink

    if netlink.link_of_address(addr) is None:
        raise InvalidArgument(f"advertise address {addr} is not an address of this host")


def _register_node(etcd: kv.Etcd, cfg: kv.ClusterConfig) -> None:
    (nodes, alive), _ = etcd.read_many(
        [kv.range_op(kv.NODES, prefix=True), kv.range_op(kv.ALIVE, prefix=True, keys_only=True)]
    )
    live = {x.key[len(kv.ALIVE) :] for x in alive}
    for node in (x.json() or {} for x in nodes):
        if node.get("addr") == cfg.advertise_addr and node.get("id") != cfg.node_id:
            if node.get("id") in live:
                raise Conflict(
                    f"advertise address {cfg.advertise_addr} is already used by node {node.get('name')}, which is alive"
                )
            etcd.delete(kv.node_key(node["id"]))  # a stale record of this same machine
    etcd.put(
        kv.node_key(cfg.node_id),
        {
            "id": cfg.node_id,
            "name": cfg.node_name,
            "hostname": cfg.hostname,
            "addr": cfg.advertise_addr,
            "joined": int(time.time()),
        },
    )


def _tell_daemon(notifier: Notifier) -> None:
    """Have the helper (re)read the membership: it holds the lease and programs peers."""
    try:
        notifier.ensure_running()
    except PynetError as exc:
        NOTICES.append(f"WARNING: {exc}; this node will show as down until the helper runs")
        return
    reply = notifier.reload_cluster(timeout=8.0)
    if not reply or not reply.get("ok"):
        error = (reply or {}).get("error") or "no answer"
        NOTICES.append(f"WARNING: the pynet helper could not take the cluster lease: {error}")


def leave(ctl: Any, *, force: bool = False) -> str:
    """Leave the cluster; idempotent. Refuses while containers here use global networks."""
    root = ctl.store.root
    cfg = kv.load_config(root)
    if cfg is None:
        return "This node is not part of a cluster."
    with ctl.mutation() as (repo, _undo):
        users = _global_users(repo)
        if users:
            raise Conflict(
                "cannot leave the cluster: containers on this node are attached to "
                f"overlay networks ({', '.join(sorted(users))}); remove them first"
            )
        try:
            etcd = kv.client(cfg)
            etcd.txn([], [kv.delete_op(kv.node_key(cfg.node_id)), kv.delete_op(kv.alive_key(cfg.node_id))])
        except Unavailable:
            if not force:
                raise
            NOTICES.append(f"WARNING: left without telling the cluster store at {cfg.store}")
        for net in _global_networks(repo):
            drop_local(repo, net)
        kv.remove_config(root)
        kv.save_cleanups(root, [])
    _tell_daemon_left(ctl.notifier)
    return "Node left the cluster."


def _tell_daemon_left(notifier: Notifier) -> None:
    if notifier.is_running():
        notifier.reload_cluster(timeout=5.0)


def _global_users(repo: Repo) -> set[str]:
    names = set()
    for net in _global_networks(repo):
        for ep in repo.network_endpoints(net.id):
            names.add(ep.name)
    return names


def _global_networks(repo: Repo) -> list[Network]:
    from pynet.drivers import driver_class

    return [n for n in repo.networks() if n.scope == "global" and driver_class(n.driver).cluster_store]


def drop_local(repo: Repo, net: Network) -> None:
    """Forget this node's copy of a global network (and its devices); the cluster keeps it."""
    _member(net).remove_local(net)
    repo.delete_network(net.id)


def _member(net: Network) -> ClusterMember:
    """The driver of global network ``net``, as a cluster member."""
    from pynet.drivers import get_driver

    drv = get_driver(net.driver)
    if not isinstance(drv, ClusterMember):
        raise Unsupported(f"driver {net.driver} cannot serve a cluster network")
    return drv


# -- ls / rm ---------------------------------------------------------------------------------
def nodes(ctl: Any) -> list[NodeView]:
    """Every member, alive or down."""
    cfg = _config(ctl)
    (found, alive), _ = kv.client(cfg).read_many(
        [kv.range_op(kv.NODES, prefix=True), kv.range_op(kv.ALIVE, prefix=True, keys_only=True)]
    )
    live = {x.key[len(kv.ALIVE) :] for x in alive}
    out = []
    for rec in (x.json() or {} for x in found):
        node_id = rec.get("id", "")
        out.append(
            NodeView(
                node_id,
                rec.get("name", ""),
                rec.get("hostname", ""),
                rec.get("addr", ""),
                node_id in live,
                node_id == cfg.node_id,
            )
        )
    return sorted(out, key=lambda n: (n.hostname, n.addr, n.id))


def remove_node(ctl: Any, ref: str, *, force: bool = False) -> NodeView:
    """Forget a node that is gone for good, with its endpoints and addresses."""
    matches = [n for n in nodes(ctl) if ref in (n.id, n.name, n.addr) or n.id.startswith(ref)]
    if not matches:
        raise NotFound(f"node {ref} not found")
    if len(matches) > 1:
        raise InvalidArgument(f"node {ref} is ambiguous ({len(matches)} matches found)")
    node = matches[0]
    if node.self:
        raise Conflict('this node cannot remove itself: use "pynet cluster leave"')
    if node.alive and not force:
        raise Conflict(f"node {node.name} is not down and can't be removed")
    if not force:
        raise Conflict(DOWN_MAY_RETURN.format(name=node.name))
    etcd = kv.client(_config(ctl))
    (eps, addrs), _ = etcd.read_many(
        [kv.range_op(kv.ENDPOINTS, prefix=True, keys_only=True), kv.range_op(kv.IPAM, prefix=True)]
    )
    doomed = [x.key for x in eps if (kv.split_endpoint_key(x.key) or ("", "", ""))[1] == node.id]
    doomed += [x.key for x in addrs if (x.json() or {}).get("node") == node.id]
    ops = [kv.delete_op(k) for k in doomed] + [kv.delete_op(kv.node_key(node.id)), kv.delete_op(kv.alive_key(node.id))]
    for start in range(0, len(ops), 100):  # etcd caps operations per transaction (128)
        etcd.txn([], ops[start : start + 100])
    return node


def _config(ctl: Any) -> kv.ClusterConfig:
    cfg = kv.load_config(ctl.store.root)
    if cfg is None:
        raise Forbidden(
            'This node is not part of a cluster. Use "pynet cluster join" to connect '
            "this node to a cluster store and try again."
        )
    return cfg


# -- sync ------------------------------------------------------------------------------------
def sync(repo: Repo, undo: UndoLog, *, strict: bool = False, notifier: Notifier | None = None) -> None:
    """Bring the global networks from etcd into the local state (and drop removed ones).

    When the store cannot be reached a warning is noted and the last known copies stay
    (local networks keep working); ``strict`` raises instead. ``notifier``: the helper,
    started again when it is gone (it holds this node's lease); none: no helper.
    """
    root = repo.store.root
    cfg = kv.load_config(root)
    if cfg is None:
        return
    etcd = kv.client(cfg, timeout=SYNC_TIMEOUT)
    try:
        _replay_cleanups(etcd, root)
        (records, found, alive, eps), _ = etcd.read_many(
            [
                kv.range_op(kv.NETWORKS, prefix=True),
                kv.range_op(kv.NODES, prefix=True),
                kv.range_op(kv.ALIVE, prefix=True, keys_only=True),
                kv.range_op(kv.ENDPOINTS, prefix=True, keys_only=True),
            ]
        )
    except Unavailable as exc:
        if strict:
            raise
        NOTICES.append(f"WARNING: {exc}; global networks are shown as last known")
        return
    if not any(x.key == kv.node_key(cfg.node_id) for x in found):
        try:
            _rejoin(repo, undo, etcd, cfg)  # `cluster rm` removed this node while it was away
        except PynetError as exc:
            if strict:
                raise
            NOTICES.append(f"WARNING: this node was removed from the cluster and could not register again: {exc}")
    peers = _peers(found, alive, eps)
    remote = {}
    for x in records:
        rec = x.json()
        if isinstance(rec, dict) and rec.get("id"):
            remote[rec["id"]] = rec
    for rec in remote.values():
        _copy_in(repo, rec, peers.get(rec["id"], []))
    for net in _global_networks(repo):
        if net.id not in remote:
            if repo.member_count(net.id):
                NOTICES.append(
                    f"WARNING: network {net.name} was removed from the cluster but containers on this node still use it"
                )
                continue
            drop_local(repo, net)
    _ensure_daemon(notifier or NullNotifier())


def _rejoin(repo: Repo, undo: UndoLog, etcd: kv.Etcd, cfg: kv.ClusterConfig) -> None:
    """This node was removed (``cluster rm``) while it was cut off: register it again.

    Its endpoint records and addresses were deleted, and each address may have been
    handed out again since. A container here keeps an address only if it can take it back
    (an etcd transaction: the address is still free); otherwise it is disconnected from that
    network, so no address is ever held by two containers.
    """
    from pynet.cnm.containers import ContainerService

    for net in _global_networks(repo):
        for ep in repo.network_endpoints(net.id):
            c = repo.container(ep.container_id)
            if c is None:
                continue
            kept = _reclaim(etcd, net, ep, cfg.node_id)
            if kept is None:
                continue  # the network is gone from the store: sync warns about its users
            if kept:
                etcd.put(kv.endpoint_key(net.id, cfg.node_id, ep.id), _member(net).peer_record(ep, c.sandbox(), cfg))
                continue
            svc = ContainerService(repo, undo)
            if c.ports:
                from pynet.firewall import hooks as firewall_hooks

                firewall_hooks.unpublish(net, ep, c.ports)
            svc.endpoints.detach(c, net)
            svc.write_files(c)
            repo.put_container(c)
            NOTICES.append(
                f"WARNING: container {c.name} was disconnected from network {net.name}: this "
                "node was removed from the cluster while it was away, and its address "
                f"{ep.ipv4 or ep.ipv6} was handed out again"
            )
    _register_node(etcd, cfg)
    NOTICES.append(
        "WARNING: this node had been removed from the cluster (pynet cluster rm) while it "
        "was away; it registered again with the addresses it could keep"
    )


def _reclaim(etcd: kv.Etcd, net: Network, ep: Any, node: str) -> bool | None:
    """Take ``ep``'s addresses back in one transaction if every one is free (or still its own).

    False: another endpoint holds one of them; None: the network is not in the store.
    """
    keys = [kv.ipam_key(net.id, str(ipaddress.ip_interface(a).ip)) for a in (ep.ipv4, ep.ipv6) if a]
    mine = {"endpoint": ep.id, "node": node}
    ok, _, _ = etcd.txn(
        [kv.if_present(kv.network_key(net.id)), *(kv.if_absent(k) for k in keys)],
        [*(kv.put_op(k, mine) for k in keys), kv.put_op(kv.netrev_key(net.id), ep.id)],
    )
    if ok:
        return True
    if etcd.get(kv.network_key(net.id)) is None:
        return None
    held = [etcd.get(k) for k in keys]
    return all(h is not None and (h.json() or {}).get("endpoint") == ep.id for h in held)


def _peers(found: list[kv.KV], alive: list[kv.KV], eps: list[kv.KV]) -> dict[str, list[dict[str, str]]]:
    """Network id -> Docker's ``Peers``: the live nodes with endpoints on it."""
    live = {x.key[len(kv.ALIVE) :] for x in alive}
    info = {r.get("id"): r for r in (x.json() or {} for x in found)}
    members: dict[str, set[str]] = {}
    for x in eps:
        parts = kv.split_endpoint_key(x.key)
        if parts and parts[1] in live and parts[1] in info:
            members.setdefault(parts[0], set()).add(parts[1])
    out = {}
    for nid, node_ids in members.items():
        rows = [{"Name": info[n].get("name", n), "IP": info[n].get("addr", "")} for n in node_ids]
        out[nid] = sorted(rows, key=lambda r: (r["IP"], r["Name"]))
    return out


def _copy_in(repo: Repo, rec: dict[str, Any], peers: list[dict[str, str]]) -> None:
    local = repo.network(rec["id"])
    clash = repo.network_names().get(rec.get("name", ""))
    if clash and clash != rec["id"]:
        NOTICES.append(
            f"WARNING: global network {rec.get('name')} is hidden on this node: a local network has the same name"
        )
        return
    net = from_dict(Network, rec)
    if local is not None and "mtu" in local.driver_data:
        net.driver_data["mtu"] = local.driver_data["mtu"]
    if peers:
        net.driver_data["peers"] = peers
    if local is None:
        repo.init_ipam(net.id)
    if local is None or to_dict(local) != to_dict(net):
        repo.put_network(net)


def _replay_cleanups(etcd: kv.Etcd, root: Any) -> None:
    items = kv.pending_cleanups(root)
    if not items:
        return
    left = []
    for item in items:
        try:
            kv.run_cleanup(etcd, item)
        except Unavailable:
            left.append(item)
    kv.save_cleanups(root, left)
    if left:
        raise Unavailable(f"cannot reach the cluster store at {etcd.url}")


def _ensure_daemon(notifier: Notifier) -> None:
    """A member's helper holds its lease: start it again if it is gone."""
    if notifier.is_running():
        return
    try:
        notifier.ensure_running()
        notifier.reload_cluster(timeout=5.0)
    except PynetError as exc:
        NOTICES.append(f"WARNING: {exc}; this node shows as down until the helper runs")

"""Overlay peers in the helper daemon: lease, etcd watch, FDB/neighbour programming, DNS.

On a cluster member the helper keeps the node's lease alive, mirrors the cluster keys
from a snapshot plus a watch, programs the other alive nodes' endpoints on each local
``vx-<vni>`` device and feeds them to the DNS registry: overlay.md, "Design".
"""

from __future__ import annotations

import ipaddress
import logging
import time
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.daemon.etcd_stream import Call
from pynet.dns.names import Member, member_from_records
from pynet.errors import PynetError
from pynet.kernel.vxlan import FLOOD_MAC
from pynet.state import etcd as kv

log = logging.getLogger("pynetd")

LEASE_NAME = "cluster-lease"
RETRY = 1.0
MAX_BACKOFF = 8.0
BLOCKING_TIMEOUT = 1.5
REJOIN_DELAY = 1.0  # lets a `cluster leave` (which deletes our record too) finish first


def attach(daemon: Any) -> dict[str, Any]:
    """(Re)read the membership: start, keep, or stop the daemon's agent. The ``cluster`` op."""
    cfg = None
    try:
        cfg = kv.load_config(daemon.registry.store.root)
    except Exception as exc:  # noqa: BLE001 - a bad file must not stop DNS
        log.error("cannot read the cluster membership: %s", exc)
    agent = daemon.overlay
    if agent is not None and (cfg is None or cfg != agent.cfg):
        agent.close(revoke=cfg is None or cfg.node_id != agent.cfg.node_id)
        daemon.overlay = agent = None
    if cfg is not None and agent is None:
        daemon.overlay = agent = Agent(daemon, cfg)
        agent.start()
    return {"ok": True, "overlay": agent.status() if agent else None}


def desired_peers(
    remote: list[dict[str, Any]], vtep_of: Any, local_macs: frozenset[str] = frozenset()
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(FDB {(mac, vtep)}, neighbours {(ip, mac)}) for the remote endpoints of one network.

    A remote record with the MAC of a local endpoint is stale (the MAC follows the IP, and
    the address is ours now): it is left out, so it never points the MAC into the tunnel.
    """
    fdb: set[tuple[str, str]] = set()
    neigh: set[tuple[str, str]] = set()
    for ep in remote:
        vtep, mac = vtep_of(ep), (ep.get("mac") or "").lower()
        if not vtep or not mac or mac in local_macs:
            continue
        fdb.add((FLOOD_MAC, vtep))
        fdb.add((mac, vtep))
        for cidr in (ep.get("ipv4"), ep.get("ipv6")):
            if cidr:
                neigh.add((str(ipaddress.ip_interface(cidr).ip), mac))
    return fdb, neigh


def dns_members(remote: list[dict[str, Any]]) -> dict[str, Member]:
    """Remote endpoints as DNS members: container name, aliases, short container ID."""
    out = {}
    for ep in remote:
        container = {"id": ep.get("container", ""), "name": ep.get("name", ""), "hostname": ""}
        out[ep["id"]] = member_from_records(container, ep)
    return out


class Agent:
    """The overlay side of one helper daemon (one per cluster member)."""

    def __init__(self, daemon: Any, cfg: kv.ClusterConfig) -> None:
        self.daemon = daemon
        self.loop = daemon.loop
        self.cfg = cfg
        self.host, self.port = kv.parse_url(cfg.store)
        self.lease_file = Path(daemon.run_dir) / LEASE_NAME
        self.lease = 0
        self.closed = False
        self.networks: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.alive: set[str] = set()
        self.endpoints: dict[str, dict[str, dict[str, Any]]] = {}  # net -> endpoint -> record
        self.revision = 0
        self.synced = False
        self.watch: Call | None = None
        self.calls: set[Call] = set()
        self.programmed: dict[str, int] = {}  # net -> remote endpoints programmed
        self._dns: dict[str, dict[str, Member]] = {}
        self._dirty: set[str] = set()
        self._flush_timer: Any = None
        self._recover_timer: Any = None
        self._backoff = RETRY
        self.last_error = ""
        # Telling a dead peer from a stalled store (see _hold): when the store last answered
        # our keepalive, when an answer last came after a long silence, when we lost our lease.
        self._last_ok = time.monotonic()
        self._stall_end = self._own_lost = float("-inf")
        self.held: dict[str, float] = {}  # node -> until when its entries stay without its key
        self._rejoin_timer: Any = None
        self._rejoin_proc: Any = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Lease and snapshot now (bounded wait); on failure keep retrying in the background."""
        try:
            store = kv.Etcd(self.cfg.store, timeout=BLOCKING_TIMEOUT)
            self._take_lease(store)
            self._load_snapshot(*self._read_snapshot(store))
        except kv.Unavailable as exc:
            self._failed(str(exc))
            self._schedule_recover()
        else:
            self._start_watch()
            self._replay_outbox()
        self.loop.call_later(self._keepalive_period(), self._keepalive)

    def close(self, *, revoke: bool) -> None:
        self.closed = True
        for timer in (self._recover_timer, self._flush_timer, self._rejoin_timer):
            if timer is not None:
                timer.cancel()
        for call in [self.watch, *self.calls]:
            if call is not None:
                call.close()
        for nid in list(self._dns):
            self.daemon.registry.set_remote(nid, {})
        if revoke and self.lease:
            try:
                kv.Etcd(self.cfg.store, timeout=1.0).revoke(self.lease)
            except kv.Unavailable as exc:
                log.warning("could not revoke the cluster lease: %s", exc)
            self.lease_file.unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        return {
            "node": self.cfg.node_id,
            "lease": self.lease,
            "synced": self.synced,
            "watching": self.watch is not None and not self.watch.closed,
            "alive": sorted(self.alive),
            "held": sorted(self.held),
            "programmed": dict(self.programmed),
            "error": self.last_error,
        }

    def _failed(self, error: str) -> None:
        if error != self.last_error:
            log.warning("cluster store: %s", error)
        self.last_error = error

    # -- lease -------------------------------------------------------------------------
    def _keepalive_period(self) -> float:
        return max(0.3, self.cfg.ttl / 3.0)

    def _take_lease(self, store: kv.Etcd) -> None:
        """Reuse the lease a previous helper left (if alive), else grant one; publish alive."""
        if not self.lease:
            self.lease = self._saved_lease()
        if not self.lease or store.keepalive(self.lease) <= 0:
            self.lease = store.grant(self.cfg.ttl)
            self.lease_file.write_text(f"{self.cfg.node_id} {self.lease}\n")
        store.put(kv.alive_key(self.cfg.node_id), {"addr": self.cfg.advertise_addr}, lease=self.lease)
        self._store_answered()

    def _saved_lease(self) -> int:
        try:
            node, lease = self.lease_file.read_text().split()
            return int(lease) if node == self.cfg.node_id else 0
        except (OSError, ValueError):
            return 0

    def _keepalive(self) -> None:
        if self.closed:
            return
        self.loop.call_later(self._keepalive_period(), self._keepalive)
        if self._rejoin_proc is not None and self._rejoin_proc.poll() is not None:
            self._rejoin_proc = None  # reconciled: containers may have lost an endpoint
            self.daemon.registry.resync()
            self.local_changed()
        if not self.lease:
            self._schedule_recover()
            return

        lease = self.lease

        def answered(msg: Any) -> None:
            result = msg.get("result", msg) if isinstance(msg, dict) else {}
            if lease == self.lease and int(result.get("TTL", 0) or 0) <= 0:
                log.warning("cluster lease %s expired; taking a new one", self.lease)
                self.lease = 0
                self._own_lost = time.monotonic()
                self._schedule_recover(0)
            elif lease == self.lease:
                self._store_answered()
                self._replay_outbox()  # the store answers: cleanups it missed can go now

        self._call("/v3/lease/keepalive", {"ID": str(self.lease)}, answered)

    # -- a stalled store is not a dead peer ----------------------------------------------------
    def _store_answered(self) -> None:
        now = time.monotonic()
        if now - self._last_ok > self.cfg.ttl / 2:
            self._stall_end = now  # the first answer after a silence: leases may have run out
        self._last_ok = now

    def _store_suspect(self) -> bool:
        """True while the store itself may be why leases expired (a stall, or we were cut off).

        Then every node's lease runs out at once, ours too; withdrawing every peer and
        reinstalling it a second later would break all cross-host traffic for nothing.
        """
        now, window = time.monotonic(), self.cfg.ttl + 1.0
        return now - self._last_ok > self.cfg.ttl / 2 or now - self._stall_end < window or now - self._own_lost < window

    def _hold(self, node: str) -> None:
        """Keep ``node``'s entries for a grace period: its helper renews within it if alive."""
        grace = 2.0 * self.cfg.ttl + 1.0
        self.held[node] = time.monotonic() + grace
        log.info("cluster node %s lost its lease while the store stalled; keeping it %.0f s", node, grace)
        self.loop.call_later(grace, lambda: self._release(node))

    def _release(self, node: str) -> None:
        until = self.held.get(node)
        if until is not None and until <= time.monotonic() + 0.01:
            del self.held[node]
            self._dirty_node(node)
            self._schedule_flush()

    def _call(self, path: str, body: dict[str, Any], on_message: Any) -> None:
        """A short non-blocking request; errors are only noted (the next tick retries)."""
        holder: dict[str, Call] = {}

        def done(error: str | None) -> None:
            self.calls.discard(holder["call"])
            if error:
                self._failed(error)

        holder["call"] = call = Call(
            self.loop, self.host, self.port, path, body, on_message=on_message, on_done=done, timeout=BLOCKING_TIMEOUT
        )
        self.calls.add(call)

    def _schedule_recover(self, delay: float | None = None) -> None:
        """One pending retry at a time, backing off (1 s, 2 s ... 8 s) while the store is away."""
        if self.closed or self._recover_timer is not None:
            return
        wait = self._backoff if delay is None else delay
        self._recover_timer = self.loop.call_later(wait, self._recover)

    def _recover(self) -> None:
        """Lease and snapshot again (blocking, 0.5 s at most), then watch."""
        self._recover_timer = None
        if self.closed or not self._still_member():
            return
        try:
            store = kv.Etcd(self.cfg.store, timeout=0.5)
            if not self.lease:
                # Cut off for longer than the TTL: the watch may have died silently too.
                self._take_lease(store)
                if self.watch is not None:
                    self.watch.close()
                    self.watch = None
            if self.watch is None or self.watch.closed:
                self._load_snapshot(*self._read_snapshot(store))
                self._start_watch()
        except kv.Unavailable as exc:
            self._failed(str(exc))
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            self._schedule_recover()
        else:
            self.last_error = ""
            self._backoff = RETRY
            self._replay_outbox()

    def _replay_outbox(self) -> None:
        """Run the store cleanups that commands queued while the store was away.

        A container removed during a partition left its address and endpoint record in
        etcd (``<state>/cluster-outbox.json``); without this they stayed until the next
        pynet command on this host. Only when the state lock is free at once: a command
        holding it replays the queue in its own sync.
        """
        state = self.daemon.registry.store
        if self.closed or not (Path(state.root) / kv.OUTBOX_NAME).exists():
            return
        from pynet.errors import Timeout

        try:
            with state.locked(timeout=0):
                self._run_queued(state.root)
        except Timeout:
            return  # a command holds the state; it replays the queue itself
        except PynetError as exc:
            self._failed(f"cannot replay the queued cluster cleanups: {exc}")

    def _run_queued(self, root: Path) -> None:
        """(Under the state lock.) Run the queue in order; keep what the store did not take."""
        items = kv.pending_cleanups(root)
        store = kv.Etcd(self.cfg.store, timeout=BLOCKING_TIMEOUT)
        left = list(items)
        try:
            while left:
                kv.run_cleanup(store, left[0])
                left.pop(0)
        finally:
            if len(left) != len(items):
                kv.save_cleanups(root, left)
                log.info("cluster store: replayed %d queued cleanups", len(items) - len(left))

    # -- removed by `cluster rm` while away --------------------------------------------------
    def _rejoin_soon(self) -> None:
        """Our node record is gone: have pynet reconcile (after `cluster leave` settled, if that was it)."""
        if self._rejoin_timer is None and not self.closed:
            self._rejoin_timer = self.loop.call_later(REJOIN_DELAY, self._rejoin)

    def _rejoin(self) -> None:
        """Run ``pynet cluster _sync``: it takes back the addresses still free and re-registers
        this node; containers whose address went to someone else are disconnected. Without
        it this node stayed a zombie and two containers could hold one address."""
        self._rejoin_timer = None
        if self.closed or self.cfg.node_id in self.nodes or not self._still_member():
            return
        if self._rejoin_proc is not None and self._rejoin_proc.poll() is None:
            self._rejoin_soon()  # still running: look again later
            return
        import subprocess
        import sys

        log.warning("this node was removed from the cluster while it was away; reconciling")
        self._rejoin_proc = subprocess.Popen(
            [sys.executable, "-m", "pynet", "cluster", "_sync"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )  # stderr: our log

    def _still_member(self) -> bool:
        """False once ``cluster leave`` removed the membership (its ``cluster`` op follows)."""
        try:
            return kv.load_config(self.daemon.registry.store.root) == self.cfg
        except (PynetError, OSError) as exc:  # unreadable: keep going as we are
            log.warning("cannot read the cluster membership: %s", exc)
            return True

    # -- snapshot + watch --------------------------------------------------------------------
    @staticmethod
    def _read_snapshot(store: kv.Etcd) -> tuple[list[list[kv.KV]], int]:
        return store.read_many(
            [
                kv.range_op(kv.NETWORKS, prefix=True),
                kv.range_op(kv.NODES, prefix=True),
                kv.range_op(kv.ALIVE, prefix=True, keys_only=True),
                kv.range_op(kv.ENDPOINTS, prefix=True),
            ]
        )

    def _load_snapshot(self, ranges: list[list[kv.KV]], revision: int) -> None:
        networks, nodes, alive, endpoints = ranges
        was_alive = self.alive
        self.networks, self.nodes, self.alive, self.endpoints = {}, {}, set(), {}
        for item in [*networks, *nodes, *alive, *endpoints]:
            self._apply_put(item.key, item.value)
        if self._store_suspect():
            for node in was_alive - self.alive - {self.cfg.node_id}:
                self._hold(node)
        if self.cfg.node_id not in self.nodes:
            self._rejoin_soon()
        self.revision = revision
        self.synced = True
        self._dirty |= set(self.networks) | set(self.programmed) | set(self._dns)
        self.flush()

    def _start_watch(self) -> None:
        if self.closed:
            return
        body = {
            "create_request": {
                "key": kv.b64(kv.PREFIX),
                "range_end": kv.prefix_end(kv.PREFIX),
                "start_revision": str(self.revision + 1),
            }
        }
        self.watch = Call(
            self.loop,
            self.host,
            self.port,
            "/v3/watch",
            body,
            on_message=self._on_watch,
            on_done=self._watch_ended,
            timeout=None,
        )

    def _on_watch(self, msg: Any) -> None:
        result = msg.get("result") if isinstance(msg, dict) else None
        if not isinstance(result, dict):
            return
        if result.get("canceled") or result.get("compact_revision"):
            log.info("cluster watch cancelled (%s); reloading", result.get("cancel_reason", "compacted"))
            if self.watch is not None:
                self.watch.close()
            self.watch = None
            self._schedule_recover(0)
            return
        for event in result.get("events") or []:
            item = kv.kv_from(event.get("kv") or {})
            self.revision = max(self.revision, item.mod_revision)
            if event.get("type") == "DELETE":
                self._apply_delete(item.key)
            else:
                self._apply_put(item.key, item.value)
        self._schedule_flush()

    def _watch_ended(self, error: str | None) -> None:
        self.watch = None
        if not self.closed:
            self._failed(f"watch ended: {error or 'closed by the store'}")
            self._schedule_recover()

    # -- the cache -----------------------------------------------------------------------------
    def _apply_put(self, key: str, value: bytes) -> None:
        try:
            record = kv.KV(key, value).json() if value else {}
        except ValueError:
            return
        if key.startswith(kv.NETWORKS) and isinstance(record, dict):
            nid = key[len(kv.NETWORKS) :]
            self.networks[nid] = record
            self._dirty.add(nid)
        elif key.startswith(kv.NODES) and isinstance(record, dict):
            node = key[len(kv.NODES) :]
            self.nodes[node] = record
            self._dirty_node(node)
        elif key.startswith(kv.ALIVE):
            node = key[len(kv.ALIVE) :]
            self.alive.add(node)
            self.held.pop(node, None)
            self._dirty_node(node)
        elif (parts := kv.split_endpoint_key(key)) and isinstance(record, dict):
            record.setdefault("id", parts[2])
            record["node"] = parts[1]
            self.endpoints.setdefault(parts[0], {})[parts[2]] = record
            self._dirty.add(parts[0])

    def _apply_delete(self, key: str) -> None:
        if key.startswith(kv.NETWORKS):
            nid = key[len(kv.NETWORKS) :]
            self.networks.pop(nid, None)
            self.endpoints.pop(nid, None)
            self._dirty.add(nid)
        elif key.startswith(kv.NODES):
            self.nodes.pop(key[len(kv.NODES) :], None)
            self._dirty_node(key[len(kv.NODES) :])
            if key[len(kv.NODES) :] == self.cfg.node_id:
                self._rejoin_soon()
        elif key.startswith(kv.ALIVE):
            node = key[len(kv.ALIVE) :]
            self.alive.discard(node)
            if node == self.cfg.node_id:
                self._own_lost = time.monotonic()
            elif self._store_suspect():
                self._hold(node)
            self._dirty_node(node)
            # Our own key: the keepalive finds out whether the lease itself expired (then a
            # new one is taken); a key removed by `cluster leave`/`rm` is not put back.
        elif parts := kv.split_endpoint_key(key):
            self.endpoints.get(parts[0], {}).pop(parts[2], None)
            self._dirty.add(parts[0])

    def _dirty_node(self, node: str) -> None:
        for nid, eps in self.endpoints.items():
            if any(ep.get("node") == node for ep in eps.values()):
                self._dirty.add(nid)

    # -- programming -------------------------------------------------------------------------
    def local_changed(self) -> None:
        """Containers here changed (a notify): devices may have come or gone; reconcile now."""
        if not self.synced and not self.closed:
            if self._recover_timer is not None:
                self._recover_timer.cancel()
            self._recover()
        self._dirty |= set(self.networks) | set(self.programmed)
        self.flush()

    def _schedule_flush(self) -> None:
        if self._flush_timer is None and self._dirty:
            self._flush_timer = self.loop.call_later(0, self.flush)

    def flush(self) -> None:
        self._flush_timer = None
        if self.closed:
            return
        dirty, self._dirty = self._dirty, set()
        started = time.monotonic()
        for nid in sorted(dirty):
            try:
                self._reconcile(nid)
            except Exception as exc:  # noqa: BLE001 - one network must not stop the rest
                log.error("overlay network %s: cannot program peers: %s", nid[:12], exc)
        if dirty:
            log.debug("overlay: reconciled %d networks in %.1f ms", len(dirty), (time.monotonic() - started) * 1000)

    def _remote(self, nid: str) -> list[dict[str, Any]]:
        me = self.cfg.node_id
        present = self.alive | set(self.held)
        return [ep for ep in self.endpoints.get(nid, {}).values() if ep.get("node") != me and ep.get("node") in present]

    def _vtep(self, ep: dict[str, Any]) -> str:
        return str(self.nodes.get(ep.get("node", ""), {}).get("addr") or ep.get("vtep") or "")

    def _reconcile(self, nid: str) -> None:
        remote = self._remote(nid)
        members = dns_members(remote)
        if members != self._dns.get(nid, {}):
            self.daemon.registry.set_remote(nid, members)
            if members:
                self._dns[nid] = members
            else:
                self._dns.pop(nid, None)
        record = self.networks.get(nid)
        vni = (record or {}).get("driver_data", {}).get("vni")
        if not vni:
            self.programmed.pop(nid, None)
            return
        from pynet.kernel import vxlan

        local = frozenset(
            (ep.get("mac") or "").lower()
            for ep in self.endpoints.get(nid, {}).values()
            if ep.get("node") == self.cfg.node_id
        )
        fdb, neigh = desired_peers(remote, self._vtep, local)
        if vxlan.set_peers(int(vni), fdb, neigh):
            if self.programmed.get(nid) != len(remote):
                log.info("overlay %s (vni %s): %d remote endpoints", record.get("name"), vni, len(remote))
            self.programmed[nid] = len(remote)
        else:
            self.programmed.pop(nid, None)

"""The daemon proper: sandboxes' DNS sockets, the hot UDP path, sync, and housekeeping.

The UDP hot path answers from the sandbox view's caches, keyed by the query minus its
ID, and patches only the ID; the parser (``pynet.dns.responder``) runs only on a miss.
"""

from __future__ import annotations

import logging
import os
import selectors
import time
from collections.abc import Callable
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.daemon.client import SOCK_NAME
from pynet.daemon.control import ControlServer
from pynet.daemon.forward import Forwarder
from pynet.daemon import mmsg
from pynet.daemon.loop import Loop
from pynet.daemon.registry import Registry, SandboxPlan
from pynet.daemon.sandbox_dns import NetnsSwitch, SandboxDNS
from pynet.daemon.tcp import MAX_CLIENTS_PER_SANDBOX, TcpClient
from pynet.dns import hotpath, responder, upstreams
from pynet.state.store import Store
from pynet import paths

log = logging.getLogger("pynetd")

SWEEP_INTERVAL = 1.0
# Sandboxes whose netns file one sweep checks, in turn: a stat of each of 1000 every second
# would stall the UDP loop ~3 ms at a time (a p99 outlier); a removal normally arrives by
# sync anyway, this check is for a CLI that died before it could notify.
VANISH_CHECKS = 128


class Daemon:
    """Everything the helper serves; ``run`` blocks until stopped."""

    def __init__(self, store: Store, run_dir: Path, pid_file: Path) -> None:
        self.loop = Loop()
        self.registry = Registry(store)
        self.switch = NetnsSwitch()
        self.sandboxes: dict[str, SandboxDNS] = {}
        self.forwarder = Forwarder(self.loop, self._upstreams_of)
        self.run_dir = run_dir
        self.pid_file = pid_file
        self.control = ControlServer(self.loop, run_dir / SOCK_NAME, self.dispatch)
        self._resolv_stamp = self._stamp(upstreams.host_resolv_conf())
        self._idle_since = time.monotonic()
        self._idle_exit = paths.idle_exit_after()
        self._vanish_cursor = 0
        self.overlay: Any = None  # pynet.daemon.overlay.Agent on a cluster member

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Build everything from state."""
        from pynet.daemon import overlay

        overlay.attach(self)
        self.resync()
        self.loop.call_later(SWEEP_INTERVAL, self._sweep)
        log.info("serving %d sandboxes", len(self.sandboxes))

    def run(self) -> None:
        self.loop.run()

    def stop(self) -> None:
        self.loop.running = False

    def close(self) -> None:
        if self.overlay is not None:
            self.overlay.close(revoke=False)
        for cid in list(self.sandboxes):
            self._close_sandbox(cid)
        self.control.close()
        self.loop.close()
        self.switch.close()

    # -- control ---------------------------------------------------------------------
    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "sync":
            ids = request.get("containers")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return {"ok": False, "error": "containers must be a list of IDs"}
            self.sync(ids)
            return {"ok": True}
        if op == "resync":
            self.resync()
            return {"ok": True}
        if op == "status":
            overlay = self.overlay.status() if self.overlay is not None else None
            return {"ok": True, "pid": os.getpid(), "sandboxes": self.status(), "overlay": overlay}
        if op == "cluster":
            from pynet.daemon import overlay as overlay_mod

            return overlay_mod.attach(self)
        if op == "stop":
            self.stop()
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def status(self) -> dict[str, Any]:
        """Served sandboxes, for tests and debugging."""
        out = {}
        for cid, sb in self.sandboxes.items():
            out[cid] = {
                "netns_path": sb.plan.netns_path,
                "networks": list(sb.plan.view_key),
                "forward": sb.plan.can_forward,
                "upstreams": list(self._upstreams_of(sb)),
            }
        return out

    def sync(self, container_ids: list[str]) -> None:
        """Re-read these containers; open, update or close their sandboxes."""
        started = time.monotonic()
        self.registry.sync(container_ids)
        for cid in dict.fromkeys(container_ids):
            self._apply(cid)
        if self.overlay is not None:
            self.overlay.local_changed()
        log.info("sync %d containers in %.1f ms", len(container_ids), (time.monotonic() - started) * 1000)

    def resync(self) -> None:
        """Rebuild from the whole state."""
        before = set(self.sandboxes)
        self.registry.resync()
        for cid in before | set(self.registry.plans):
            self._apply(cid)
        if self.overlay is not None:
            self.overlay.local_changed()

    # -- sandboxes -------------------------------------------------------------------
    def _apply(self, cid: str) -> None:
        plan = self.registry.plans.get(cid)
        sb = self.sandboxes.get(cid)
        if plan is None:
            if sb is not None:
                self._close_sandbox(cid)
            return
        if sb is not None and sb.plan.netns_path == plan.netns_path and not sb.vanished():
            sb.plan = plan
            return
        if sb is not None:
            self._close_sandbox(cid)
        self._open_sandbox(plan)

    def _open_sandbox(self, plan: SandboxPlan) -> None:
        sb = SandboxDNS(plan, self.switch)
        try:
            sb.open()
        except OSError as exc:
            log.error("cannot serve DNS in %s (container %s): %s", plan.netns_path, plan.container_id[:12], exc)
            sb.close()
            return
        self.sandboxes[plan.container_id] = sb
        self.loop.watch(sb.udp, selectors.EVENT_READ, self._udp_handler(sb))
        self.loop.watch(sb.tcp, selectors.EVENT_READ, lambda _m: self._accept_tcp(sb))
        self._idle_since = 0.0
        log.info("serving %s (container %s)", plan.netns_path, plan.container_id[:12])

    def _close_sandbox(self, cid: str) -> None:
        sb = self.sandboxes.pop(cid, None)
        if sb is None:
            return
        self.forwarder.drop_sandbox(sb)
        for sock in sb.sockets():
            self.loop.unwatch(sock)
        sb.close()
        if not self.sandboxes:
            self._idle_since = time.monotonic()
        log.info("released %s (container %s)", sb.plan.netns_path, cid[:12])

    def _upstreams_of(self, sb: SandboxDNS) -> tuple[str, ...]:
        return self.registry.upstreams_for(sb.plan)

    # -- UDP: the hot path lives in pynet.dns.hotpath --------------------------------
    def _udp_handler(self, sb: SandboxDNS) -> Callable[[int], None]:
        registry = self.registry

        def current_view() -> Any:
            return registry.views.get(sb.plan.view_key)

        def slow(view: Any, data: bytes, addr: Any) -> None:
            self._udp_slow(sb, view, data, addr)

        def answers(view: Any) -> dict[bytes, tuple[float, bytes]]:
            if not sb.plan.can_forward:
                return {}
            return view.forward_cache(registry.upstreams_for(sb.plan)).hot

        if mmsg.available():
            return mmsg.MmsgReader(sb.udp, current_view, slow, answers)
        return hotpath.udp_reader(sb.udp, current_view, slow, answers=answers)

    def _udp_slow(self, sb: SandboxDNS, view: Any, data: bytes, addr: Any) -> None:
        sock = sb.udp
        key = data[2:]
        query = view.forwards.get(key) if sb.plan.can_forward else None
        if query is not None:  # a query this view forwarded before: its answer may be held
            cache = view.forward_cache(self._upstreams_of(sb))
            now = time.monotonic()
            response = cache.refresh(key, now)
            if response is not None:
                _send(sock, data[:2] + response, addr)
                if cache.renew_now(key, now):  # fetch the next answer before this one runs out
                    self.forwarder.forward(sb, data, query, _ignore, cache=cache)
                return
        else:  # parse it
            outcome = responder.handle(view, data, can_forward=sb.plan.can_forward, held=self.registry.held)
            if outcome.response is not None:
                _send(sock, outcome.response, addr)
                return
            query = outcome.query
            if query is None:
                return
        # Answers are kept for the queries the view remembers (dotted names, UDP), unless the
        # query carries EDNS options: a cookie differs per client, so its key never repeats.
        keep = key in view.forwards and (query.edns is None or not query.edns.has_options)
        cache = view.forward_cache(self._upstreams_of(sb)) if keep else None
        self.forwarder.forward(sb, data, query, lambda msg: sock.sendto(msg, addr), cache=cache)

    # -- TCP -------------------------------------------------------------------------
    def _accept_tcp(self, sb: SandboxDNS) -> None:
        for _ in range(16):
            try:
                conn, _ = sb.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(sb.tcp_clients) >= MAX_CLIENTS_PER_SANDBOX:
                conn.close()
                continue
            client = TcpClient(self.loop, conn, lambda c, m: self._tcp_query(sb, c, m), sb.tcp_clients.discard)
            sb.tcp_clients.add(client)

    def _tcp_query(self, sb: SandboxDNS, client: TcpClient, message: bytes) -> None:
        view = self.registry.views.get(sb.plan.view_key)
        if view is None:
            client.close()
            return
        outcome = responder.handle(view, message, tcp=True, can_forward=sb.plan.can_forward, held=self.registry.held)
        if outcome.response is not None:
            client.send(outcome.response)
        elif outcome.query is not None:
            self.forwarder.forward(sb, message, outcome.query, client.send, tcp=True)

    # -- housekeeping ----------------------------------------------------------------
    @staticmethod
    def _stamp(path: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _sweep(self) -> None:
        """Once a second: vanished sandboxes, idle TCP clients, host resolv.conf, exit checks."""
        try:
            self._sweep_once()
        finally:
            if self.loop.running:
                self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _sweep_once(self) -> None:
        now = time.monotonic()
        gone = [cid for cid in self._vanish_batch() if self.sandboxes[cid].vanished()]
        if gone:
            log.info("netns gone for %d sandboxes", len(gone))
            self.sync(gone)  # re-read: removed, or recreated under the same path
        for sb in self.sandboxes.values():
            if sb.tcp_clients:
                for client in [c for c in sb.tcp_clients if c.idle(now)]:
                    client.close()
        self.control.expire(now)
        stamp = self._stamp(upstreams.host_resolv_conf())
        if stamp != self._resolv_stamp:
            self._resolv_stamp = stamp
            self.registry.reload_host_upstreams()
            log.info("host upstreams now %s", ",".join(self.registry.host_upstreams) or "none")
        if not self._still_ours():
            log.info("pid file %s is gone or not ours; exiting", self.pid_file)
            self.stop()
        elif (
            self._idle_exit > 0
            and not self.sandboxes
            and self.overlay is None
            and self._idle_since
            and now - self._idle_since > self._idle_exit
        ):
            log.info("no sandbox to serve for %.0f s; exiting", self._idle_exit)
            self.stop()

    def _vanish_batch(self) -> list[str]:
        """The next VANISH_CHECKS sandboxes, round robin (all of them when fewer)."""
        ids = list(self.sandboxes)
        if len(ids) <= VANISH_CHECKS:
            return ids
        start = self._vanish_cursor % len(ids)
        self._vanish_cursor = start + VANISH_CHECKS
        return (ids[start:] + ids[:start])[:VANISH_CHECKS]

    def _still_ours(self) -> bool:
        try:
            return self.pid_file.read_text().strip() == str(os.getpid())
        except OSError:
            return False


def _send(sock: Any, message: bytes, addr: Any) -> None:
    try:
        sock.sendto(message, addr)
    except OSError:
        pass


def _ignore(_message: bytes) -> None:
    """The reply of a renewal: its answer only goes into the cache."""

"""The control socket: one JSON request line in, one JSON reply line out, per connection.

Requests: ``{"op": "ping"}``, ``{"op": "sync", "containers": [ids]}``,
``{"op": "resync"}``, ``{"op": "status"}``, ``{"op": "stop"}``.
Replies: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynet.daemon.client import short_path
from pynet.daemon.loop import Loop

log = logging.getLogger("pynetd")

MAX_REQUEST = 1 << 20
REQUEST_TIMEOUT = 5.0
Dispatch = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    """Accepts control connections on a unix socket and answers them via ``dispatch``."""

    def __init__(self, loop: Loop, path: Path, dispatch: Dispatch) -> None:
        self.loop = loop
        self.path = path
        self.dispatch = dispatch
        self.conns: dict[socket.socket, tuple[bytearray, float]] = {}
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a stale one from a killed daemon (we hold the lock)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with short_path(path) as bind_path:
            self.sock.bind(bind_path)
        os.chmod(path, 0o600)
        self.sock.listen(64)
        self.sock.setblocking(False)
        loop.watch(self.sock, selectors.EVENT_READ, self._accept)

    def _accept(self, _mask: int) -> None:
        for _ in range(16):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("control accept: %s", exc)
                return
            conn.setblocking(False)
            self.conns[conn] = (bytearray(), time.monotonic())
            self.loop.watch(conn, selectors.EVENT_READ, lambda _m, c=conn: self._read(c))

    def _read(self, conn: socket.socket) -> None:
        buf, _ = self.conns.get(conn, (None, 0.0))
        if buf is None:
            return
        try:
            chunk = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not chunk:
            self._drop(conn)
            return
        buf += chunk
        if b"\n" not in buf:
            if len(buf) > MAX_REQUEST:
                self._reply(conn, {"ok": False, "error": "request too large"})
            return
        line = bytes(buf[: buf.index(b"\n")])
        self._reply(conn, self._answer(line))

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": "request is not JSON"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "request is not a JSON object"}
        try:
            return self.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            log.exception("control request %r failed", request.get("op"))
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def _reply(self, conn: socket.socket, reply: dict[str, Any]) -> None:
        self.loop.unwatch(conn)
        self.conns.pop(conn, None)
        try:
            conn.settimeout(1.0)  # replies are small; a client that does not read is dropped
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass
        finally:
            conn.close()

    def _drop(self, conn: socket.socket) -> None:
        self.loop.unwatch(conn)
        self.conns.pop(conn, None)
        conn.close()

    def expire(self, now: float) -> None:
        """Close connections that never finished their request."""
        for conn, (_, since) in list(self.conns.items()):
            if now - since > REQUEST_TIMEOUT:
                self._drop(conn)

    def close(self) -> None:
        for conn in list(self.conns):
            self._drop(conn)
        self.loop.unwatch(self.sock)
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

"""Non-blocking HTTP calls to etcd's JSON gateway on the daemon's event loop.

The daemon has one thread that also serves DNS, so talking to etcd must never block
it: a watch is a response that never ends (one JSON object per event), and a lease
keepalive to an unreachable store would otherwise hang for its whole timeout. A
``Call`` connects, sends one POST, and hands every JSON message of the answer to
``on_message``; ``on_done(error)`` runs exactly once at the end (``None`` = clean).
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
from collections.abc import Callable
from typing import Any

from pynet.daemon.loop import Loop, Timer
from pynet.state.etcd import error_of
from pynet.state.http import ResponseReader, build_request

log = logging.getLogger("pynetd")

OnMessage = Callable[[Any], None]
OnDone = Callable[["str | None"], None]


class Call:
    """One POST to ``host:port`` ``path``; ``timeout`` bounds the whole call (None: a stream)."""

    def __init__(
        self,
        loop: Loop,
        host: str,
        port: int,
        path: str,
        body: dict[str, Any],
        *,
        on_message: OnMessage,
        on_done: OnDone,
        timeout: float | None = 3.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.loop = loop
        self.on_message = on_message
        self.on_done = on_done
        self.reader = ResponseReader()
        self.closed = False
        self._out = build_request(host, port, path, body)
        self.sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET,
            socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
        )
        self._timer: Timer | None = loop.call_later(
            connect_timeout if timeout is None else timeout, lambda: self._finish("timed out")
        )
        self._stream = timeout is None
        if self._stream:
            _keepalive(self.sock)
        err = self.sock.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            loop.call_later(0, lambda: self._finish(_reason(err)))
            return
        loop.watch(self.sock, selectors.EVENT_WRITE, self._writable)

    def _writable(self, _mask: int) -> None:
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._finish(_reason(err))
            return
        try:
            sent = self.sock.send(self._out)
        except BlockingIOError:
            return
        except OSError as exc:
            self._finish(_reason(exc.errno or 0))
            return
        self._out = self._out[sent:]
        if self._out:
            return
        if self._stream and self._timer is not None:
            self._timer.cancel()  # connected: a stream may stay quiet for ever
            self._timer = None
        self.loop.watch(self.sock, selectors.EVENT_READ, self._readable)

    def _readable(self, _mask: int) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(_reason(exc.errno or 0))
            return
        try:
            if not data:
                self.reader.eof()
            else:
                self.reader.feed(data)
            if self.reader.status and self.reader.status != 200:
                if self.reader.done or not data:
                    self._finish(str(error_of(self.reader.status, bytes(self.reader.body))))
                return
            for message in self.reader.messages():
                self.on_message(message)
                if self.closed:
                    return
        except ValueError as exc:
            self._finish(f"bad answer from the store: {exc}")
            return
        if self.reader.done or not data:
            self._flush_tail()
            self._finish(None if self.reader.done else "connection closed")

    def _flush_tail(self) -> None:
        """A unary answer has no trailing newline: hand over what is left."""
        rest = bytes(self.reader.body).strip()
        self.reader.body.clear()
        if rest and not self.closed:
            import json

            try:
                self.on_message(json.loads(rest))
            except ValueError:
                pass

    def _finish(self, error: str | None) -> None:
        if self.closed:
            return
        self.close()
        try:
            self.on_done(error)
        except Exception:  # noqa: BLE001 - a callback must not kill the loop
            log.exception("etcd call completion failed")

    def close(self) -> None:
        """Stop now; ``on_done`` is not called."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.loop.unwatch(self.sock)
        self.sock.close()


def _keepalive(sock: socket.socket) -> None:
    """A stream may stay silent for hours: let TCP notice a vanished peer (~11 s)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _reason(err: int) -> str:
    import os

    return os.strerror(err).lower() if err else "connection failed"

"""DNS over TCP on 127.0.0.11:53: length-prefixed messages, several per connection.

Clients come here after a truncated UDP answer (TC bit). Each connection is nonblocking,
buffers its output, and is closed when idle, when the client stops reading, or when
the sandbox goes away.
"""

from __future__ import annotations

import logging
import selectors
import socket
import struct
import time
from collections.abc import Callable

from pynet.daemon.loop import Loop

log = logging.getLogger("pynetd")

IDLE_TIMEOUT = 10.0
MAX_OUTBUF = 1 << 20
MAX_CLIENTS_PER_SANDBOX = 64

Handler = Callable[["TcpClient", bytes], None]


class TcpClient:
    """One client connection; ``handler(client, message)`` answers each query."""

    def __init__(
        self, loop: Loop, sock: socket.socket, handler: Handler, on_close: Callable[["TcpClient"], None]
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.handler = handler
        self.on_close = on_close
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.closed = False
        self.last_active = time.monotonic()
        sock.setblocking(False)
        loop.watch(sock, selectors.EVENT_READ, self._ready)

    def idle(self, now: float) -> bool:
        return now - self.last_active > IDLE_TIMEOUT

    def send(self, message: bytes) -> None:
        """Queue one DNS message (the length prefix is added here)."""
        if self.closed:
            return
        self.outbuf += struct.pack(">H", len(message)) + message
        self.last_active = time.monotonic()
        self._flush()

    def _ready(self, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush()
        if mask & selectors.EVENT_READ and not self.closed:
            self._read()

    def _read(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not chunk:
            self.close()
            return
        self.last_active = time.monotonic()
        self.inbuf += chunk
        while len(self.inbuf) >= 2 and not self.closed:
            size = struct.unpack_from(">H", self.inbuf)[0]
            if len(self.inbuf) < 2 + size:
                break
            message = bytes(self.inbuf[2 : 2 + size])
            del self.inbuf[: 2 + size]
            self.handler(self, message)

    def _flush(self) -> None:
        if self.outbuf:
            try:
                sent = self.sock.send(self.outbuf)
                del self.outbuf[:sent]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self.close()
                return
        if len(self.outbuf) > MAX_OUTBUF:
            self.close()  # the client does not read its answers
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0)
        self.loop.watch(self.sock, events, self._ready)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.unwatch(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
        self.on_close(self)

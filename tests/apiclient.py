"""A tiny HTTP client over a unix socket for the Engine API tests (standard library only)."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 30) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def request(
    path: str, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers lower-cased, body)."""
    conn = UnixConnection(path, timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, url, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def call(path: str, method: str, url: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    """(status, parsed JSON body or None)."""
    status, _, raw = request(path, method, url, body, timeout=timeout)
    return status, (json.loads(raw) if raw.strip() else None)


def raw_exchange(path: str, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the server closes or goes quiet."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    out = b""
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before reading it all: its answer is still there
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (TimeoutError, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return out

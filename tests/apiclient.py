"""A tiny HTTP client over a unix socket for the Engine API tests (standard library only),
and the unit tests' in-process server it talks to."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@contextlib.contextmanager
def served_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An Engine API server in a thread of the test's process, on a temp state and run dir
    (no root, no kernel): yields its socket's path; shut down and joined at the end."""
    from pynet.api import server

    monkeypatch.setenv("PYNET_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path / "run"))
    path = str(tmp_path / "run" / "docker.sock")
    srv = server.Server(path, group_id=None)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield path
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)
        from pynet.daemon import client

        client.stop(run_dir=tmp_path / "run")  # a helper a request started (DNS): ours to end


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

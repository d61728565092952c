"""A `pynet system service` inside a test's throwaway host, stopped by its PID."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

from apiclient import request
from harness import Host, wait_for


class Service:
    """The API server of ``host`` on ``sock_dir/d.sock`` (a short path: a unix socket's
    path holds at most 107 bytes, a test's tmp_path may be longer)."""

    def __init__(self, host: Host, sock_dir: Path) -> None:
        self.host = host
        self.sock = str(sock_dir / "d.sock")
        self.log = open(sock_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            host.pynet_argv("system", "service", "-H", f"unix://{self.sock}"),
            env=host.env,
            cwd=host.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        wait_for(self._answers, timeout=20, desc="the API server to answer", ignore=(OSError,))

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the API server exited: {Path(self.log.name).read_text()}")
        return request(self.sock, "GET", "/_ping", timeout=2)[0] == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        print(Path(self.log.name).read_text(errors="replace"))  # shown when the test failed

    def hijack(self, url: str, body: dict | None = None, timeout: float = 20) -> tuple[str, bytes]:
        """POST with ``Upgrade: tcp``; (status line, every byte after the headers until
        the server closes)."""
        data = json.dumps(body or {}).encode()
        head = (
            f"POST {url} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        ).encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        try:
            s.sendall(head + data)
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        finally:
            s.close()
        top, _, rest = raw.partition(b"\r\n\r\n")
        return top.split(b"\r\n")[0].decode(), rest


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """Docker's multiplexed stream as (stream, payload) pairs."""
    out = []
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        out.append((data[0], data[8 : 8 + size]))
        data = data[8 + size :]
    assert data == b"", f"a partial frame: {data!r}"
    return out

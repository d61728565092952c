"""The Engine API server's connections: keep-alive done right, the hand-written parser's
refusals, and the accepting threads (a long stream never holds the next client up).

An in-process server on a unix socket in a temp dir; no root, no kernel.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiclient import raw_exchange, request, served_in_process
from pynet.api import http as api_http
from pynet.api import routes, server

pytestmark = pytest.mark.unit

PING = b"HEAD /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/20.10.24+dfsg1 (linux)\r\n\r\n"
VERSION = b"GET /v1.41/version HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/20.10.24+dfsg1 (linux)\r\n\r\n"


@pytest.fixture
def sock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with served_in_process(tmp_path, monkeypatch) as path:
        yield path


def _connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


class Reader:
    """Answers read off one connection, framed by their Content-Length (or HEAD: none)."""

    def __init__(self, s: socket.socket) -> None:
        self.s, self.buf = s, b""

    def _fill(self) -> bool:
        data = self.s.recv(65536)
        self.buf += data
        return bool(data)

    def answer(self, head_only: bool = False) -> tuple[str, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"the server closed mid-answer: {self.buf!r}"
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = 0 if head_only else int(headers["content-length"])
        while len(self.buf) < length:
            assert self._fill(), "the server closed mid-body"
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self) -> bool:
        """The server closed its end (EOF), read within the socket's timeout."""
        try:
            return not self._fill()
        except TimeoutError:
            return False


def test_the_docker_clis_two_requests_share_one_kept_alive_connection(sock: str) -> None:
    s = _connect(sock)
    try:
        r = Reader(s)
        s.sendall(PING)
        status, headers, _ = r.answer(head_only=True)
        assert status == "HTTP/1.1 200 OK" and headers["content-length"] == "0"
        assert "connection" not in headers
        s.sendall(VERSION)  # same connection: no reconnect
        status, headers, body = r.answer()
        assert status == "HTTP/1.1 200 OK" and json.loads(body)["ApiVersion"]
        assert headers["content-type"] == "application/json" and "connection" not in headers
        s.settimeout(0.3)
        assert not r.closed()  # still open: the client decides when it ends
    finally:
        s.close()


def test_pipelined_requests_are_answered_in_order(sock: str) -> None:
    s = _connect(sock)
    try:
        r = Reader(s)
        s.sendall(PING + VERSION + b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + b"\r\n" + PING)  # a stray CRLF
        assert r.answer(head_only=True)[0] == "HTTP/1.1 200 OK"
        assert "ApiVersion" in json.loads(r.answer()[2])
        status, headers, body = r.answer()
        assert (status, body) == ("HTTP/1.1 404 Not Found", b'{"message":"page not found"}\n')
        assert headers["api-version"] and "connection" not in headers
        assert r.answer(head_only=True)[0] == "HTTP/1.1 200 OK"
    finally:
        s.close()


def test_every_answer_carries_dockerds_headers(sock: str) -> None:
    for method, url in (("HEAD", "/_ping"), ("GET", "/version"), ("GET", "/nope")):
        _, headers, _ = request(sock, method, url)
        assert headers["api-version"] and headers["ostype"] == "linux" and headers["docker-experimental"] == "false"
        assert headers["server"] == "pynet"
        assert re.fullmatch(
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", headers["date"]
        )


@pytest.mark.parametrize(
    ("hello", "kept"),
    [
        (b"GET /_ping HTTP/1.0\r\n\r\n", False),
        (b"GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
        (b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n", False),
        (b"GET /_ping HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n", True),
        (b"GET /_ping HTTP/1.1\r\nConnection: TE, close\r\nTE: trailers\r\n\r\n", False),
    ],
)
def test_the_connection_closes_only_when_the_client_asks(sock: str, hello: bytes, kept: bool) -> None:
    s = _connect(sock)
    try:
        r = Reader(s)
        s.sendall(hello)
        status, headers, body = r.answer()
        assert (status, body) == ("HTTP/1.1 200 OK", b"OK")
        assert ("connection" not in headers) if kept else (headers["connection"] == "close")
        s.settimeout(0.3 if kept else 5)
        assert r.closed() is not kept
    finally:
        s.close()


def test_expect_100_continue_is_answered_before_the_body(sock: str) -> None:
    s = _connect(sock)
    try:
        body = b'{"Name": ""}'
        s.sendall(
            b"POST /networks/create HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        r = Reader(s)
        assert r.answer(head_only=True)[0] == "HTTP/1.1 100 Continue"
        s.sendall(body)
        status, _, reply = r.answer()
        assert status == "HTTP/1.1 400 Bad Request" and b"network name must be specified" in reply
    finally:
        s.close()


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"GET /_ping HTTP/1.1\r\nNo colon here\r\n\r\n", "400 Bad Request", "malformed header line"),
        (b"GET /_ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", "431 ", "Too many headers"),
        (b"GET /_ping HTTP/1.1\r\nX-A: " + b"b" * 70000 + b"\r\n\r\n", "431 ", "Line too long"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", "414 ", "Request-URI Too Long"),
        (b"GET /_ping HTTP/2.0\r\n\r\n", "505 ", "Invalid HTTP version (2.0)"),
        (b"GET /_ping HTTX/1.1\r\n\r\n", "400 Bad Request", "Bad request version"),
        (b"GET /_ping\r\n\r\n", "400 Bad Request", "Bad request syntax"),
        (b"POST /networks/create HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400 Bad Request", "Content-Length"),
        (b"POST /networks/create HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}", "400 Bad Request", "EOF"),
    ],
)
def test_what_cannot_be_parsed_is_one_json_message_then_close(
    sock: str, data: bytes, status: str, message: str
) -> None:
    reply = raw_exchange(sock, data)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status.encode()), reply[:200]
    assert b"Connection: close" in head and message in json.loads(body)["message"]


def test_a_long_stream_never_holds_the_next_client_up(sock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More streams open at once than threads wait in accept: every one is served, and a
    ping still answers while they all hold their connections; the threads left waiting
    afterwards are bounded."""
    gate = threading.Event()

    def slow(req: api_http.Request) -> api_http.Response:
        def chunks() -> Iterator[bytes]:
            yield b"started\n"
            gate.wait(10)
            yield b"done\n"

        return api_http.Response(content_type="text/plain", stream=chunks())

    route = routes.Route("GET", "/slow", "x:y")
    route.handler = lambda: slow  # type: ignore[method-assign]
    monkeypatch.setattr(routes, "_COMPILED", [*routes.compiled(), route])
    streams = [_connect(sock) for _ in range(server.Server.KEEP_WAITING + 4)]
    try:
        for s in streams:
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in streams:  # each got its headers and first chunk: each has a thread
            data = b""
            while b"started" not in data:
                chunk = s.recv(4096)
                assert chunk, data
                data += chunk
        status, _, body = request(sock, "GET", "/_ping", timeout=5)
        assert (status, body) == (200, b"OK")
        gate.set()
        for s in streams:
            data = b""
            while not data.endswith(b"0\r\n\r\n"):
                chunk = s.recv(4096)
                assert chunk, data
                data += chunk
            assert b"done" in data
    finally:
        gate.set()
        for s in streams:
            s.close()
    deadline = time.monotonic() + 5
    while _api_threads(sock) > server.Server.KEEP_WAITING and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _api_threads(sock) <= server.Server.KEEP_WAITING


def _api_threads(sock: str) -> int:
    """The threads of the server on ``sock`` (named after it), alive now."""
    return sum(1 for t in threading.enumerate() if t.name == f"pynet-api:{sock}")


def test_shutdown_ends_the_waiting_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with served_in_process(tmp_path, monkeypatch) as path:
        assert request(path, "GET", "/_ping")[0] == 200
        assert _api_threads(path) >= server.Server.START_WAITING
    deadline = time.monotonic() + 5
    while _api_threads(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _api_threads(path) == 0

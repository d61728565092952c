"""One client connection of the Engine API server: HTTP/1.1 read and written by hand.

Requests are answered in turn on the same connection (keep-alive: every answer carries its
``Content-Length`` or is chunked; the connection closes only when the client asks, speaks
HTTP/1.0 without keep-alive, sends what cannot be framed, or a handler hijacks it). Each
answer leaves in one ``send``: the docker CLI's ``HEAD /_ping`` + ``GET /v1.41/networks``
are two round trips on one connection, as with dockerd (docs/engine-api.md, "The server").

The parser takes what clients of the API send (request line, ``Name: value`` headers,
``Content-Length`` or chunked bodies, ``Expect: 100-continue``) and refuses the rest with
one JSON message, as dockerd does; http.server's ``email`` header parser cost more than
the whole ``GET /networks`` behind it.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import BinaryIO

    from pynet.api.server import Server

from pynet.api import errors, http as api_http, routes, version
from pynet.errors import InvalidArgument, PynetError

SERVER_HEADER = "pynet"
MAX_LINE = 65536  # a request line or header line longer than this is refused (http.server's)
MAX_HEADERS = 100
REASONS = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_date = (0, "")  # (second, its Date header value)


def http_date() -> str:
    """The ``Date`` header's value (RFC 7231's IMF-fixdate, as Go writes it), made once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        t = time.gmtime(now)
        _date = (
            now,
            f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT",
        )
    return _date[1]


class BadRequest(Exception):
    """A request that cannot be parsed: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SocketWriter:
    """The hijacked connection's writer: every write is sent at once (nothing buffered)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered: kept for the file-like interface handlers use."""

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        """End the connection both ways now: a thread still reading the client's input
        (attach's stdin) holds the socket open, so closing it would send no EOF."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client is gone already


class Connection:
    """Requests on one accepted socket, one after the other, until it closes."""

    def __init__(self, sock: socket.socket, server: Server) -> None:
        self.sock = sock
        self.server = server
        self.rfile = sock.makefile("rb")
        self.close = False
        # the request being answered
        self.method = ""
        self.target = ""
        self.http11 = True
        self.headers: dict[str, str] = {}

    def serve(self) -> None:
        """Answer requests until the client hangs up or the connection must close."""
        try:
            while not self.close and self.one():
                pass
        except (ConnectionError, TimeoutError):
            pass  # the client went away mid-request
        finally:
            with contextlib.suppress(OSError):
                self.rfile.close()

    def one(self) -> bool:
        """Read and answer one request; False at the client's EOF."""
        try:
            if not self._read_head():
                return False
        except BadRequest as bad:
            self.close = True
            body = api_http.error_body(bad.message)
            self.send(api_http.Response(status=bad.status, body=body, content_type="application/json"))
            return False
        resp = self._dispatch()
        if not resp.hijacked:
            self.send(resp)
        else:
            self.close = True
        if self.server.debug:
            sys.stderr.write(f'pynet-api: "{self.method} {self.target}" {resp.status}\n')
        return True

    # -- reading -------------------------------------------------------------------------
    def _read_head(self) -> bool:
        line = self.rfile.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):  # a stray CRLF after the last body (RFC 9112 2.2: ignored)
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        self.method, self.target, self.http11, self.headers = "", "", True, {}
        if len(line) > MAX_LINE:
            raise BadRequest(414, "Request-URI Too Long")
        words = line.decode("latin-1").split()
        if not words:
            raise BadRequest(400, "Bad request syntax: empty request line")
        if len(words) != 3:
            raise BadRequest(400, f"Bad request syntax ({line.decode('latin-1').rstrip()!r})")
        method, target, proto = words
        self.http11 = _http11(proto)
        if target.startswith("//"):  # never taken for a scheme-less absolute URI (http.server's gh-87389)
            target = "/" + target.lstrip("/")
        self.method, self.target = method, target
        self.headers = self._read_headers()
        tokens = {t.strip() for t in self.headers.get("connection", "").lower().split(",")}
        if "close" in tokens or (not self.http11 and "keep-alive" not in tokens):
            self.close = True
        return True

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        last = ""
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise BadRequest(431, "Line too long")
            if line in (b"\r\n", b"\n", b""):
                return headers
            text = line.decode("latin-1")
            if text[0] in " \t" and last:  # an obsolete folded line continues the last header
                headers[last] += " " + text.strip()
                continue
            name, sep, value = text.partition(":")
            name = name.lower()
            if not sep or not name or name != name.strip():
                raise BadRequest(400, f"Bad request: malformed header line {text.rstrip()!r}")
            headers[name] = value.strip()
            last = name
        raise BadRequest(431, "Too many headers")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._continue()
            return self._read_chunked()
        raw = self.headers.get("content-length")
        if not raw:
            return b""
        if not raw.isdigit():
            self.close = True
            raise InvalidArgument(f"invalid Content-Length: {raw!r}")
        length = int(raw)
        if length > api_http.MAX_BODY:
            self.close = True  # the unread body would be taken for the next request
            raise api_http.ApiError(413, f"request body too large: {length} bytes (at most {api_http.MAX_BODY})")
        self._continue()
        body = self.rfile.read(length)
        if len(body) < length:
            self.close = True
            raise InvalidArgument("unexpected EOF in the request body")
        return body

    def _continue(self) -> None:
        """``Expect: 100-continue`` (curl with a large body): say go before reading it."""
        if self.http11 and self.headers.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1026)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close = True
                raise InvalidArgument("invalid chunked body") from None
            if size < 0 or len(out) + size > api_http.MAX_BODY:
                self.close = True
                raise api_http.ApiError(413, f"request body too large (at most {api_http.MAX_BODY} bytes)")
            if size == 0:
                while self.rfile.readline(1026).strip():  # trailers
                    pass
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline(3)  # the CRLF after each chunk

    # -- dispatch ------------------------------------------------------------------------
    def _dispatch(self) -> api_http.Response:
        try:
            return self._route()
        except PynetError as exc:
            status, message = errors.status_and_message(exc)
            if status >= 500 and self.server.debug:
                sys.stderr.write(f"pynet-api: {self.method} {self.target}: {message}\n")
            return api_http.Response(status=status, body=api_http.error_body(message), content_type="application/json")
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:  # the server must answer, never die: a bug is a 500 with its text
            sys.stderr.write(f"pynet-api: {self.method} {self.target}: {exc!r}\n")
            return api_http.Response(
                status=500, body=api_http.error_body(f"{type(exc).__name__}: {exc}"), content_type="application/json"
            )

    def _route(self) -> api_http.Response:
        raw_path, _, raw_query = self.target.partition("?")
        body = self._read_body()  # read (or refuse) before anything else: keep-alive stays in step
        api_version, path = version.split_version(raw_path)
        found = routes.match(self.method, path)
        if found is None:
            raise api_http.ApiError(404, "page not found")
        route, params = found
        req = api_http.Request(
            method=self.method,
            path=path,
            query=api_http.Request.parse_query(raw_query) if raw_query else {},
            headers=self.headers,
            body=body,
            version=api_version,
            params=params,
            _hijack=self._hijack,
            _gone=self._client_gone,
        )
        return route.handler()(req)

    def refuse(self, message: str) -> None:
        """One 403 after reading the request's head (bounded, so that the client reads the
        answer), then close: a peer that may not use the socket."""
        self.close = True
        self.sock.settimeout(2)
        try:
            for _ in range(MAX_HEADERS + 1):
                if self.rfile.readline(MAX_LINE + 1) in (b"\r\n", b"\n", b""):
                    break
        except OSError:
            return
        with contextlib.suppress(OSError):
            self.send(api_http.Response(status=403, body=api_http.error_body(message), content_type="application/json"))

    # -- writing -------------------------------------------------------------------------
    def _head(self, resp: api_http.Response) -> list[str]:
        lines = [
            f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}",
            f"Api-Version: {version.API_VERSION}",
            "Docker-Experimental: false",
            "Ostype: linux",
            f"Server: {SERVER_HEADER}",
            f"Date: {http_date()}",
        ]
        if resp.content_type:
            lines.append(f"Content-Type: {resp.content_type}")
        lines.extend(f"{key}: {value}" for key, value in resp.headers.items())
        return lines

    def send(self, resp: api_http.Response) -> None:
        """The whole answer (head and body) in one write; a stream chunk by chunk."""
        if resp.stream is not None:
            self._send_stream(resp)
            return
        lines = self._head(resp)
        bodyless = resp.status in (204, 304) or 100 <= resp.status < 200
        if not bodyless:
            lines.append(f"Content-Length: {len(resp.body)}")
        if self.close:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.method != "HEAD" and not bodyless:
            data += resp.body
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close = True

    def _send_stream(self, resp: api_http.Response) -> None:
        """Chunked: headers at once (``wait``'s client sends ``start`` only after them),
        each chunk sent as it comes; a client that hangs up ends the stream (its generator
        closed)."""
        lines = [*self._head(resp), "Transfer-Encoding: chunked"]
        stream = iter(resp.stream or ())
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            for chunk in stream:
                if chunk:
                    self.sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close = True
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _client_gone(self) -> bool:
        """The peer closed (EOF readable, or an error) — checked without blocking or consuming."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _hijack(self, content_type: str, upgrade: bool) -> tuple[BinaryIO, BinaryIO]:
        if upgrade:
            head = f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        head += f"Api-Version: {version.API_VERSION}\r\n\r\n"
        self.sock.sendall(head.encode())
        self.close = True
        return self.rfile, SocketWriter(self.sock)  # type: ignore[return-value]


def _http11(proto: str) -> bool:
    """Whether ``HTTP/x.y`` is 1.1 (keep-alive by default); 1.0 is served, the rest refused."""
    major, dot, minor = proto.removeprefix("HTTP/").partition(".")
    if not proto.startswith("HTTP/") or not dot or not (major.isdigit() and minor.isdigit()):
        raise BadRequest(400, f"Bad request version ({proto!r})")
    if len(major) > 10 or len(minor) > 10:
        raise BadRequest(400, f"Bad request version ({proto!r})")
    if int(major) != 1:
        raise BadRequest(505, f"Invalid HTTP version ({major}.{minor})")
    return int(minor) >= 1

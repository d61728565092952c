"""The HTTP/1.1 server on a unix socket: ``pynet system service`` (docs/engine-api.md).

Standard library only (``socketserver.ThreadingUnixStreamServer`` + ``http.server``): it
serves unix sockets, keep-alive, chunked streams and hands the raw socket over for a 101
upgrade, with no dependency to keep up (design.md, "The Engine API server"). Each
connection is one thread; the peer's credentials are checked (SO_PEERCRED) before its
first request is read.
"""

from __future__ import annotations

import contextlib
import grp
import http.server
import os
import socket
import socketserver
import struct
import sys

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import BinaryIO

from pynet import paths
from pynet.api import errors, http as api_http, routes, version
from pynet.errors import InvalidArgument, PynetError

SERVER_HEADER = "pynet"
#: the group given the socket (like dockerd's ``--group``), when it exists
DEFAULT_GROUP = "docker"


def default_socket() -> str:
    return str(paths.run_dir() / "docker.sock")


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def _groups_of(pid: int) -> set[int]:
    """The supplementary groups of ``pid`` (``/proc/PID/status``)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Groups:"):
                    return {int(g) for g in line.split()[1:]}
    except (OSError, ValueError):
        pass
    return set()


def peer_allowed(creds: tuple[int, int, int], gid: int | None) -> bool:
    """root, the server's own user, or a member of the socket's group (``gid``)."""
    pid, uid, peer_gid = creds
    if uid in (0, os.geteuid()):
        return True
    if gid is None or gid == 0:
        return False
    return peer_gid == gid or gid in _groups_of(pid)


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection: parse, route, call the handler, write its Response."""

    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = SERVER_HEADER
    sys_version = ""
    server: Server

    # -- connection --------------------------------------------------------------------
    def handle(self) -> None:
        try:
            creds = peer_credentials(self.connection)
        except OSError:
            return
        if not peer_allowed(creds, self.server.group_id):
            self._refuse_peer(creds)
            return
        super().handle()

    def _refuse_peer(self, creds: tuple[int, int, int]) -> None:
        """One 403, after reading the request's head (bounded), so that the client reads it."""
        self.connection.settimeout(2)
        try:
            for _ in range(100):
                if self.rfile.readline(65537) in (b"\r\n", b"\n", b""):
                    break
        except OSError:
            return
        body = api_http.error_body(f"permission denied: uid {creds[1]} may not use this socket")
        with contextlib.suppress(OSError):
            self.wfile.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    def version_string(self) -> str:
        return SERVER_HEADER

    def address_string(self) -> str:  # client_address is '' on a unix socket
        return "unix"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        if self.server.debug:
            sys.stderr.write("pynet-api: " + (format % args) + "\n")

    def parse_request(self) -> bool:
        """http.server's parser, minus HTTP/0.9 (no headers, no status line): refused."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(400, "Bad request: HTTP/0.9 is not served")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, too long...) as Docker JSON."""
        del explain  # http.server's HTML detail: dockerd sends one JSON message
        if self.request_version == "HTTP/0.9":  # no valid version was read: answer in 1.1 anyway
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        self._write(api_http.Response(status=code, body=api_http.error_body(message or self.responses[code][0])))

    # -- dispatch ----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_DELETE = do_PUT = do_GET

    def _dispatch(self) -> None:
        try:
            resp = self._route()
        except PynetError as exc:
            status, message = errors.status_and_message(exc)
            if status >= 500 and self.server.debug:
                sys.stderr.write(f"pynet-api: {self.command} {self.path}: {message}\n")
            resp = api_http.Response(status=status, body=api_http.error_body(message), content_type="application/json")
        except Exception as exc:  # the server must answer, never die: a bug is a 500 with its text
            self.log_error("%s %s: %r", self.command, self.path, exc)
            resp = api_http.Response(
                status=500, body=api_http.error_body(f"{type(exc).__name__}: {exc}"), content_type="application/json"
            )
        if resp.hijacked:
            self.close_connection = True
            return
        self._write(resp)

    def _route(self) -> api_http.Response:
        raw_path, _, raw_query = self.path.partition("?")
        body = self._read_body()  # read (or refuse) before anything else: keep-alive stays in step
        api_version, path = version.split_version(raw_path)
        found = routes.match(self.command, path)
        if found is None:
            raise api_http.ApiError(404, "page not found")
        route, params = found
        req = api_http.Request(
            method=self.command,
            path=path,
            query=api_http.Request.parse_query(raw_query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            version=api_version,
            params=params,
            _hijack=self._hijack,
            _gone=self._client_gone,
        )
        return route.handler()(req)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if not raw:
            return b""
        try:
            length = int(raw)
        except ValueError:
            self.close_connection = True
            raise InvalidArgument(f"invalid Content-Length: {raw!r}") from None
        if length < 0:
            self.close_connection = True
            raise InvalidArgument(f"invalid Content-Length: {raw!r}")
        if length > api_http.MAX_BODY:
            self.close_connection = True  # the unread body would be taken for the next request
            raise api_http.ApiError(413, f"request body too large: {length} bytes (at most {api_http.MAX_BODY})")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1026)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise InvalidArgument("invalid chunked body") from None
            if size < 0 or len(out) + size > api_http.MAX_BODY:
                self.close_connection = True
                raise api_http.ApiError(413, f"request body too large (at most {api_http.MAX_BODY} bytes)")
            if size == 0:
                while self.rfile.readline(1026).strip():  # trailers
                    pass
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline(3)  # the CRLF after each chunk

    # -- writing -----------------------------------------------------------------------
    def _common_headers(self) -> None:
        self.send_header("Api-Version", version.API_VERSION)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")

    def _write(self, resp: api_http.Response) -> None:
        try:
            self.send_response(resp.status)
            self._common_headers()
            if resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            for key, value in resp.headers.items():
                self.send_header(key, value)
            if resp.stream is not None:
                self._write_stream(resp)
                return
            if resp.status not in (204, 304):
                self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and resp.status not in (204, 304):
                self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_stream(self, resp: api_http.Response) -> None:
        """Chunked: headers at once (``wait``'s client sends ``start`` only after them),
        each chunk flushed; a client that hangs up ends the stream (its generator closed)."""
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        stream = iter(resp.stream or ())
        try:
            for chunk in stream:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _client_gone(self) -> bool:
        """The peer closed (EOF readable, or an error) — checked without blocking or consuming."""
        import select

        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
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
        self.wfile.write(head.encode())
        self.wfile.flush()
        self.close_connection = True
        return self.rfile, self.wfile  # type: ignore[return-value]


class Server(socketserver.ThreadingUnixStreamServer):
    """The listening socket: made 0660 with ``group``; one daemon thread per connection."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 refuses (EAGAIN) a burst of clients
    allow_reuse_address = False

    def __init__(self, path: str, *, group_id: int | None, debug: bool = False) -> None:
        self.group_id = group_id
        self.debug = debug
        self.socket_path = path
        _remove_stale_socket(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        old = os.umask(0o117)  # never a moment with a world-usable socket
        try:
            super().__init__(path, Handler)
        finally:
            os.umask(old)
        os.chown(path, -1, group_id if group_id is not None else os.getegid())
        os.chmod(path, 0o660)

    def server_close(self) -> None:
        super().server_close()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass


def _remove_stale_socket(path: str) -> None:
    """Remove a socket nobody answers on; refuse to take one a live server holds."""
    if not os.path.exists(path):
        return
    import stat

    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise InvalidArgument(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise InvalidArgument(f"{path} is in use by another server")


def group_id(name: str | None) -> int | None:
    """The socket's group: ``name`` (must exist), else the ``docker`` group if there is one,
    else None (root's group: root only)."""
    if name:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            raise InvalidArgument(f"group {name} not found") from None
    try:
        return grp.getgrnam(DEFAULT_GROUP).gr_gid
    except KeyError:
        return None


def parse_host(host: str | None) -> str:
    """``-H unix:///path`` (only unix sockets: there is no TCP listener) -> the path."""
    if not host:
        return default_socket()
    scheme, sep, rest = host.partition("://")
    if not sep or scheme != "unix" or not rest.startswith("/"):
        raise InvalidArgument(f"invalid -H {host}: pynet serves only unix:///ABSOLUTE/PATH (no TCP listener)")
    if len(os.fsencode(rest)) > 107:  # sun_path holds 108 bytes with the NUL: bind() would fail
        raise InvalidArgument(f"invalid -H {host}: a unix socket path has at most 107 bytes")
    return rest


def serve(host: str | None, group: str | None, *, debug: bool = False) -> None:
    """Serve until SIGTERM/SIGINT; the socket is removed on the way out."""
    import signal
    import threading

    server = Server(parse_host(host), group_id=group_id(group), debug=debug)

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write(f"pynet: serving the Docker Engine API {version.API_VERSION} on unix://{server.socket_path}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()

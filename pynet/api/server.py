"""The HTTP/1.1 server on a unix socket: ``pynet system service`` (docs/engine-api.md).

Standard library only: threads that each accept a connection and serve it
(``pynet.api.connection``: keep-alive, chunked streams, the raw socket for a 101 upgrade),
with no dependency to keep up (design.md, "The Engine API server"). The peer's credentials are checked (SO_PEERCRED) before its first
request is read.
"""

from __future__ import annotations

import contextlib
import grp
import os
import socket
import struct
import sys
import threading
import time

from pynet import paths
from pynet.api import version
from pynet.api.connection import Connection
from pynet.errors import InvalidArgument

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


class Server:
    """The listening socket (made 0660 with ``group``) and the threads that serve it.

    Each thread accepts a connection and serves it itself, then goes back to accepting
    (the kernel wakes one waiting ``accept``): a ``docker`` command's connection costs no
    thread start and no hand-over between threads. When the last waiting thread takes a
    connection it starts another first, so a long stream (attach, ``logs -f``, events)
    never holds the next client up; at most :data:`KEEP_WAITING` wait, the rest end.
    """

    #: the listen backlog (a burst of clients must not be refused with EAGAIN)
    BACKLOG = 128
    #: threads kept waiting in ``accept`` (the first :data:`START_WAITING` from the start)
    KEEP_WAITING = 8
    START_WAITING = 2

    def __init__(self, path: str, *, group_id: int | None, debug: bool = False) -> None:
        self.group_id = group_id
        self.debug = debug
        self.socket_path = path
        self._lock = threading.Lock()
        self._waiting = 0  # threads in (or on their way to) accept
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        _remove_stale_socket(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o117)  # never a moment with a world-usable socket
        try:
            self.socket.bind(path)
            self.socket.listen(self.BACKLOG)
        except OSError:
            self.socket.close()
            raise
        finally:
            os.umask(old)
        os.chown(path, -1, group_id if group_id is not None else os.getegid())
        os.chmod(path, 0o660)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval``: how often this thread looks)."""
        self._stopped.clear()
        try:
            for _ in range(self.START_WAITING):
                self._start_acceptor()
            while not self._stop.wait(poll_interval):
                pass
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting (waiting threads end; a connection being served finishes on its
        own, in a daemon thread) and return once :meth:`serve_forever` has."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)  # wakes every thread blocked in accept
        self._stopped.wait()

    def server_close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    # -- the threads ---------------------------------------------------------------------
    def _start_acceptor(self) -> None:
        with self._lock:
            self._waiting += 1
        name = f"pynet-api:{self.socket_path}"  # the server's threads, by name (tests count them)
        try:
            threading.Thread(target=self._accept_and_serve, name=name, daemon=True).start()
        except RuntimeError:  # no thread to be had (RLIMIT_NPROC, memory): the busy ones come back
            with self._lock:
                self._waiting -= 1
            if not self._waiting:
                sys.stderr.write("pynet-api: cannot start a thread: new connections wait for a free one\n")

    def _accept_and_serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.socket.accept()
            except OSError:
                if self._stop.is_set():
                    break
                time.sleep(0.01)  # EMFILE, ENOMEM...: try again, without spinning
                continue
            with self._lock:
                self._waiting -= 1
                last = self._waiting == 0
            if last:
                self._start_acceptor()
            self._serve_connection(sock)
            with self._lock:
                if self._waiting >= self.KEEP_WAITING:
                    return
                self._waiting += 1
        with self._lock:
            self._waiting -= 1

    def _serve_connection(self, sock: socket.socket) -> None:
        try:
            conn = Connection(sock, self)
            try:
                creds = peer_credentials(sock)
            except OSError:
                return
            if not peer_allowed(creds, self.group_id):
                conn.refuse(f"permission denied: uid {creds[1]} may not use this socket")
                return
            conn.serve()
        finally:  # a bug that escapes ends this thread (printed by threading), not the server
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            sock.close()


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

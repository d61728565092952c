"""The sockets the daemon holds inside one sandbox's network namespace.

A socket stays in the namespace it was created in, so the daemon enters the sandbox's
netns (setns on its only thread), creates its 127.0.0.11:53 UDP and TCP sockets there
and switches straight back. Upstream sockets are made the same way, so forwarded queries
leave from the sandbox like the container's own traffic would.

A socket also keeps its namespace alive: when the netns file goes away (container
removed) the sockets must be closed, or the namespace and its interfaces would linger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

from pynet.daemon.registry import SandboxPlan
from pynet.kernel.namespaces import CLONE_NEWNET, setns

log = logging.getLogger("pynetd")

RESOLVER_IP = "127.0.0.11"
RESOLVER_PORT = 53
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
RCVBUF = 1 << 20


class NetnsSwitch:
    """Enter a namespace for a moment and always come back to the daemon's own."""

    def __init__(self) -> None:
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    @contextlib.contextmanager
    def inside(self, ns_fd: int) -> Iterator[None]:
        setns(ns_fd, CLONE_NEWNET)
        try:
            yield
        finally:
            try:
                setns(self.home, CLONE_NEWNET)
            except OSError:
                # Every later socket would land in the wrong namespace: stop hard; the
                # next notify starts a fresh daemon that rebuilds from state.
                log.critical("cannot return to the host network namespace; exiting")
                os._exit(70)

    def close(self) -> None:
        os.close(self.home)


def _listen_udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # FREEBIND: bind even before the sandbox's lo is up (127.0.0.0/8 appears with it).
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((RESOLVER_IP, RESOLVER_PORT))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _listen_tcp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((RESOLVER_IP, RESOLVER_PORT))
        sock.listen(64)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class SandboxDNS:
    """One served sandbox: its netns handle, server sockets, upstream sockets, TCP clients."""

    def __init__(self, plan: SandboxPlan, switch: NetnsSwitch) -> None:
        self.plan = plan
        self.switch = switch
        self.ns_fd = -1
        self.ident: tuple[int, int] = (0, 0)
        self.udp: socket.socket | None = None
        self.tcp: socket.socket | None = None
        self.upstream_udp: dict[str, socket.socket] = {}
        self.tcp_clients: set = set()
        self.closed = False

    @property
    def container_id(self) -> str:
        return self.plan.container_id

    def open(self) -> None:
        """Open the server sockets inside the sandbox (raises OSError on failure)."""
        fd = os.open(self.plan.netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            with self.switch.inside(fd):
                udp = _listen_udp()
                try:
                    tcp = _listen_tcp()
                except BaseException:
                    udp.close()
                    raise
        except BaseException:
            os.close(fd)
            raise
        self.ns_fd, self.ident = fd, (st.st_dev, st.st_ino)
        self.udp, self.tcp = udp, tcp

    def new_socket(self, family: int, kind: int) -> socket.socket:
        """A fresh nonblocking socket living in this sandbox's namespace."""
        if self.closed:
            raise OSError("sandbox closed")
        with self.switch.inside(self.ns_fd):
            sock = socket.socket(family, kind)
        sock.setblocking(False)
        return sock

    def vanished(self) -> bool:
        """True when the netns file is gone or now names another namespace."""
        try:
            st = os.stat(self.plan.netns_path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.ident

    def sockets(self) -> list[socket.socket]:
        """Every socket held for this sandbox (for unwatching before close)."""
        out = [s for s in (self.udp, self.tcp) if s is not None]
        out.extend(self.upstream_udp.values())
        return out

    def close(self) -> None:
        """Close everything; safe to call twice and after the netns vanished."""
        if self.closed:
            return
        self.closed = True
        for client in list(self.tcp_clients):
            client.close()
        for sock in self.sockets():
            with contextlib.suppress(OSError):
                sock.close()
        self.upstream_udp.clear()
        self.udp = self.tcp = None
        if self.ns_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.ns_fd)
            self.ns_fd = -1

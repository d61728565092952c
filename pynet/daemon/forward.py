"""Forward queries the sandbox's networks cannot answer to its upstream servers.

UDP: one connected socket per (sandbox, upstream), made lazily inside the sandbox netns
and reused for every later query (a fresh 16-bit ID per query, mapped back to the
client's). Connected, so an ICMP "port unreachable" fails the attempt at once instead of
after the timeout. TCP queries go upstream over a new TCP connection each.

Servers are tried in order; a timeout, SERVFAIL, REFUSED or a socket error moves on to
the next; NXDOMAIN and every other answer are final. When none answers the client gets
SERVFAIL, like Docker's resolver.

Every attempt has the same timeout, so deadlines expire in the order they were set: one
FIFO queue and one loop timer serve them all (no heap entry, timer object and closure per
query, and an answered query is released at once). What goes back to the client carries
the ID of the client's own query bytes, so a parsed ``Query`` may be shared by every
client asking the same question (``View.forwards``).
"""

from __future__ import annotations

import logging
import os
import random
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Callable

from pynet.daemon.loop import Loop
from pynet.daemon.sandbox_dns import SandboxDNS
from pynet.dns import wire
from pynet.dns.fwdcache import ForwardCache

log = logging.getLogger("pynetd")

MAX_PENDING = 1024  # Docker's maxConcurrent; beyond it: REFUSED
UPSTREAM_PORT = 53
Reply = Callable[[bytes], None]


def attempt_timeout() -> float:
    """Seconds one upstream gets to answer (``$PYNET_DNS_TIMEOUT``, default 2)."""
    try:
        return max(0.05, float(os.environ.get("PYNET_DNS_TIMEOUT", "2")))
    except ValueError:
        return 2.0


def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


class Pending:
    """One forwarded query on its way through the upstream list."""

    __slots__ = ("sandbox", "data", "query", "reply", "servers", "index", "tcp", "timer", "key", "conn", "cache")

    def __init__(
        self,
        sandbox: SandboxDNS,
        data: bytes,
        query: wire.Query,
        reply: Reply,
        servers: tuple[str, ...],
        tcp: bool,
        cache: ForwardCache | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.data = data
        self.query = query
        self.reply = reply
        self.servers = servers
        self.index = 0
        self.tcp = tcp
        self.timer = 0  # the token of the armed deadline (0 = none)
        self.key: tuple[int, int] | None = None
        self.conn: UpstreamTcp | None = None
        self.cache = cache  # where the final UDP answer is kept for its TTL (None: not kept)


class Forwarder:
    """All queries in flight to upstream servers, across sandboxes."""

    def __init__(self, loop: Loop, upstreams_for: Callable[[SandboxDNS], tuple[str, ...]]) -> None:
        self.loop = loop
        self.upstreams_for = upstreams_for
        self.timeout = attempt_timeout()
        self.pending: dict[tuple[int, int], Pending] = {}
        self.in_tcp: set[Pending] = set()
        self.deadlines: deque[tuple[float, int]] = deque()  # (when, token), in order
        self.armed: dict[int, Pending] = {}  # token -> the attempt it times out
        self._token = 0
        self._expiring = False  # a loop timer for the queue's head is set

    def forward(
        self,
        sandbox: SandboxDNS,
        data: bytes,
        query: wire.Query,
        reply: Reply,
        *,
        tcp: bool = False,
        cache: ForwardCache | None = None,
    ) -> None:
        """Send ``data`` upstream; ``reply`` gets the answer (or SERVFAIL/REFUSED).

        With ``cache``, a final UDP answer is also kept there (``pynet.dns.fwdcache``).
        """
        if len(self.pending) + len(self.in_tcp) >= MAX_PENDING:
            _safe(reply, data[:2] + wire.build_response(query, wire.REFUSED)[2:])
            return
        p = Pending(sandbox, data, query, reply, self.upstreams_for(sandbox), tcp, cache)
        self._attempt(p)

    def drop_sandbox(self, sandbox: SandboxDNS) -> None:
        """Forget queries of a sandbox being closed (their sockets are going away)."""
        for key, p in list(self.pending.items()):
            if p.sandbox is sandbox:
                self._finish(p)
                del self.pending[key]
        for p in list(self.in_tcp):
            if p.sandbox is sandbox:
                self._finish(p)

    # -- attempts --------------------------------------------------------------------
    def _attempt(self, p: Pending) -> None:
        while p.index < len(p.servers):
            server = p.servers[p.index]
            try:
                if p.tcp:
                    self._send_tcp(p, server)
                else:
                    self._send_udp(p, server)
                self._arm(p)
                return
            except OSError as exc:
                log.debug("upstream %s: %s", server, exc)
                p.index += 1
        self._finish(p)
        _safe(p.reply, p.data[:2] + wire.build_response(p.query, wire.SERVFAIL)[2:])

    def _next(self, p: Pending) -> None:
        self._finish(p)
        p.index += 1
        self._attempt(p)

    def _finish(self, p: Pending) -> None:
        """Stop the current attempt (deadline, ID slot, TCP connection)."""
        if p.timer:
            self.armed.pop(p.timer, None)
            p.timer = 0
        if p.key is not None:
            self.pending.pop(p.key, None)
            p.key = None
        if p.conn is not None:
            p.conn.close()
            p.conn = None
        self.in_tcp.discard(p)

    def _arm(self, p: Pending) -> None:
        """Give the attempt just sent its deadline."""
        self._token += 1
        p.timer = self._token
        self.armed[self._token] = p
        deadlines = self.deadlines
        while deadlines and deadlines[0][1] not in self.armed:
            deadlines.popleft()  # answered: keep the queue as short as what is in flight
        deadlines.append((time.monotonic() + self.timeout, self._token))
        if not self._expiring:
            self._expiring = True
            self.loop.call_later(self.timeout, self._expire)

    def _expire(self) -> None:
        """Time out every attempt whose deadline passed; set the timer for the next."""
        now = time.monotonic()
        deadlines, armed = self.deadlines, self.armed
        while deadlines:
            when, token = deadlines[0]
            if token in armed and when > now:
                break
            deadlines.popleft()
            p = armed.pop(token, None)
            if p is not None:  # not answered in time
                p.timer = 0
                log.debug("upstream %s timed out", p.servers[p.index])
                self._next(p)  # may arm the next server: appended behind, still in order
        if deadlines:
            self.loop.call_later(max(0.0, deadlines[0][0] - now), self._expire)
        else:
            self._expiring = False

    # -- UDP -------------------------------------------------------------------------
    def _udp_socket(self, sandbox: SandboxDNS, server: str) -> socket.socket:
        sock = sandbox.upstream_udp.get(server)
        if sock is None:
            sock = sandbox.new_socket(_family(server), socket.SOCK_DGRAM)
            try:
                sock.connect((server, UPSTREAM_PORT))
            except OSError:
                sock.close()
                raise
            sandbox.upstream_udp[server] = sock
            self.loop.watch(sock, selectors.EVENT_READ, lambda _m: self._udp_ready(sock))
        return sock

    def _send_udp(self, p: Pending, server: str) -> None:
        sock = self._udp_socket(p.sandbox, server)
        fileno = sock.fileno()
        for _ in range(64):
            wire_id = random.getrandbits(16)
            if (fileno, wire_id) not in self.pending:
                break
        else:
            raise OSError("no free query ID")
        sock.send(wire.with_id(p.data, wire_id))
        p.key = (fileno, wire_id)
        self.pending[p.key] = p

    def _udp_ready(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                self._refused(sock)
                continue
            except OSError:
                return
            if len(data) >= 12:
                self._udp_answer(sock, data)

    def _refused(self, sock: socket.socket) -> None:
        """ICMP unreachable for this upstream: every query waiting on it moves on."""
        fileno = sock.fileno()
        for key, p in list(self.pending.items()):
            if key[0] == fileno:
                self._next(p)

    def _udp_answer(self, sock: socket.socket, data: bytes) -> None:
        p = self.pending.get((sock.fileno(), struct.unpack_from(">H", data)[0]))
        if p is None or not _matches(p.query, data):
            return  # late, duplicate or spoofed
        rcode = wire.rcode_of(data)
        if rcode in (wire.SERVFAIL, wire.REFUSED):
            self._next(p)
            return
        self._finish(p)
        answer = p.data[:2] + data[2:]
        if len(answer) > p.query.udp_limit():
            # An upstream that ignored the client's size: let the client retry over TCP.
            answer = wire.add_flags(p.data[:2] + wire.build_response(p.query, rcode)[2:], wire.TC)
        elif p.cache is not None:
            p.cache.store(p.data[2:], data, time.monotonic())
        _safe(p.reply, answer)

    # -- TCP -------------------------------------------------------------------------
    def _send_tcp(self, p: Pending, server: str) -> None:
        sock = p.sandbox.new_socket(_family(server), socket.SOCK_STREAM)
        payload = struct.pack(">H", len(p.data)) + p.data
        p.conn = UpstreamTcp(self.loop, sock, payload, lambda msg: self._tcp_done(p, msg))
        self.in_tcp.add(p)
        p.conn.start((server, UPSTREAM_PORT))

    def _tcp_done(self, p: Pending, message: bytes | None) -> None:
        if (
            message is None
            or len(message) < 12
            or not _matches(p.query, message)
            or wire.rcode_of(message) in (wire.SERVFAIL, wire.REFUSED)
        ):
            self._next(p)
            return
        self._finish(p)
        _safe(p.reply, p.data[:2] + message[2:])


class UpstreamTcp:
    """One query over one TCP connection: connect, send, read one length-prefixed answer."""

    def __init__(self, loop: Loop, sock: socket.socket, payload: bytes, done: Callable[[bytes | None], None]) -> None:
        self.loop = loop
        self.sock = sock
        self.out = payload
        self.buf = bytearray()
        self.done = done
        self.closed = False
        self.started = time.monotonic()

    def start(self, address: tuple[str, int]) -> None:
        err = self.sock.connect_ex(address)
        if err not in (0, 115, 11):  # EINPROGRESS, EAGAIN
            self.sock.close()
            raise OSError(err, os.strerror(err))
        self.loop.watch(self.sock, selectors.EVENT_WRITE, self._ready)

    def _ready(self, mask: int) -> None:
        try:
            if mask & selectors.EVENT_WRITE:
                self._write()
            if mask & selectors.EVENT_READ:
                self._read()
        except OSError:
            self._end(None)

    def _write(self) -> None:
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        sent = self.sock.send(self.out)
        self.out = self.out[sent:]
        if not self.out:
            self.loop.watch(self.sock, selectors.EVENT_READ, self._ready)

    def _read(self) -> None:
        chunk = self.sock.recv(65537)
        if not chunk:
            self._end(None)
            return
        self.buf += chunk
        if len(self.buf) >= 2:
            size = struct.unpack_from(">H", self.buf)[0]
            if len(self.buf) >= 2 + size:
                self._end(bytes(self.buf[2 : 2 + size]))

    def _end(self, message: bytes | None) -> None:
        if self.closed:
            return
        done = self.done
        self.close()
        done(message)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.unwatch(self.sock)
        self.sock.close()


def _matches(query: wire.Query, message: bytes) -> bool:
    """An upstream answer belongs to the query: same question (or none, on errors)."""
    if not message[2] & 0x80:
        return False
    end = 12 + len(query.question)
    qdcount = struct.unpack_from(">H", message, 4)[0]
    if qdcount == 0:
        return wire.rcode_of(message) != wire.NOERROR
    return message[12:end].lower() == query.question.lower()


def _safe(reply: Reply, message: bytes) -> None:
    try:
        reply(message)
    except OSError as exc:
        log.debug("cannot send reply: %s", exc)

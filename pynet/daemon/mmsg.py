"""Many UDP datagrams per system call: recvmmsg(2) and sendmmsg(2) through ctypes.

Under load the UDP hot path's cost is the kernel's, not Python's: with one ``recvfrom``
and one ``sendto`` per query, every ``sendto`` wakes a client thread that preempts the
daemon on its way back to user space (a context switch per answer). ``MmsgReader`` reads
up to ``SLOTS`` queries with one ``recvmmsg`` and sends their cached answers with
``sendmmsg``, ``SEND_CHUNK`` at a time, so a burst costs a few system calls and switches.

The buffers (~0.5 MB) are allocated once per daemon and shared by every sandbox's socket:
the daemon has one thread and a burst is answered before the next is read. A query's source address is never decoded on
the fast path: the answer's ``msg_name`` points at the address buffer the query arrived
in. ``available()`` is False where libc has no recvmmsg; the caller then uses
``pynet.dns.hotpath.udp_reader`` (one query per system call).
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import time
from collections.abc import Callable

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.dns.names import View

SLOTS = 64  # datagrams per system call
# Answers per sendmmsg: a full burst is answered in chunks, so the first query's answer does
# not wait while the other 63 are built, and the clients (on another CPU) get to work sooner.
SEND_CHUNK = 16
SLOT_BYTES = 4096  # per query (as recvfrom(4096) before) and per answer
NAME_BYTES = 32  # room for a sockaddr_in6; the sockets are AF_INET (16 bytes used)
MSG_DONTWAIT = 0x40
ROUNDS = 2  # recvmmsg calls per readiness event, so one busy sandbox cannot starve the rest

# struct mmsghdr on 64-bit Linux: msghdr (56 bytes) + msg_len (4) + padding (4).
_HDR = 64
_HDR_FIELDS = struct.Struct("=QI4xQQQQi4x")  # name, namelen, iov, iovlen, control, controllen, flags
_IOV = struct.Struct("=QQ")  # iov_base, iov_len
_LENS = [struct.Struct("=" + "56xI4x" * n) for n in range(SLOTS + 1)]  # msg_len of the first n
_PTR = struct.Struct("=Q")

Slow = Callable[["View", bytes, "Any"], None]
#: a view -> the upstream answers its sandbox may use (``ForwardCache.hot``)
Answers = Callable[["View"], "dict[bytes, tuple[float, bytes]]"]
_NONE: dict[bytes, tuple[float, bytes]] = {}


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        recv, send = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    recv.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p)
    send.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int)
    recv.restype = send.restype = ctypes.c_int
    return libc


_LIBC = _libc() if ctypes.sizeof(ctypes.c_void_p) == 8 else None


def available() -> bool:
    """True when batched UDP I/O can be used (64-bit Linux libc with recvmmsg/sendmmsg)."""
    return _LIBC is not None and os.environ.get("PYNET_DNS_MMSG", "1") != "0"


def _address(buf: bytearray) -> int:
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


class _Ring:
    """``SLOTS`` message headers, each with one buffer and one address buffer."""

    def __init__(self, names: bytearray | None = None) -> None:
        self.data = bytearray(SLOTS * SLOT_BYTES)
        self.names = names if names is not None else bytearray(SLOTS * NAME_BYTES)
        self.iov = bytearray(SLOTS * _IOV.size)
        self.hdr = bytearray(SLOTS * _HDR)
        self.data_at, self.names_at = _address(self.data), _address(self.names)
        self.iov_at, self.hdr_at = _address(self.iov), _address(self.hdr)
        for i in range(SLOTS):
            _IOV.pack_into(self.iov, i * _IOV.size, self.data_at + i * SLOT_BYTES, SLOT_BYTES)
            _HDR_FIELDS.pack_into(
                self.hdr, i * _HDR, self.names_at + i * NAME_BYTES, NAME_BYTES, self.iov_at + i * _IOV.size, 1, 0, 0, 0
            )


_RINGS: list[_Ring] = []


def _rings() -> tuple[_Ring, _Ring]:
    """The daemon's (receive, send) rings, made on first use."""
    if not _RINGS:
        rx = _Ring()
        _RINGS.extend((rx, _Ring(rx.names)))  # answers go to the address their query came from
    return _RINGS[0], _RINGS[1]


class MmsgReader:
    """The readiness callback of one sandbox's UDP socket, in bursts (see the module doc)."""

    def __init__(
        self, sock: socket.socket, current_view: Callable[[], View | None], slow: Slow, answers: Answers | None = None
    ) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.current_view = current_view
        self.slow = slow
        self.answers = answers
        self.rx, self.tx = _rings()

    def __call__(self, _mask: int) -> None:
        view = self.current_view()
        if view is None:
            return
        for _ in range(ROUNDS):
            if self._burst(view) < SLOTS:
                return

    def _burst(self, view: View) -> int:
        rx, tx = self.rx, self.tx
        n = _LIBC.recvmmsg(self.fd, rx.hdr_at, SLOTS, MSG_DONTWAIT, None)
        if n <= 0:
            return 0  # EAGAIN: drained (other errors: nothing to do now, as recvfrom before)
        fast, rotating = view.fast, view.rotating
        answered: dict[bytes, tuple[float, bytes]] | None = None  # looked up on the first miss
        now = 0.0
        data = memoryview(rx.data)
        out, out_data, out_hdr, out_iov = 0, tx.data, tx.hdr, tx.iov
        names_at = rx.names_at
        for i, length in enumerate(_LENS[n].unpack_from(rx.hdr)):
            start = i * SLOT_BYTES
            key = bytes(data[start + 2 : start + length])
            response = fast.get(key)
            if response is None:
                cycle = rotating.get(key)
                if cycle is not None:
                    response = next(cycle)
                else:
                    if answered is None:
                        answered = self.answers(view) if self.answers is not None else _NONE
                        now = time.monotonic()
                    held = answered.get(key)
                    if held is None or held[0] <= now:  # not held, or its TTLs must count down
                        self.slow(view, bytes(data[start : start + length]), self._peer(i))
                        continue
                    response = held[1]
            size = len(response) + 2
            if size > SLOT_BYTES:
                self._send_one(bytes(data[start : start + 2]) + response, i)
                continue
            at = out * SLOT_BYTES
            out_data[at : at + 2] = data[start : start + 2]
            out_data[at + 2 : at + size] = response
            _PTR.pack_into(out_hdr, out * _HDR, names_at + i * NAME_BYTES)
            _PTR.pack_into(out_iov, out * _IOV.size + 8, size)
            out += 1
            if out == SEND_CHUNK:
                self._flush(out)
                out = 0
        data.release()
        if out:
            self._flush(out)
        return n

    def _flush(self, count: int) -> None:
        """sendmmsg the first ``count`` answers; a refused one is skipped (as sendto's OSError)."""
        done = 0
        while done < count:
            sent = _LIBC.sendmmsg(self.fd, self.tx.hdr_at + done * _HDR, count - done, MSG_DONTWAIT)
            done += sent if sent > 0 else 1

    def _peer(self, i: int) -> tuple[str, int]:
        at = i * NAME_BYTES
        names = self.rx.names
        return socket.inet_ntoa(names[at + 4 : at + 8]), int.from_bytes(names[at + 2 : at + 4], "big")

    def _send_one(self, message: bytes, i: int) -> None:
        try:
            self.sock.sendto(message, self._peer(i))
        except OSError:
            pass

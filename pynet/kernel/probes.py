"""Facts read inside one network namespace, and real probes sent from it (``network diagnose``).

Each function creates its socket inside the namespace at ``netns`` (the calling thread
enters it and comes back at once; the socket stays bound there) and then works as in that
namespace: an ICMP echo, a TCP connect, a UDP datagram, a DNS exchange, the listening
sockets. Every wait is bounded by ``timeout``. docs/diagnose.md says how they are used.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

from pynet.kernel import nft
from pynet.kernel.namespaces import entered_netns

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


def _socket(netns: str | None, family: int, kind: int, proto: int = 0) -> socket.socket:
    if netns is None:
        return socket.socket(family, kind, proto)
    with entered_netns(netns):
        return socket.socket(family, kind, proto)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo_request(ident: int, seq: int) -> bytes:
    payload = b"pynet-diagnose"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


def icmp_echo(netns: str | None, address: str, *, count: int = 2, timeout: float = 1.0) -> dict[str, Any]:
    """Ping ``address`` (IPv4) ``count`` times: ``{"kind": "icmp", "target", "ok", "detail"}``."""
    sock = _socket(netns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    replies = 0
    unreachable = ""
    try:
        for seq in range(1, count + 1):
            try:
                sock.sendto(_echo_request(ident, seq), (address, 0))
            except OSError as exc:
                return _result("icmp", address, False, f"send failed: {os.strerror(exc.errno or 0)}")
            got = _await_reply(sock, address, ident, seq, timeout)
            if got == "reply":
                replies += 1
            elif got:
                unreachable = got
    finally:
        sock.close()
    if replies:
        return _result("icmp", address, True, f"{replies}/{count} echo replies")
    return _result("icmp", address, False, unreachable or f"0/{count} echo replies")


def _await_reply(sock: socket.socket, address: str, ident: int, seq: int, timeout: float) -> str:
    """ "reply", an ICMP error's words, or "" when nothing came in time."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, (peer, _) = sock.recvfrom(2048)
        except socket.timeout:
            return ""
        ihl = (data[0] & 0x0F) * 4
        kind, _code = data[ihl], data[ihl + 1]
        if kind == 0 and peer == address and struct.unpack("!HH", data[ihl + 4 : ihl + 8]) == (ident, seq):
            return "reply"
        if kind == 3 and len(data) >= ihl + 8 + 28:  # destination unreachable, quoting our request
            inner = data[ihl + 8 :]
            quoted = inner[(inner[0] & 0x0F) * 4 :]
            if struct.unpack("!HH", quoted[4:8]) == (ident, seq):
                return f"destination unreachable (from {peer})"
    return ""


def tcp_connect(netns: str | None, address: str, port: int, *, timeout: float = 2.0) -> dict[str, Any]:
    """A TCP connect to ``address:port``: ``{"kind": "tcp", "target", "ok", "detail"}``."""
    target = f"{address}:{port}"
    sock = _socket(netns, socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except socket.timeout:
        return _result("tcp", target, False, f"no answer in {timeout:g}s (dropped)")
    except OSError as exc:
        result = _result("tcp", target, False, os.strerror(exc.errno or 0).lower())
        result["refused"] = exc.errno == errno.ECONNREFUSED  # DST answered: nothing listens
        return result
    finally:
        sock.close()
    return _result("tcp", target, True, "connected")


def udp_send(netns: str | None, address: str, port: int, *, timeout: float = 1.0) -> dict[str, Any]:
    """A UDP datagram to ``address:port``; only an ICMP port-unreachable proves nobody listens.

    ``ok`` is True when no refusal came back within ``timeout`` (UDP has no handshake:
    callers confirm the path with :func:`icmp_echo`).
    """
    target = f"{address}:{port}"
    sock = _socket(netns, socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        sock.send(b"pynet-diagnose\n")
        sock.recv(2048)
    except socket.timeout:
        return _result("udp", target, True, "sent; no refusal")
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return {**_result("udp", target, False, "port unreachable (nothing listens)"), "refused": True}
        return _result("udp", target, False, os.strerror(exc.errno or 0).lower())
    finally:
        sock.close()
    return _result("udp", target, True, "answered")


def dns_exchange(netns: str | None, server: str, query: bytes, *, timeout: float = 2.0) -> bytes | None:
    """Send one DNS query over UDP to ``server:53``; the answer's bytes, or None on no answer."""
    sock = _socket(netns, socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.connect((server, 53))
        sock.send(query)
        return sock.recv(4096)
    except OSError:  # refused or timed out: the caller reports "no answer"
        return None
    finally:
        sock.close()


def listeners(netns: str | None, proto: str) -> set[tuple[str, int]]:
    """(address, port) of the TCP listeners (or bound UDP sockets) in the namespace."""
    found: set[tuple[str, int]] = set()
    for name in (proto, proto + "6"):
        text = _read_proc_net(netns, name)
        if text is not None:
            found |= {(ip, port) for ip, _, port in nft.parse_proc_net(text, proto, proto == "tcp")}
    return found


def _read_proc_net(netns: str | None, name: str) -> str | None:
    # /proc/thread-self/net follows the netns of the calling thread, so read it from inside
    try:
        if netns is None:
            with open(f"/proc/thread-self/net/{name}") as f:
                return f.read()
        with entered_netns(netns), open(f"/proc/thread-self/net/{name}") as f:
            return f.read()
    except OSError:
        return None


def sysctl(name: str) -> str | None:
    """A sysctl of the current namespace ("net/ipv4/ip_forward"), or None."""
    return nft.read_sysctl(name)


def ruleset() -> list[dict[str, Any]]:
    """``nft -j list ruleset`` of the current namespace (every table, pynet's and others')."""
    return nft.list_json("ruleset")


def _result(kind: str, target: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"kind": kind, "target": target, "ok": ok, "detail": detail}

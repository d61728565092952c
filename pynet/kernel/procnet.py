"""Cheap reads of the current namespace's routing facts from /proc (no pyroute2)."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct


def ipv4_routes() -> list[str]:
    """Destination subnets of the main routing table, as CIDRs (default route excluded)."""
    out = []
    try:
        with open("/proc/net/route") as f:
            next(f, None)
            for line in f:
                parts = line.split()
                if len(parts) < 8:
                    continue
                dst = socket.inet_ntoa(struct.pack("<L", int(parts[1], 16)))
                mask = socket.inet_ntoa(struct.pack("<L", int(parts[7], 16)))
                if mask == "0.0.0.0":
                    continue
                out.append(str(ipaddress.ip_network(f"{dst}/{mask}", strict=False)))
    except OSError:
        pass
    return out


def resolv_conf_path() -> str:
    """The host's resolv.conf (``$PYNET_RESOLV_CONF`` overrides, for tests)."""
    return os.environ.get("PYNET_RESOLV_CONF") or "/etc/resolv.conf"


def read_resolv_conf() -> str:
    try:
        with open(resolv_conf_path()) as f:
            return f.read()
    except OSError:
        return ""


def nameservers(text: str | None = None) -> list[str]:
    """Nameserver addresses of a resolv.conf text (the host's by default)."""
    text = read_resolv_conf() if text is None else text
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1])
    return out


def host_hostname() -> str:
    return socket.gethostname()

"""Which servers a sandbox's unknown names are forwarded to.

A container's own ``--dns`` list wins; otherwise the host's resolv.conf nameservers
(``$PYNET_RESOLV_CONF`` or ``/etc/resolv.conf``) minus loopback ones, which mean the host
itself and cannot be reached from a sandbox. At most three, like Docker (``maxExtDNS``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

MAX_UPSTREAMS = 3


def host_resolv_conf() -> Path:
    """The host resolv.conf pynet reads upstream servers from."""
    return Path(os.environ.get("PYNET_RESOLV_CONF") or "/etc/resolv.conf")


def parse_nameservers(text: str) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf, in order."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1])
    return out


def read_host_nameservers(path: Path | None = None) -> list[str]:
    """The host's nameservers ([] when the file is missing or unreadable)."""
    try:
        text = (path or host_resolv_conf()).read_text(errors="replace")
    except OSError:
        return []
    return parse_nameservers(text)


def select(addresses: list[str], *, drop_loopback: bool) -> tuple[str, ...]:
    """Valid unicast addresses (bare IPs), deduplicated, at most three."""
    out: list[str] = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.strip())
        except ValueError:
            continue  # scoped (fe80::1%eth0) or garbage
        if ip.is_unspecified or ip.is_multicast or (drop_loopback and ip.is_loopback):
            continue
        if str(ip) not in out:
            out.append(str(ip))
        if len(out) == MAX_UPSTREAMS:
            break
    return tuple(out)

"""The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, with Docker's content."""

from __future__ import annotations

HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
EMBEDDED_DNS = "127.0.0.11"
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def hosts_file(entries: list[tuple[str, str]], extra_hosts: list[str]) -> str:
    """Docker's /etc/hosts: the standard lines, ``--add-host`` entries, then the container."""
    out = HOSTS_HEADER
    for spec in extra_hosts:
        name, _, ip = spec.partition(":")
        out += f"{ip}\t{name}\n"
    for ip, names in entries:
        out += f"{ip}\t{names}\n"
    return out


def resolv_conf(*, embedded: bool, host_text: str, dns: list[str], search: list[str], options: list[str]) -> str:
    """resolv.conf as Docker writes it.

    User-defined networks point at the embedded server (which forwards to ``dns`` or the
    host's servers); the default bridge copies the host's file minus loopback servers.
    """
    host_ns, host_search, host_opts = _parse(host_text)
    search = search or host_search
    lines = []
    if search:
        lines.append("search " + " ".join(search))
    opts = list(options or host_opts)
    if embedded:
        # libnetwork's rebuildDNS: the embedded server first; external IPv6 servers must
        # be listed too (the embedded server only forwards over IPv4); ndots:0 unless set.
        lines.append(f"nameserver {EMBEDDED_DNS}")
        lines += [f"nameserver {s}" for s in (dns or host_ns) if ":" in s and not _is_loopback(s)]
        if not any(o.startswith("ndots:") for o in opts):
            opts.append("ndots:0")
        lines.append("options " + " ".join(opts))
        return "\n".join(lines) + "\n"
    # FilterResolvDNS: no loopback servers, no IPv6 servers on an IPv4-only network.
    servers = dns or [s for s in host_ns if not _is_loopback(s) and ":" not in s] or list(DEFAULT_NAMESERVERS)
    lines += [f"nameserver {s}" for s in servers]
    if opts:
        lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def _parse(text: str) -> tuple[list[str], list[str], list[str]]:
    ns, search, opts = [], [], []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            ns.append(parts[1])
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            opts += parts[1:]
    return ns, search, opts


def _is_loopback(addr: str) -> bool:
    return addr.startswith("127.") or addr == "::1"


def upstream_servers(dns: list[str], host_text: str) -> list[str]:
    """Where the embedded server forwards for this container."""
    return dns or [s for s in _parse(host_text)[0] if not _is_loopback(s)]

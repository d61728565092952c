"""Cheap reads of host facts from /proc (no pyroute2): routes, resolv.conf, waiters, capabilities."""

from __future__ import annotations

import ipaddress
import os
import _socket
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
                dst = _socket.inet_ntoa(struct.pack("<L", int(parts[1], 16)))
                mask = _socket.inet_ntoa(struct.pack("<L", int(parts[7], 16)))
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
    return read_or_empty(resolv_conf_path())


def nameservers(text: str | None = None) -> list[str]:
    """Nameserver addresses of a resolv.conf text (the host's by default)."""
    text = read_resolv_conf() if text is None else text
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1])
    return out


def host_subnets() -> list[str]:
    """Subnets IPAM must avoid: the host's routes and its nameservers (as /32 or /128)."""
    used = ipv4_routes()
    for ns in nameservers():
        if ns.startswith("127.") or ns == "::1":
            continue
        used.append(f"{ns}/{128 if ':' in ns else 32}")
    return used


def host_hostname() -> str:
    return _socket.gethostname()


def read_or_empty(path: str) -> str:
    """A host file's text, "" when it cannot be read (a fact that is then absent)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def ipv4_forwarding() -> bool:
    return read_or_empty("/proc/sys/net/ipv4/ip_forward").strip() == "1"


def mem_total() -> int:
    """The host's memory in bytes (``/proc/meminfo``'s MemTotal), 0 when unknown."""
    for line in read_or_empty("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def os_name() -> str:
    """``/etc/os-release``'s PRETTY_NAME (Docker's OperatingSystem), else "Linux"."""
    for line in read_or_empty("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return "Linux"


def find_waiter(container_id: str, container_dir: str = "") -> tuple[int, int] | None:
    """``(waiter pid, container pid)`` of a detached container: from the ``waiter`` file
    its supervisor writes in ``container_dir`` (pid and start time of both, checked), else
    from an exec'd waiter's argv (``python -S -c <waiter> ROOT PID CONTAINER_ID DIR``);
    None when there is none."""
    from pynet.kernel.pids import pid_alive

    try:
        with open(os.path.join(container_dir, "waiter")) as f:  # supervisor.WAITER_FILE
            waiter, waiter_start, pid, pid_start = (int(x) for x in f.read().split()[:4])
        if container_dir and pid_alive(waiter, waiter_start) and pid_alive(pid, pid_start):
            return waiter, pid
    except (OSError, ValueError):
        pass  # no file (a waiter of an older pynet), or a damaged one: look at the argvs
    want = container_id.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (
            len(argv) >= 7
            and argv[2] == b"-c"
            and b"pynet.kernel.waiter" in argv[3]
            and argv[6] == want
            and argv[5].isdigit()
        ):
            return int(entry), int(argv[5])
    return None


def netns_file_of(pid: int, directory: str) -> str:
    """The file in ``directory`` bind-mounting the network namespace of ``pid`` ("" if none)."""
    try:
        ns = os.stat(f"/proc/{pid}/ns/net")
        entries = list(os.scandir(directory))
    except OSError:
        return ""
    for entry in entries:
        try:
            st = os.stat(entry.path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (ns.st_dev, ns.st_ino):
            return entry.path
    return ""


CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


def has_capabilities(*caps: int) -> bool:
    """True when this process holds every one of ``caps`` in its effective set."""
    try:
        with open("/proc/self/status") as f:
            line = next((ln for ln in f if ln.startswith("CapEff:")), "")
    except OSError:
        return os.geteuid() == 0
    try:
        effective = int(line.split(":", 1)[1].strip(), 16)
    except (IndexError, ValueError):
        return os.geteuid() == 0
    return all(effective >> cap & 1 for cap in caps)


def can_administer_network() -> bool:
    """Whether this process may make netns, links and nftables rules (CAP_NET_ADMIN and
    CAP_SYS_ADMIN, which root has)."""
    return has_capabilities(CAP_NET_ADMIN, CAP_SYS_ADMIN)

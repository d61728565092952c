"""Facts about the host the core needs without touching netlink (cheap /proc reads)."""

from __future__ import annotations

from pynet.kernel import pids, procnet


def host_subnets() -> list[str]:
    """Subnets IPAM must avoid: the host's routes and its nameservers (as /32 or /128)."""
    used = procnet.ipv4_routes()
    for ns in procnet.nameservers():
        if ns.startswith("127.") or ns == "::1":
            continue
        used.append(f"{ns}/{128 if ':' in ns else 32}")
    return used


def host_resolv_conf() -> str:
    return procnet.read_resolv_conf()


def host_hostname() -> str:
    return procnet.host_hostname()


def pid_alive(pid: int, start: int = 0) -> bool:
    """``pid`` runs and is the process that started at ``start`` (0: any)."""
    return pids.pid_alive(pid, start)


def pid_start_time(pid: int) -> int:
    return pids.pid_start_time(pid)


def signal_pid(pid: int, start: int, sig: int) -> bool:
    """Signal that very process (never a reused pid); False when it is gone."""
    return pids.signal_pid(pid, start, sig)


def link_of_address(addr: str) -> object:
    """The link holding ``addr`` on this host, or None (netlink: imports pyroute2)."""
    from pynet.kernel import netlink

    return netlink.link_of_address(addr)


def find_waiter(container_id: str) -> tuple[int, int] | None:
    """``(waiter pid, container pid)`` of a detached container still running, or None."""
    return procnet.find_waiter(container_id)


def netns_file_of(pid: int, directory: str) -> str:
    """The sandbox file under ``directory`` that holds the network namespace of ``pid``."""
    return procnet.netns_file_of(pid, directory)


def can_administer_network() -> bool:
    """Whether this process may make netns, links and nftables rules (CAP_NET_ADMIN and
    CAP_SYS_ADMIN, which root has)."""
    return procnet.has_capabilities(procnet.CAP_NET_ADMIN, procnet.CAP_SYS_ADMIN)

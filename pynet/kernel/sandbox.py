"""The kernel side of a Sandbox: the network namespace a container owns (bind-mounted, so it
outlives the process) — created with lo up, removed idempotently."""

from __future__ import annotations

from pynet.records.undo import UndoLog
from pynet.errors import Unavailable
from pynet.kernel import netlink
from pynet.kernel.namespaces import same_mount_ns_as_init


def create_sandbox(netns_path: str, undo: UndoLog) -> None:
    if not same_mount_ns_as_init():
        # `ip netns exec` gives each call a private mount namespace: the sandbox's netns
        # bind mount would vanish when this command exits, leaving half a container.
        raise Unavailable(
            "pynet is running in a private mount namespace (as under `ip netns exec`): sandbox "
            "namespaces would vanish when it exits; run it with `nsenter --net=/run/netns/NAME pynet ...`"
        )
    undo.add({"kind": "netns", "path": netns_path})
    # IPv6 off until an endpoint with an IPv6 address joins (Docker's containers on
    # IPv4-only networks have no inet6 address, not even ::1).
    netlink.netns_create(netns_path, ipv6=False)
    netlink.sandbox_interface_up(netns_path, "lo", addresses=[])


def delete_sandbox(netns_path: str) -> None:
    if netns_path:
        netlink.netns_delete(netns_path)


def sandbox_exists(netns_path: str) -> bool:
    return bool(netns_path) and netlink.netns_exists(netns_path)


def release_sandbox_dir(directory: str) -> None:
    """After the last sandbox is gone: unmount the directory that held them."""
    netlink.netns_dir_release(directory)

"""Remove the kernel resources an undo log names (links, addresses, sysctls, netns).

``pynet.cnm.rollback`` replays a whole log and hands these kinds here. A log read back
from the journal is data, not instructions: ``replay_allowed`` lets through only what it
proves pynet made (design.md, "State and crash safety").
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.kernel import netlink

#: names pynet generates for host links, with the kind each must have (compiled on first
#: use: only a replayed journal needs them, and five compiles cost ~1 ms a command)
_GENERATED = [
    (r"veth[0-9a-f]{7}", "veth"),
    (r"mvl[0-9a-f]{6}", "macvlan"),
    (r"ov-[0-9a-f]{12}", "bridge"),
    (r"dm-[0-9a-f]{12}", "bridge"),  # macvlan's stand-in dummy parent
    (r"vx-[0-9]{1,8}", "vxlan"),
]


def remove(resource: dict[str, Any]) -> None:
    """Best-effort, idempotent removal of one logged kernel resource (other kinds: nothing)."""
    kind = resource.get("kind")
    if kind == "link":
        netlink.link_delete(resource["name"], resource.get("netns"))
    elif kind == "addresses":
        for cidr in resource.get("cidrs", []):
            netlink.addr_delete(resource["link"], cidr)
    elif kind == "sysctls":
        for key, value in resource.get("values", {}).items():
            if key in ("forwarding", "route_localnet") and value in ("0", "1"):
                netlink.set_link_sysctl(resource["link"], key, value)
    elif kind == "netns":
        netlink.netns_delete(resource["path"])


def replay_allowed(resource: dict[str, Any]) -> bool:
    """True when a kernel resource read back from the journal is provably pynet's to remove."""
    kind = resource.get("kind")
    if kind == "netns":
        return _in_netns_dir(resource.get("path"))
    if kind == "link" and resource.get("netns") is not None:
        return _in_netns_dir(resource.get("netns"))
    if kind == "link":
        name = resource.get("name")
        if not isinstance(name, str):
            return False
        index = resource.get("index")
        if index is not None:
            return netlink.link_index(name) == index
        return any(re.fullmatch(rx, name) and netlink.link_kind(name) == lk for rx, lk in _GENERATED)
    if kind in ("addresses", "sysctls"):
        link = resource.get("link")
        return (
            isinstance(link, str)
            and resource.get("index") is not None
            and netlink.link_index(link) == resource["index"]
        )
    return False


def _in_netns_dir(path: Any) -> bool:
    if not isinstance(path, str) or not path:
        return False
    try:
        root = os.path.realpath(paths.netns_dir())
        return os.path.dirname(os.path.realpath(path)) == root
    except OSError:  # e.g. /proc/<pid>/ns/net of a process we may not inspect
        return False

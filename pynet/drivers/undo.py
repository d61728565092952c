"""Remove kernel resources recorded in an undo log (after a failure or a kill -9).

An in-process rollback trusts its log: this very command wrote it. A log read back from
the journal on disk (``replay=True``) is data that may be stale, damaged or handcrafted,
so replay removes only what the journal proves pynet made:

- a host link when the journal holds the index the kernel gave the link pynet created
  (``UndoLog.confirm``) and the link of that name still has it, or when its name and kind
  are ones only pynet generates (``veth<7 hex>`` veth, ``mvl<6 hex>`` macvlan,
  ``ov-<12 hex>``/``dm-<12 hex>`` bridge, ``vx-<vni>`` vxlan): a user's ``lan0`` or bridge is never touched;
- addresses and sysctls of a user's bridge only on the link with the recorded index;
- links and namespaces of sandboxes only under pynet's own netns directory.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.kernel import netlink

#: names pynet generates for host links, with the kind each must have
_GENERATED = [
    (re.compile(r"veth[0-9a-f]{7}"), "veth"),
    (re.compile(r"mvl[0-9a-f]{6}"), "macvlan"),
    (re.compile(r"ov-[0-9a-f]{12}"), "bridge"),
    (re.compile(r"dm-[0-9a-f]{12}"), "bridge"),  # macvlan's stand-in dummy parent
    (re.compile(r"vx-[0-9]{1,8}"), "vxlan"),
]


def remove_resource(resource: dict[str, Any]) -> None:
    """Best-effort, idempotent removal of one logged resource."""
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
    elif kind == "driver":
        from pynet.drivers import get_driver

        get_driver(resource["driver"]).undo_resource(resource)
    elif kind == "plugin":
        from pynet.drivers import plugins

        plugins.undo_resource(resource)
    elif kind == "nft":
        from pynet.firewall import policy as firewall

        firewall.undo_resource(resource)


def replay_allowed(resource: dict[str, Any]) -> bool:
    """True when a resource read back from the journal is provably pynet's to remove."""
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
        return any(rx.fullmatch(name) and netlink.link_kind(name) == lk for rx, lk in _GENERATED)
    if kind in ("addresses", "sysctls"):
        link = resource.get("link")
        return (
            isinstance(link, str)
            and resource.get("index") is not None
            and netlink.link_index(link) == resource["index"]
        )
    return kind in ("driver", "plugin", "nft")


def _in_netns_dir(path: Any) -> bool:
    if not isinstance(path, str) or not path:
        return False
    try:
        root = os.path.realpath(paths.netns_dir())
        return os.path.dirname(os.path.realpath(path)) == root
    except OSError:  # e.g. /proc/<pid>/ns/net of a process we may not inspect
        return False


def remove_all(resources: list[dict[str, Any]], *, replay: bool = False) -> list[str]:
    """Undo newest first; collect errors instead of stopping.

    ``replay``: the log came from the journal on disk; skip what it cannot prove (above).
    """
    errors = []
    for res in reversed(resources):
        try:
            if replay and not replay_allowed(res):
                errors.append(f"{res}: not removed: the journal does not prove pynet created it")
                continue
            remove_resource(res)
        except Exception as exc:  # noqa: BLE001 - teardown goes on past errors
            errors.append(f"{res}: {exc}")
    return errors

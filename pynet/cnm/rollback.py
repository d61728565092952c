"""Replaying an undo log: remove what a failed (or killed) command logged, newest first.

Kernel resources go to ``pynet.kernel.undo``; a driver's, a plugin's or the firewall's own
resources to the one that logged them. A log read back from the journal (``replay=True``)
removes only what it proves pynet made (design.md, "State and crash safety").
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.kernel import undo as kernel_undo

#: kinds removed by whoever logged them (a driver, a remote plugin, the firewall)
_OWNED_KINDS = ("driver", "plugin", "nft")


def remove_resource(resource: dict[str, Any]) -> None:
    """Best-effort, idempotent removal of one logged resource."""
    kind = resource.get("kind")
    if kind == "driver":
        from pynet.drivers import get_driver

        get_driver(resource["driver"]).undo_resource(resource)
    elif kind == "plugin":
        from pynet.drivers import plugins

        plugins.undo_resource(resource)
    elif kind == "nft":
        from pynet.firewall import policy as firewall

        firewall.undo_resource(resource)
    else:
        kernel_undo.remove(resource)


def replay_allowed(resource: dict[str, Any]) -> bool:
    """True when a resource read back from the journal is provably pynet's to remove."""
    return resource.get("kind") in _OWNED_KINDS or kernel_undo.replay_allowed(resource)


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

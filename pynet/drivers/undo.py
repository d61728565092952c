"""Remove kernel resources recorded in an undo log (after a failure or a kill -9)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~6 ms to import here: annotations only
if TYPE_CHECKING:
    from typing import Any

from pynet.kernel import netlink


def remove_resource(resource: dict[str, Any]) -> None:
    """Best-effort, idempotent removal of one logged resource."""
    kind = resource.get("kind")
    if kind == "link":
        netlink.link_delete(resource["name"], resource.get("netns"))
    elif kind == "netns":
        netlink.netns_delete(resource["path"])
    elif kind == "driver":
        from pynet.drivers import get_driver

        get_driver(resource["driver"]).undo_resource(resource)
    elif kind == "plugin":
        from pynet.drivers import plugins

        plugins.undo_resource(resource)
    elif kind == "nft":
        from pynet.drivers import firewall

        firewall.undo_resource(resource)


def remove_all(resources: list[dict[str, Any]]) -> list[str]:
    """Undo newest first; collect errors instead of stopping."""
    errors = []
    for res in reversed(resources):
        try:
            remove_resource(res)
        except Exception as exc:  # noqa: BLE001 - teardown goes on past errors
            errors.append(f"{res}: {exc}")
    return errors

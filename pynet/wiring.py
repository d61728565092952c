"""The composition root: the core's Controller built with the collaborators it is given.

The cli imports this module, never ``pynet.daemon``; cnm sees the helper only as the
``Notifier`` handed to its Controller here. Imports are lazy: read-only commands stay fast.
"""

from __future__ import annotations

from pynet.cnm.notifier import Notifier

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.controller import Controller
    from pynet.cnm.images import ImageService
    from pynet.cnm.repo import Repo
    from pynet.state.store import Store


class HelperNotifier(Notifier):
    """The per-host helper over its unix socket (``pynet.daemon.client``, loaded on first use)."""

    def notify(self, container_ids: list[str]) -> bool:
        from pynet.daemon import client

        return client.notify(container_ids)

    def resync(self) -> None:
        from pynet.daemon import client

        client.resync()

    def stop(self) -> None:
        from pynet.daemon import client

        client.stop()

    def is_running(self) -> bool:
        from pynet.daemon import client

        return client.ping()

    def ensure_running(self) -> None:
        from pynet.daemon import client

        client.ensure_running()

    def reload_cluster(self, timeout: float) -> dict[str, Any] | None:
        from pynet.daemon import client

        return client.request({"op": "cluster"}, timeout=timeout)


def controller(store: Store | None = None) -> Controller:
    """A Controller (not yet made ready) that talks to this host's helper."""
    from pynet.cnm.controller import Controller

    return Controller(store, notifier=HelperNotifier())


def system_info() -> dict[str, Any]:
    """``pynet info``'s facts, with the real helper asked whether it runs."""
    from pynet.cnm.info import system_info as gather

    return gather(open_repo(), HelperNotifier())


def open_repo(*, documents: bool = False) -> Repo:
    """The read-only view of the state (``pynet.cnm.reader``), repaired with the real helper."""
    from pynet.cnm.reader import open_repo as open_with

    return open_with(HelperNotifier(), documents=documents)


def images(store: Store | None = None) -> ImageService:
    """The local images (``pynet.cnm.images``): import, lookup, list, remove."""
    from pynet import paths
    from pynet.cnm.images import ImageService
    from pynet.state.store import Store

    return ImageService(store or Store(paths.state_dir()))

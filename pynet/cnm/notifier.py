"""How the core tells the per-host helper (embedded DNS, cluster lease) what changed.

The Controller is GIVEN a Notifier when it is built (``pynet.wiring`` hands it the real
one, over the helper's unix socket); cnm never imports ``pynet.daemon``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


class Notifier(ABC):
    """The helper as the core sees it: messages only, never kernel work."""

    @abstractmethod
    def notify(self, container_ids: list[str]) -> bool:
        """Tell the helper these containers changed; True once it has applied the change."""

    @abstractmethod
    def resync(self) -> None:
        """Ask a running helper to rebuild everything from state (after crash recovery)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the helper (and what keeps it alive), if it runs."""

    @abstractmethod
    def is_running(self) -> bool:
        """True when a helper answers."""

    @abstractmethod
    def ensure_running(self) -> None:
        """Start the helper unless one answers; raises a PynetError when it cannot."""

    @abstractmethod
    def reload_cluster(self, timeout: float) -> dict[str, Any] | None:
        """Have the helper (re)read the cluster membership; its reply, None if none came."""


class NullNotifier(Notifier):
    """No helper at all (tests, and a Controller built without one): every message is a no-op."""

    def notify(self, container_ids: list[str]) -> bool:
        return True

    def resync(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def is_running(self) -> bool:
        return True

    def ensure_running(self) -> None:
        pass

    def reload_cluster(self, timeout: float) -> dict[str, Any] | None:
        return {"ok": True}

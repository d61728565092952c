"""The undo log drivers and the firewall write to before creating a kernel resource.

The core hands a journal-backed ``UndoLog`` down (``pynet.cnm.controller.JournalUndo``);
it lives here, in the leaf package, so every layer below the core (drivers, firewall)
can take one without importing the layer above it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


class UndoLog:
    """Where drivers record kernel resources before creating them (the core's journal)."""

    def add(self, resource: dict[str, Any]) -> None:
        """Record ``resource`` (e.g. ``{"kind": "link", "name": "veth1a2b3c4"}``)."""
        raise NotImplementedError

    def confirm(self, resource: dict[str, Any], **facts: Any) -> None:
        """Add to a logged ``resource`` what creating it revealed (a new link's ``index``).

        Journal replay deletes a link only with that proof, or when its name and kind are
        ones pynet generates (``pynet.kernel.undo``).
        """
        resource.update(facts)


class NullUndo(UndoLog):
    """An UndoLog that forgets (for restore paths where nothing must be rolled back)."""

    def add(self, resource: dict[str, Any]) -> None:
        pass

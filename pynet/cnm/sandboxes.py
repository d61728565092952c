"""The Sandbox service: make, find and remove a container's sandbox (its netns).

The record is ``pynet.records.model.Sandbox`` (stored in the container's record); the
kernel side is ``pynet.kernel.sandbox``.
"""

from __future__ import annotations

from pynet import paths
from pynet.ids import new_id
from pynet.kernel import sandbox as kernel_sandbox
from pynet.records.model import Container, Sandbox
from pynet.records.undo import UndoLog


class SandboxService:
    """Create and delete the Sandbox of a container, logging kernel work to ``undo``."""

    def __init__(self, undo: UndoLog) -> None:
        self.undo = undo

    def create(self, c: Container) -> Sandbox:
        """A new sandbox for ``c``: an ID, a netns under ``$PYNET_RUN_DIR/netns``, lo up."""
        c.sandbox_id = new_id()
        c.netns_path = str(paths.netns_dir() / c.sandbox_id[:12])
        kernel_sandbox.create_sandbox(c.netns_path, self.undo)
        return c.sandbox()

    def delete(self, c: Container) -> None:
        """Remove the sandbox's netns (idempotent; nothing for a container without one)."""
        kernel_sandbox.delete_sandbox(c.netns_path)


def exists(c: Container) -> bool:
    """``c`` has a sandbox and its netns is still there (not removed behind pynet's back)."""
    return kernel_sandbox.sandbox_exists(c.netns_path)


def forget(c: Container) -> None:
    """``c`` holds no sandbox any more (its netns is gone)."""
    c.sandbox_id = c.netns_path = ""


def release_all() -> None:
    """After the last sandbox is gone (``system reset``): unmount the directory that held them."""
    kernel_sandbox.release_sandbox_dir(str(paths.netns_dir()))

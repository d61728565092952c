"""Where pynet keeps its files.

State (survives reboots): ``/var/lib/pynet`` or ``$PYNET_STATE_DIR``.
Runtime (dies with a reboot: netns bind mounts, pid files, sockets): ``/run/pynet`` or
``$PYNET_RUN_DIR``. Tests, multi-host simulations and outside checks rely on exactly
these two variable names.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_DIR = "/var/lib/pynet"
DEFAULT_RUN_DIR = "/run/pynet"


def state_dir() -> Path:
    """The state directory (``$PYNET_STATE_DIR`` overrides)."""
    return Path(os.environ.get("PYNET_STATE_DIR") or DEFAULT_STATE_DIR)


def run_dir() -> Path:
    """The runtime directory (``$PYNET_RUN_DIR`` overrides)."""
    return Path(os.environ.get("PYNET_RUN_DIR") or DEFAULT_RUN_DIR)


def netns_dir() -> Path:
    """Bind-mounted sandbox network namespaces: ``<run>/netns/<sandbox-id>``."""
    return run_dir() / "netns"


def container_dir(container_id: str) -> Path:
    """Per-container files: hosts, hostname, resolv.conf, log."""
    return state_dir() / "containers" / container_id

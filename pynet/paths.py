"""Where pynet keeps its files.

State (survives reboots): ``/var/lib/pynet`` or ``$PYNET_STATE_DIR``.
Runtime (dies with a reboot: netns bind mounts, pid files, sockets): ``/run/pynet`` or
``$PYNET_RUN_DIR``. Tests, multi-host simulations and outside checks rely on exactly
these two variable names. Also how long pynet's per-host processes (the helper daemon, the
waiter zygote) stay after their last use: ``$PYNET_DAEMON_IDLE_EXIT``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_STATE_DIR = "/var/lib/pynet"
DEFAULT_RUN_DIR = "/run/pynet"


def idle_exit_after() -> float:
    """Seconds without use after which the helper daemon and the waiter zygote leave (0:
    never): ``$PYNET_DAEMON_IDLE_EXIT``, default 600; pynet's per-host processes leave together."""
    try:
        return float(os.environ.get("PYNET_DAEMON_IDLE_EXIT", "600"))
    except ValueError:
        return 600.0


def state_root() -> str:
    """The state directory as a str (read-only commands import no pathlib: design.md, "Start-up")."""
    return os.environ.get("PYNET_STATE_DIR") or DEFAULT_STATE_DIR


def run_root() -> str:
    """The runtime directory as a str."""
    return os.environ.get("PYNET_RUN_DIR") or DEFAULT_RUN_DIR


def state_dir() -> Path:
    """The state directory (``$PYNET_STATE_DIR`` overrides)."""
    from pathlib import Path

    return Path(state_root())


def run_dir() -> Path:
    """The runtime directory (``$PYNET_RUN_DIR`` overrides)."""
    from pathlib import Path

    return Path(run_root())


def netns_dir() -> Path:
    """Bind-mounted sandbox network namespaces: ``<run>/netns/<sandbox-id>``."""
    return run_dir() / "netns"


def container_dir(container_id: str) -> Path:
    """Per-container files: hosts, hostname, resolv.conf, log."""
    return state_dir() / "containers" / container_id

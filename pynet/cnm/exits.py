"""Exit codes of auto-removed (``--rm``) containers, kept briefly after their record is gone.

The Engine API's ``wait?condition=removed`` answers with the code of a container that no
longer exists (``docker run --rm`` passes it through); a small file per container under
``$PYNET_RUN_DIR/exits`` holds it for :data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import os
import time

from pynet import paths

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pathlib import Path

KEEP_SECONDS = 300
SWEEP_EVERY = 30  # seconds: the directory holds every --rm container of the last 5 minutes
_SWEPT = ".swept"  # its mtime: when old codes were last forgotten


def record(container_id: str, code: int) -> None:
    """Remember ``code`` for ``container_id`` (and forget codes older than KEEP_SECONDS)."""
    d = paths.run_dir() / "exits"
    try:
        _write(d, container_id, code)
    except FileNotFoundError:
        d.mkdir(parents=True, exist_ok=True)
        _write(d, container_id, code)
    now = time.time()
    try:
        if os.stat(d / _SWEPT).st_mtime > now - SWEEP_EVERY:
            return  # scanning hundreds of files on every exit would make `run --rm` grow
    except FileNotFoundError:
        pass
    _touch(d / _SWEPT)
    cutoff = now - KEEP_SECONDS
    for entry in os.scandir(d):
        try:
            if entry.name != _SWEPT and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass


def _write(d: Path, container_id: str, code: int) -> None:
    tmp = d / f".tmp-{container_id}"
    tmp.write_text(str(code))
    os.replace(tmp, d / container_id)


def _touch(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    os.utime(path)


def last_code(container_id: str) -> int | None:
    """The code recorded for a removed container, if it is still kept."""
    try:
        return int((paths.run_dir() / "exits" / container_id).read_text())
    except (OSError, ValueError):
        return None

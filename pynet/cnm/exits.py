"""Exit codes of auto-removed (``--rm``) containers, kept briefly after their record is gone.

The Engine API's ``wait?condition=removed`` answers with the code of a container that no
longer exists (``docker run --rm`` passes it through); a small file per container under
``$PYNET_RUN_DIR/exits`` holds it for :data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import os
import time

from pynet import paths

KEEP_SECONDS = 300


def record(container_id: str, code: int) -> None:
    """Remember ``code`` for ``container_id`` (and forget codes older than KEEP_SECONDS)."""
    d = paths.run_dir() / "exits"
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".tmp-{container_id}"
    tmp.write_text(str(code))
    os.replace(tmp, d / container_id)
    cutoff = time.time() - KEEP_SECONDS
    for entry in os.scandir(d):
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass


def last_code(container_id: str) -> int | None:
    """The code recorded for a removed container, if it is still kept."""
    try:
        return int((paths.run_dir() / "exits" / container_id).read_text())
    except (OSError, ValueError):
        return None

"""The events log: what mutating commands did, one JSON event per line (docs/events.md).

pynet has no daemon to keep Docker's in-memory event buffer, so every mutating command
appends its events to ``<state>/events.log`` (one ``write`` of whole lines, O_APPEND,
under the store lock) and readers replay and tail the file. It is bounded: past
:data:`MAX_BYTES` the file is renamed ``events.log.1`` (the previous one dropped).
"""

from __future__ import annotations

import os
import time

from pynet import jsonio

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any

MAX_BYTES = 1 << 20  # one generation kept besides the live file: at most ~2 MiB
LOG_NAME = "events.log"
POLL_SECONDS = 0.1


class EventLog:
    """The events log of one state directory."""

    def __init__(self, root: str | Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = os.path.join(root, LOG_NAME)
        self.old_path = self.path + ".1"
        self.max_bytes = max_bytes

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append ``events`` (Docker-shaped dicts) in one write; rotate when full.

        Callers hold the store lock (rotation is a rename nobody else does meanwhile)."""
        if not events:
            return
        data = "".join(jsonio.dumps(ev) + "\n" for ev in events).encode()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if os.fstat(fd).st_size + len(data) > self.max_bytes and os.fstat(fd).st_size:
                os.replace(self.path, self.old_path)
                os.close(fd)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            os.write(fd, data)
        finally:
            os.close(fd)

    def read(
        self, *, history: bool, follow: bool, stop: Callable[[], bool] = lambda: False, poll: float = POLL_SECONDS
    ) -> Iterator[dict[str, Any]]:
        """Stored events oldest first (``history``), then with ``follow`` the ones appended
        from now on as they come, until ``stop()`` is true (checked when idle).

        One open file carries replay into tail, so no event falls between the two; the
        live file is followed across rotations (a new inode at the path)."""
        f, inode = _open(self.path)
        pending = b""
        try:
            if history:
                if _inode(self.old_path) not in (0, inode):
                    with open(self.old_path, "rb") as old:
                        yield from _parse(old.read())
            elif f is not None:
                f.seek(0, os.SEEK_END)
            while True:
                chunk = f.read() if f is not None else b""
                if chunk:
                    complete, _, pending = (pending + chunk).rpartition(b"\n")
                    yield from _parse(complete)
                    continue
                if not follow:
                    return
                now_inode = _inode(self.path)
                if now_inode != inode:  # rotated (or first made): the new file from its start
                    if f is not None:
                        f.close()
                    f, inode = _open(self.path)
                    pending = b""
                    continue
                if stop():
                    return
                idle(poll)
        finally:
            if f is not None:
                f.close()


def idle(seconds: float) -> None:
    """Wait for writers while following (tests replace it to end a follow at once)."""
    time.sleep(seconds)


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    import json

    for line in data.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a torn line of a writer killed mid-write: not an event
        if isinstance(ev, dict):
            yield ev


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return 0


def _open(path: str):  # type: ignore[no-untyped-def]
    """(file, inode) of ``path`` opened for reading; (None, 0) when it does not exist."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None, 0
    return f, os.fstat(f.fileno()).st_ino

"""Owner locks: which pynet process answers for a container that is starting or in the foreground.

An flock on ``<run>/owners/<container-id>``, held from just before ``run``'s commit until
the container runs under its supervisor or has exited; the kernel drops it when its
holder dies, and the next command reaps the container (``Controller.reap_orphans``).
Why: design.md, "Process liveness".
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from pynet import paths


def _dir() -> str:
    return os.path.join(paths.run_root(), "owners")


class OwnerLock:
    """An owner file whose flock this process holds."""

    def __init__(self, container_id: str, fd: int) -> None:
        self.container_id = container_id
        self.fd = fd

    def note_pid(self, pid: int, start: int) -> None:
        """Name the container's process (so a reaper can tell whether it still runs)."""
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{pid} {start}\n".encode(), 0)

    def process(self) -> tuple[int, int]:
        """(pid, start time) of the container's process as noted; (0, 0) when none."""
        try:
            pid, start = os.pread(self.fd, 64, 0).split()[:2]
            return int(pid), int(start)
        except ValueError:
            return 0, 0

    def release(self) -> None:
        """The container needs no owner any more: remove the file, then let go of it."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(_dir(), self.container_id))
        self.close()

    def close(self) -> None:
        """Let go of the lock and keep the file (its container still needs an owner)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def claim(container_id: str) -> OwnerLock:
    """Become the owner of ``container_id``: the file appears already locked."""
    d = _dir()
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".tmp-{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    # Renamed into place once locked: nobody can find it unlocked while we live.
    os.rename(tmp, os.path.join(d, container_id))
    return OwnerLock(container_id, fd)


def orphans() -> list[OwnerLock]:
    """Owner files whose owner is gone, each now locked by us (close or release them)."""
    d = _dir()
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        path = os.path.join(d, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # its owner lives
            continue
        if name.startswith(".tmp-"):  # an owner killed before renaming: nothing to reap
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(fd)
            continue
        out.append(OwnerLock(name, fd))
    return out


def any_orphan() -> bool:
    """True when a container lost its owner (cheap: usually an empty directory)."""
    found = orphans()
    for lock in found:
        lock.close()
    return bool(found)

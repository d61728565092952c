"""Processes by pid *and* start time: liveness and signals that never hit a reused pid.

The kernel reuses pids, so pynet keeps, next to every pid it records (a container's
process, its supervisor), the process's start time; a live pid whose start time differs
is another process, and pynet treats the recorded one as dead.
"""

from __future__ import annotations

import os
import _signal


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 on), or [] when gone."""
    if pid <= 0:
        return []
    # os.open, not open(): no text layer, so a zygote's waiter copies no page for it
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        return os.read(fd, 4096).rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return []
    finally:
        os.close(fd)


def pid_start_time(pid: int) -> int:
    """When ``pid`` started (field 22 of /proc/PID/stat, clock ticks since boot); 0 if gone.

    A pid and its start time name one process for good: the kernel reuses pids, and a
    recorded pid whose start time differs is another process.
    """
    fields = _stat_fields(pid)
    return int(fields[19]) if len(fields) > 19 else 0


def write_pid_file(path: str) -> None:
    """Write this process's "PID START_TIME" to ``path`` atomically (what :func:`pid_alive`
    checks before anyone signals it: the zygote's and the warm server's pid files)."""
    me = os.getpid()
    tmp = f"{path}.tmp-{me}"
    with open(tmp, "w") as f:
        f.write(f"{me} {pid_start_time(me)}\n")
    os.replace(tmp, path)


def pid_alive(pid: int, start: int = 0) -> bool:
    """``pid`` runs (not a zombie) and, when ``start`` is given, is the process that
    started then (0 = unknown: records written before start times were kept)."""
    fields = _stat_fields(pid)
    if not fields or fields[0] == "Z":
        return False
    return not start or (len(fields) > 19 and int(fields[19]) == start)


def signal_pid(pid: int, start: int, sig: int) -> bool:
    """Send ``sig`` to the process ``pid`` that started at ``start``; False when it is gone.

    The check and the signal go through one pidfd, so a pid reused in between is never hit.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:
        fd = -1  # no pidfd (old kernel): checked, then signalled by pid
    try:
        if not pid_alive(pid, start):
            return False
        if fd >= 0:
            _signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        if fd >= 0:
            os.close(fd)

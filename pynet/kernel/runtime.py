"""Starting container processes: in the foreground (pynet waits) or under a supervisor."""

from __future__ import annotations

import os
import signal

from pynet.errors import LaunchFailed
from pynet.kernel import netlink
from pynet.kernel.pids import pid_start_time
from pynet.kernel.process import LaunchSpec, start, wait_status

__all__ = ["LaunchSpec", "pid_start_time", "start_foreground", "start_detached", "wait", "wait_forwarding"]


def start_foreground(spec: LaunchSpec) -> int:
    """Fork the container process as our child; returns its pid."""
    netlink.close_all()
    return start(spec)


def wait(pid: int) -> int:
    """Wait for our child ``pid``; returns its exit code (128+N for a signal)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return wait_status(status)
        except InterruptedError:
            continue


def start_detached(
    spec: LaunchSpec, *, container_id: str, log_path: str, container_dir: str
) -> tuple[int, int, int, int]:
    """Start a supervisor that starts and waits for the container.

    Returns (container pid, its start time, supervisor pid, its start time).
    """
    from pynet.kernel import supervisor

    netlink.close_all()
    sup, report = supervisor.fork_supervisor(
        spec, container_id=container_id, log_path=log_path, container_dir=container_dir
    )
    if "error" in report:
        _reap(sup)
        raise LaunchFailed(report["error"], int(report["exit_code"]))
    sup_start = int(report.get("waiter_start") or pid_start_time(sup))
    return int(report["pid"]), int(report.get("start", 0)), sup, sup_start


def _reap(pid: int) -> None:
    """Collect a supervisor that gave up (it exits right after reporting)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def wait_forwarding(pid: int, *, tty: bool) -> int:
    """Docker's sig-proxy: forward signals sent to pynet to ``pid`` while waiting for it."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT):
        # With a tty the terminal already sends ^C to the container's process group too.
        old[sig] = signal.signal(sig, signal.SIG_IGN if (tty and sig == signal.SIGINT) else forward)
    try:
        return wait(pid)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)

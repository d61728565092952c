"""Starting container processes: in the foreground (pynet waits) or under a supervisor."""

from __future__ import annotations

import os
import signal

from pynet.errors import LaunchFailed
from pynet.kernel import netlink
from pynet.kernel.pids import pid_start_time
from pynet.kernel.process import LaunchSpec, start, wait_status

__all__ = [
    "LaunchSpec",
    "pid_start_time",
    "start_foreground",
    "start_with_terminal",
    "start_detached",
    "wait",
    "wait_forwarding",
]


def start_foreground(spec: LaunchSpec) -> int:
    """Fork the container process as our child; returns its pid."""
    netlink.close_all()
    return start(spec)


def start_with_terminal(spec: LaunchSpec, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Fork the container process with a new pty (``-t``) of ``size`` (rows, columns; by
    default our terminal's); returns (its pid, the pty's master)."""
    from pynet.kernel import terminal

    netlink.close_all()
    ours, theirs = terminal.console_socket()
    spec.console_socket, spec.tty_size = theirs, terminal.our_size() if size is None else size
    try:
        pid = start(spec)
    finally:
        os.close(theirs)
        spec.console_socket = -1
    try:
        return pid, terminal.receive_master(ours)
    finally:
        ours.close()  # type: ignore[attr-defined]


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


def wait_forwarding(pid: int, *, master: int = -1, stdin: bool = False) -> int:
    """Docker's sig-proxy: forward signals sent to pynet to ``pid`` while waiting for it.

    With a pty ``master`` (``-t``) relay it to our stdout meanwhile, and our stdin to it
    when ``stdin`` (``-i``; our terminal in raw mode for the session, so ^C reaches the
    container as a byte and its pty makes the signal)."""

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT):
        old[sig] = signal.signal(sig, forward)
    try:
        if master >= 0:
            _relay_session(pid, master, stdin)
        return wait(pid)
    finally:
        if master >= 0:
            os.close(master)
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _relay_session(pid: int, master: int, stdin: bool) -> None:
    from pynet.kernel import terminal

    if stdin and os.isatty(0):
        with terminal.RawMode(0):
            terminal.relay(pid, master, stdin=0)
    else:
        terminal.relay(pid, master, stdin=0 if stdin else None)

"""Starting container processes: in the foreground (pynet waits) or under a supervisor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict

from pynet.errors import KernelError
from pynet.kernel import netlink
from pynet.kernel.process import LaunchError, LaunchSpec, start, wait_status

__all__ = ["LaunchError", "LaunchSpec", "start_foreground", "start_detached", "wait", "wait_forwarding"]


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


def start_detached(spec: LaunchSpec, *, container_id: str, log_path: str, spec_path: str) -> tuple[int, int]:
    """Start a supervisor that starts and waits for the container; returns (container pid, supervisor pid)."""
    raw = asdict(spec)
    raw.update(container_id=container_id, log_path=log_path)
    for key in ("stdin", "stdout", "stderr"):
        raw[key] = None
    with open(spec_path, "w") as f:
        json.dump(raw, f)
    netlink.close_all()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pynet.kernel.supervisor", spec_path],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, env=os.environ.copy(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.stdout.close()
    if not line:
        proc.wait(timeout=5)
        raise KernelError("container supervisor died before starting the container")
    report = json.loads(line)
    if "error" in report:
        proc.wait(timeout=10)
        raise LaunchError(report["error"], int(report["exit_code"]))
    supervisor_pid = proc.pid
    proc.returncode = 0  # it outlives us on purpose: no "still running" warning at exit
    return int(report["pid"]), supervisor_pid


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

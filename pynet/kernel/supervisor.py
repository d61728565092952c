"""The small process that waits for a detached container (conmon's job in Podman).

``pynet run -d`` forks it from the CLI process itself, so no new interpreter starts on
the command's critical path: the fork leaves the CLI's session, starts the container
(``pynet.kernel.process.start``), reports the pid (or the launch error) through a pipe,
and then execs a bare interpreter (``python -S``) running ``pynet.kernel.waiter``, which
holds nothing but ``os`` and ``sys``: a waiting container costs a few MB. When the
container exits the waiter execs ``python -m pynet _exited ID CODE``, which records the
exit (and cleans up for ``--rm``) under the state lock.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from pynet.kernel.pids import pid_start_time
from pynet.errors import EXIT_USAGE, LaunchFailed
from pynet.kernel.process import LaunchSpec, start

# sys.path[0] is the directory holding the pynet package: `-S` skips the site-packages
# (and .pth) setup that would otherwise find it.
#: in the container's directory: its stdin, when an Engine API client attached one
STDIN_FIFO = "stdin.fifo"
_WAITER = "import sys; sys.path.insert(0, sys.argv[1]); from pynet.kernel.waiter import main; main(sys.argv[2:])"


def _package_root() -> str:
    import pynet

    return os.path.dirname(os.path.dirname(os.path.abspath(pynet.__file__)))


def fork_supervisor(spec: LaunchSpec, *, container_id: str, log_path: str, container_dir: str) -> tuple[int, dict]:
    """Fork the supervisor; returns (its pid, its report: ``{"pid": N, "start": T}`` or ``{"error"...}``)."""
    root = _package_root()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered may be written twice
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    sup = os.fork()
    if sup == 0:
        try:
            os.close(rfd)
            _supervise(spec, wfd, container_id=container_id, log_path=log_path, container_dir=container_dir, root=root)
        finally:
            os._exit(1)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        report = pipe.read()
    if not report:
        return sup, {"error": "container supervisor died before starting the container", "exit_code": EXIT_USAGE}
    return sup, json.loads(report)


def _supervise(
    spec: LaunchSpec, report_fd: int, *, container_id: str, log_path: str, container_dir: str, root: str
) -> None:
    """In the forked child: new session, start the container, report, become the waiter."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    _close_all_but(report_fd, devnull, log_fd)  # e.g. the state lock: not ours to hold
    # Two pipes, read by the waiter into the log as Docker's frames: stdout and stderr
    # stay apart (pynet logs, the Engine API's attach and logs) and in order.
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    spec.stdin, spec.stdout, spec.stderr = _stdin(container_dir, devnull), out_w, err_w
    try:
        pid = start(spec)
    except LaunchFailed as exc:
        os.write(report_fd, json.dumps({"error": exc.message, "exit_code": exc.exit_code}).encode())
        return
    # Read before we could reap it: the pid plus its start time name this process for good.
    os.write(report_fd, json.dumps({"pid": pid, "start": pid_start_time(pid)}).encode())
    for fd in (report_fd, log_fd, devnull, out_w, err_w):
        os.close(fd)
    os.set_inheritable(out_r, True)
    os.set_inheritable(err_r, True)
    # The container keeps the directory it started in; the waiter must not pin it (an
    # unmount) nor find another pynet there when it runs `python -m pynet _exited`.
    os.chdir("/")
    argv = [str(pid), container_id, container_dir, log_path, f"{out_r},{err_r}"]
    os.execv(sys.executable, [sys.executable, "-S", "-c", _WAITER, root, *argv])


def _stdin(container_dir: str, devnull: int) -> int:
    """The container's stdin: the FIFO an Engine API attach with ``stdin=1`` made (it holds
    the writing end and closes it when its client's input ends), else /dev/null."""
    import fcntl
    import stat

    path = os.path.join(container_dir, STDIN_FIFO)
    try:
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            return devnull
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # no writer: EOF, never a hang
    except OSError:
        return devnull
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def _close_all_but(*keep: int) -> None:
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)

"""The small process that waits for a detached container (conmon's job in Podman).

``pynet run -d`` asks the host's waiter zygote (``pynet.kernel.zygote``) to fork it: a
few hundred kB per running container instead of a whole interpreter. Where no zygote can
take the request it is forked from the CLI process itself, as before the zygote: the fork
leaves the CLI's session, starts the container (``pynet.kernel.process.start``), reports
the pid (or the launch error) through a pipe, and then execs a bare interpreter
(``python -S``) running ``pynet.kernel.waiter``. Either way, when the container exits the
waiter execs ``python -m pynet _exited ID CODE``, which records the exit (and cleans up
for ``--rm``) under the state lock.
"""

from __future__ import annotations

import marshal
import os
import signal
import sys

from pynet.kernel.pids import pid_start_time
from pynet.errors import EXIT_USAGE, LaunchFailed
from pynet.kernel.process import LaunchSpec, start

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

# sys.path[0] is the directory holding the pynet package: `-S` skips the site-packages
# (and .pth) setup that would otherwise find it.
#: in the container's directory: its stdin, when an Engine API client attached one
STDIN_FIFO = "stdin.fifo"
#: in the container's directory: "WAITER_PID WAITER_START PID PID_START" (``find_waiter``)
WAITER_FILE = "waiter"
_WAITER = "import sys; sys.path.insert(0, sys.argv[1]); from pynet.kernel.waiter import main; main(sys.argv[2:])"
_DIED = {"error": "container supervisor died before starting the container", "exit_code": EXIT_USAGE}


def _package_root() -> str:
    import pynet

    return os.path.dirname(os.path.dirname(os.path.abspath(pynet.__file__)))


def fork_supervisor(spec: LaunchSpec, *, container_id: str, log_path: str, container_dir: str) -> tuple[int, dict]:
    """Start the supervisor; returns (its pid, its report: ``{"pid": N, "start": T}`` or ``{"error"...}``)."""
    from pynet import paths
    from pynet.kernel import zygote

    root = _package_root()
    ident = zygote.identity(root)
    message = zygote.request(
        ident,
        dict(vars(spec)),
        container_id=container_id,
        log_path=log_path,
        container_dir=container_dir,
        env=dict(os.environ),  # what `_exited` runs with, as when we fork it ourselves
    )
    sock_path, pid_path, lock_path = zygote.files(str(paths.run_dir()), ident)
    try:
        return zygote.launch(message, sock_path=sock_path, pid_path=pid_path, lock_path=lock_path, root=root)
    except (zygote.ZygoteUnavailable, OSError, ValueError, EOFError):
        pass  # nothing was started: fork it ourselves
    return _fork(spec, container_id=container_id, log_path=log_path, container_dir=container_dir, root=root)


def _fork(spec: LaunchSpec, *, container_id: str, log_path: str, container_dir: str, root: str) -> tuple[int, dict]:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered may be written twice
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    sup = os.fork()
    if sup == 0:
        try:
            os.close(rfd)
            supervise(
                spec,
                lambda message: os.write(wfd, marshal.dumps(message)),
                keep=(wfd,),
                container_id=container_id,
                log_path=log_path,
                container_dir=container_dir,
                root=root,
            )
        finally:
            os._exit(1)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        report = pipe.read()
    return sup, marshal.loads(report) if report else dict(_DIED)


def supervise(
    spec: LaunchSpec,
    report: Callable[[dict], object],
    *,
    keep: tuple[int, ...],
    container_id: str,
    log_path: str,
    container_dir: str,
    root: str,
) -> None:
    """In the supervisor forked by the command: a new session, start the container,
    ``report`` its pid, then exec a bare interpreter from ``root`` that waits for it.
    ``keep``: the report channel's fds."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    out_r, out_w, err_r, err_w = output_pipes()
    console, fifo = None, -1
    if spec.tty:
        console, spec.console_socket = _console_socket()
        fifo = _stdin(container_dir, -1)
    pid = _launch(
        spec,
        report,
        (out_w, err_w),
        keep=(*keep, out_r, err_r, fifo, *([console.fileno()] if console else [])),
        container_dir=container_dir,
        log_path=log_path,
    )
    if not pid:
        return
    # The container keeps the directory it started in; the waiter must not pin it (an
    # unmount) nor find another pynet there when it runs `python -m pynet _exited`.
    os.chdir("/")
    readers = {out_r: 1, err_r: 2} if console is None else _terminal(console, out_r, err_r, fifo)
    for fd in readers:
        os.set_inheritable(fd, True)
    argv = [str(pid), container_id, container_dir, log_path, ",".join(f"{fd}:{s}" for fd, s in readers.items())]
    os.execv(sys.executable, [sys.executable, "-S", "-c", _WAITER, root, *argv])


def supervise_in_waiter(
    spec: bytes,
    report: Callable[[dict], object],
    *,
    keep: tuple[int, ...],
    container_id: str,
    log_path: str,
    container_dir: str,
    env: bytes,
    tty: bool = False,
) -> None:
    """In a waiter W the zygote forked: the same as :func:`supervise`, but W waits itself.

    ``spec`` (a LaunchSpec's fields) and ``env`` (for ``_exited``) are marshalled. The
    launch (files, pipes, ``process.start``) runs in a short-lived child L, so W's memory
    stays what the zygote gave it (each page it writes becomes its own copy): W is a child
    subreaper while L starts the container, which becomes W's child when L exits.
    """
    from pynet.kernel import namespaces, waiter

    os.setsid()  # SIGINT and SIGHUP: ignored already (the zygote)
    out_r, out_w, err_r, err_w = output_pipes()
    console, console_w = _console_socket() if tty else (None, -1)
    # An attach's stdin FIFO, held from before the start: its writer never sees no reader.
    fifo = _stdin(container_dir, -1) if tty else -1
    pid_r, pid_w = os.pipe2(os.O_CLOEXEC)
    namespaces.set_child_subreaper(True)
    launcher = os.fork()
    if launcher == 0:
        try:
            os.close(pid_r)
            os.close(out_r)
            os.close(err_r)
            launch_spec = LaunchSpec(**marshal.loads(spec))
            launch_spec.console_socket = console_w
            waiter_start = pid_start_time(os.getppid())  # read here: each object W touches costs it a page

            def report_with_waiter(message: dict) -> None:
                report({**message, "waiter_start": waiter_start})

            pid = _launch(
                launch_spec,
                report_with_waiter,
                (out_w, err_w),
                keep=(*keep, pid_w),
                container_dir=container_dir,
                log_path=log_path,
            )
            if pid:
                os.write(pid_w, str(pid).encode())
        finally:
            os._exit(0)
    os.chdir("/")  # as the forked supervisor's waiter: pin no directory
    for fd in (*keep, pid_w, out_w, err_w, *([console_w] if tty else [])):
        os.close(fd)
    reply = os.read(pid_r, 32)  # one short write, or nothing when L ends without a container
    os.close(pid_r)
    os.waitpid(launcher, 0)
    namespaces.set_child_subreaper(False)  # the container's own orphans go where they went before
    if not reply:
        os.close(out_r)
        os.close(err_r)
        return  # it did not start: L reported why
    readers = {out_r: 1, err_r: 2} if console is None else _terminal(console, out_r, err_r, fifo)
    waiter.wait_and_record(int(reply), container_id, log_path, readers, env)


def _console_socket():  # type: ignore[no-untyped-def]
    from pynet.kernel.terminal import console_socket

    return console_socket()


def _terminal(console, out_r: int, err_r: int, fifo: int) -> dict:  # type: ignore[no-untyped-def]
    """What the waiter copies for a ``-t`` container: the pty master the container's
    process sent (before its exec, so it is there once the launch reported the pid) to
    the log, and an Engine API attach's stdin FIFO (if any) into it."""
    from pynet.kernel.terminal import received_master

    master = received_master(console)
    console.close()
    os.close(out_r)
    os.close(err_r)
    readers = {master: 1} if master >= 0 else {}
    if fifo >= 0:
        readers[fifo] = 0
    return readers


def output_pipes() -> tuple[int, int, int, int]:
    """Two pipes, read by the waiter into the log as Docker's frames: stdout and stderr
    stay apart (pynet logs, the Engine API's attach and logs) and in order."""
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    return out_r, out_w, err_r, err_w


def _launch(
    spec: LaunchSpec,
    report: Callable[[dict], object],
    output: tuple[int, int],
    *,
    keep: tuple[int, ...],
    container_dir: str,
    log_path: str,
) -> int:
    """Start the container writing to ``output`` (two pipes' writing ends), ``report`` its
    pid (or why not); close all else but ``keep``. Its pid, or 0 when it did not start."""
    out_w, err_w = output
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    close_all_but(*keep, out_w, err_w, devnull, log_fd, spec.console_socket)  # e.g. the state lock: not ours to hold
    spec.stdin, spec.stdout, spec.stderr = _stdin(container_dir, devnull), out_w, err_w
    try:
        pid = start(spec)
    except LaunchFailed as exc:
        report({"error": exc.message, "exit_code": exc.exit_code})
        return 0
    # Read before we could reap it: the pid plus its start time name this process for good.
    started = pid_start_time(pid)
    _note_waiter(container_dir, pid, started)
    report({"pid": pid, "start": started})
    for fd in {log_fd, devnull, out_w, err_w, spec.stdin, spec.console_socket} - {-1}:
        os.close(fd)
    return pid


def _note_waiter(container_dir: str, pid: int, started: int) -> None:
    """Who waits for the container, for ``rm -f`` of a container whose record is damaged."""
    me = os.getpid() if os.getpid() == os.getsid(0) else os.getppid()  # the supervisor, or L's parent W
    path = os.path.join(container_dir, WAITER_FILE)
    try:
        with open(f"{path}.tmp", "w") as f:
            f.write(f"{me} {pid_start_time(me)} {pid} {started}\n")
        os.replace(f"{path}.tmp", path)
    except OSError:
        pass  # only a salvage aid: the record names the waiter too


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


def close_all_but(*keep: int) -> None:
    """Close every fd from 3 up except ``keep``."""
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)

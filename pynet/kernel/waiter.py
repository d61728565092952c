"""What a detached container's supervisor runs while the container lives: wait, then record.

Run in a waiter forked by the zygote (``pynet.kernel.zygote``), or by a bare interpreter
(``python -S``; see ``pynet.kernel.supervisor``): this module imports nothing but ``os``
and ``sys``. The container process is its child (it started it), so it can wait for it.
"""

import os
import sys


def copy_output(pid: int, log_path: str, pipes: dict) -> None:
    """Append what comes on ``pipes`` ({fd: stream}) to the log as Docker's frames (one
    write each: 1 stream byte, 3 zero bytes, big-endian length, payload) until both are
    closed — or, when a process the container left behind keeps them open, until PID
    has exited and nothing more is waiting. A pidfd tells of the exit: nothing polls."""
    import select

    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        exited = os.pidfd_open(pid)
    except OSError:
        exited = -1  # an old kernel: wait for the pipes only
    fds = dict(pipes)
    done = False
    while fds:
        watched = [*fds, exited] if exited >= 0 and not done else list(fds)
        ready, _, _ = select.select(watched, [], [], 0 if done else None)
        if not ready:
            break  # exited, and its output is all in the log
        for fd in ready:
            if fd == exited:
                done = True
                continue
            data = os.read(fd, 65536)
            if not data:
                os.close(fd)
                del fds[fd]
                continue
            os.write(log, bytes((fds[fd], 0, 0, 0)) + len(data).to_bytes(4, "big") + data)
    for fd in fds:
        os.close(fd)
    if exited >= 0:
        os.close(exited)
    os.close(log)


def exit_code(status: int) -> int:
    """Docker's exit code for a wait status: the code, or 128+N when signal N killed it."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def wait_and_record(pid: int, container_id: str, log_path: str, pipes: dict, env: bytes) -> None:
    """Copy the container's output to its log (when ``pipes``), wait for PID, then exec
    ``pynet _exited ID CODE`` with ``env`` (the environment of the command that started
    it, marshalled: unpacked only now, see ``pynet.kernel.zygote``)."""
    import marshal

    if pipes:
        copy_output(pid, log_path, pipes)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    # A fresh interpreter with the normal start-up (site, the installed pynet) records it.
    argv = [sys.executable, "-m", "pynet", "_exited", container_id, str(exit_code(status))]
    os.execve(sys.executable, argv, marshal.loads(env))


def main(argv: list[str]) -> None:
    """``PID CONTAINER_ID [CONTAINER_DIR [LOG OUT_FD,ERR_FD]]``: copy the container's
    output to its log (when given), wait for PID, then ``pynet _exited ID CODE``."""
    pid, container_id = int(argv[0]), argv[1]
    pipes = {}
    if len(argv) > 4:
        out_fd, err_fd = (int(fd) for fd in argv[4].split(","))
        pipes = {out_fd: 1, err_fd: 2}
    import marshal

    wait_and_record(pid, container_id, argv[3] if len(argv) > 3 else "", pipes, marshal.dumps(dict(os.environ)))

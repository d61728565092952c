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
    closed — or, when a process the container left behind keeps them open, until PID has
    exited and nothing more is waiting. A pidfd tells of the exit: nothing polls. Stream
    0 is input: copied to stream 1's fd (a ``-t`` container's pty master), not logged."""
    import select

    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        exited = os.pidfd_open(pid)
    except OSError:
        exited = -1  # an old kernel: wait for the pipes only
    fds = dict(pipes)
    done = False
    while 1 in fds.values() or 2 in fds.values():
        watched = [*fds, exited] if exited >= 0 and not done else list(fds)
        ready, _, _ = select.select(watched, [], [], 0 if done else None)
        if not ready:
            break  # exited, and its output is all in the log
        for fd in ready:
            if fd == exited:
                done = True
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # a pty master once the container's side is closed: EIO
                data = b""
            if not data:
                os.close(fd)
                del fds[fd]
            elif fds[fd]:
                os.write(log, bytes((fds[fd], 0, 0, 0)) + len(data).to_bytes(4, "big") + data)
            else:
                _feed(fds, data)
    for fd in fds:
        os.close(fd)
    if exited >= 0:
        os.close(exited)
    os.close(log)


def _feed(fds: dict, data: bytes) -> None:
    """Input for the pty (the API's attached stdin); dropped once nothing reads it."""
    for fd, stream in fds.items():
        if stream == 1:
            try:
                os.write(fd, data)
            except OSError:
                pass
            return


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
    """``PID CONTAINER_ID [CONTAINER_DIR [LOG FD:STREAM,...]]``: copy the container's
    output to its log (when given), wait for PID, then ``pynet _exited ID CODE``."""
    pid, container_id = int(argv[0]), argv[1]
    pipes = {}
    if len(argv) > 4:  # FD:STREAM,...: stdout and stderr pipes, or a pty master (and input)
        pipes = dict((int(fd), int(stream)) for fd, _, stream in (x.partition(":") for x in argv[4].split(",")))
    import marshal

    wait_and_record(pid, container_id, argv[3] if len(argv) > 3 else "", pipes, marshal.dumps(dict(os.environ)))

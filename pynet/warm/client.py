"""The warm server's client: what ``bin/pynet`` runs before anything else.

Built-in modules only (``_socket`` is the one extension: not ``socket``, whose ``enum``
costs ~7 ms). :func:`delegate` either ends the process with the exit status of the
command a server ran for it, or returns (nothing ran) and the command runs in-process.

Protocol (``SOCK_SEQPACKET``, :mod:`marshal` messages):

- client -> server: ``(identity, argv, environ, umask, nice, streams)`` with, as
  SCM_RIGHTS, fds 0, 1, 2, the client's network and mount namespaces, its root and its
  working directory (``streams``: encoding, errors, line buffering of sys.stdin/out/err);
- child -> client: ``{"started": pid}`` with the child's pidfd (from now on the command
  runs: never fall back), or ``{"refused": why}`` (nothing ran: run in-process);
- then ``{"exit": code}`` (the child, as it leaves) or ``{"status": waitstatus}`` (the
  server, when the child ended otherwise, e.g. killed by a signal).
"""

from __future__ import annotations

import _signal
import marshal
import os
import sys

from pynet._detach import connect, read_text, received_fds, spawn
from pynet.warm import identity as warm

TYPE_CHECKING = False  # no `typing`: built-in modules only
if TYPE_CHECKING:
    from collections.abc import Callable

#: signals a user sends the command (Ctrl-C, kill, a closed terminal): passed to the child
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
_SERVER = (
    "import sys, marshal; sys.path[:] = marshal.loads(bytes.fromhex(sys.argv[1])); "
    "from pynet.warm.server import main; main(sys.argv[2:])"
)


def delegate(args: list[str]) -> Callable[[], object] | None:
    """Have a warm server run ``pynet ARGS`` and leave with its exit status; return when
    it did not run (no server, ``PYNET_WARM=0``, another identity, a command not served).

    With no server, one is started for the next command (this one runs in-process); with
    no run directory yet to start it in, what is returned starts it once the command has
    run (it makes the directory; one that fails before, e.g. a usage error, does not)."""
    if os.environ.get("PYNET_WARM") == "0" or not warm.served(args):
        return None
    ident = warm.identity()
    sock_path, pid_path, lock_path = warm.files(warm.run_root(), ident)
    conn = connect(sock_path)
    if conn is None:
        if os.path.isdir(os.path.dirname(sock_path)):
            start_server(sock_path, lock_path)
            return None
        return lambda: start_server(sock_path, lock_path)
    try:
        _run(conn, ident, args)
    finally:
        conn.close()
    return None


def _streams() -> list[tuple[str, str, bool, bool] | None]:
    return [
        (s.encoding, s.errors, s.line_buffering, s.write_through) if s is not None else None
        for s in (sys.stdin, sys.stdout, sys.stderr)
    ]


def _umask() -> int:
    for line in read_text("/proc/self/status").splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fds() -> list[int]:
    """fds 0-2 (dups: a closed one fails here), the namespaces, root and cwd."""
    opened: list[int] = []
    try:
        for fd in (0, 1, 2):
            opened.append(os.dup(fd))
        for path in ("/proc/self/ns/net", "/proc/self/ns/mnt", "/", "."):
            opened.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        for fd in opened:
            os.close(fd)
        raise
    return opened


def _run(conn, ident: bytes, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    import _socket

    try:
        fds = _fds()
    except OSError:
        return  # a closed stdio fd, a deleted cwd: in-process, as it always ran
    pending: list[int] = []
    child: list[int] = []  # its pidfd, once it runs

    def forward(signum: int, _frame: object) -> None:
        if child:
            try:
                _signal.pidfd_send_signal(child[0], signum)
            except OSError:
                pass  # it has just left
        else:
            pending.append(signum)

    saved = {sig: _signal.signal(sig, forward) for sig in FORWARDED}
    try:
        message = marshal.dumps(
            (ident, sys.argv, dict(os.environ), _umask(), os.getpriority(os.PRIO_PROCESS, 0), _streams())
        )
        try:
            conn.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _fd_bytes(fds))])
            first, pidfd = _receive(conn)
        except (OSError, ValueError, EOFError, TypeError):
            first, pidfd = None, -1
        finally:
            for fd in fds:
                os.close(fd)
        if not first or "started" not in first:
            if pidfd >= 0:
                os.close(pidfd)
            return  # refused, or no answer: nothing ran
        child.append(pidfd)
        for signum in pending:
            forward(signum, None)
        _leave(_outcome(conn))
    finally:
        for sig, handler in saved.items():
            _signal.signal(sig, handler)
        for signum in pending if not child else ():
            _signal.raise_signal(signum)  # arrived before anything ran: as in-process


def _fd_bytes(fds: list[int]) -> bytes:
    return b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)


def _receive(conn) -> tuple[dict | None, int]:  # type: ignore[no-untyped-def]
    """One message and the fd that came with it (-1: none)."""
    import _socket

    data, ancdata, _flags, _addr = conn.recvmsg(65536, _socket.CMSG_SPACE(4))
    fds = received_fds(ancdata)
    return (marshal.loads(data) if data else None), (fds[0] if fds else -1)


def _outcome(conn) -> dict:  # type: ignore[no-untyped-def]
    """The command's end: ``{"exit": code}`` or ``{"status": waitstatus}``."""
    while True:
        try:
            message, fd = _receive(conn)
        except (OSError, ValueError, EOFError, TypeError):
            message, fd = None, -1
        if fd >= 0:
            os.close(fd)
        if message is None:  # server and child both gone without a word: killed
            return {"status": _signal.SIGKILL}
        if "exit" in message or "status" in message:
            return message


def _leave(outcome: dict) -> None:
    """End this process as the command ended: its exit code, or death by its signal."""
    if "exit" in outcome:
        os._exit(int(outcome["exit"]) & 0xFF)
    status = int(outcome["status"])
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum not in (_signal.SIGKILL, _signal.SIGSTOP):  # those have no handler to reset
            _signal.signal(signum, _signal.SIG_DFL)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def start_server(sock_path: str, lock_path: str) -> None:
    """Start a warm server in the background unless another client is starting one; never
    wait for it. It holds the start lock until it listens (:mod:`pynet.warm.server`)."""
    try:
        import fcntl

        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except (OSError, ImportError):
        return  # e.g. no runtime directory: the command failed before making it
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another client is starting one
        argv = [sys.executable, "-c", _SERVER, marshal.dumps(sys.path).hex(), "3", sock_path]
        spawn(argv, lock)  # holding only the start lock
    finally:
        os.close(lock)

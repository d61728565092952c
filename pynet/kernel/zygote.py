"""The waiter zygote: one small process per host that forks each detached container's waiter.

A waiter exec'd as its own ``python -S`` costs ~3 MB of private memory per running
container. The zygote is that interpreter started once (per ``$PYNET_RUN_DIR`` and launch
context, see :func:`identity`) with the launch and wait code already imported and its
objects frozen (``gc.freeze``); each ``pynet run -d`` (or the Engine API's start) sends it
the container's ``LaunchSpec`` over a unix socket, and it forks a waiter W for it. Forked
pages stay shared, so a waiter costs a few hundred kB.

W does what the forked supervisor does (``pynet.kernel.supervisor``): it leaves the
zygote's session, starts the container so that W is its parent, reports the pid (or the
launch error) on the connection, then waits in-process (``pynet.kernel.waiter``) and execs
``python -m pynet _exited ID CODE`` with the environment of the command that started it.

kill -9 safety: the zygote is never a container's parent and holds nothing a waiter needs
after the fork, so killing it leaves running containers and their waiters as they are;
the next ``run -d`` finds its socket dead and starts a new one. Killing a waiter is as
before (the container lives on, the next command that looks records it).

Protocol (``SOCK_SEQPACKET``, one message each, :mod:`marshal`):

- client -> W: ``{"identity", "spec", "container_id", "log_path", "container_dir", "env", "tty"}``
  plus, as SCM_RIGHTS, the client's working directory (the container starts in it);
- W -> client: ``{"waiter": pid}`` (forked: from now on, never retry), then
  ``{"pid": N, "start": T, "waiter_start": T}`` or ``{"error": text, "exit_code": N}``; or, instead of both,
  ``{"refused": why}`` when the identity is not its own (nothing was started).

Everything the container inherits from the process that forks it — namespaces, cgroup,
credentials and capabilities, umask, rlimits, nice value, CPU affinity, root directory — is
part of the zygote's *identity*: a client whose identity differs talks to another zygote
(the socket's name carries a hash of it; W compares the whole text), so a container sees
exactly what it would see when forked from the command itself.
"""

from __future__ import annotations

import marshal
import os
import select
import sys
import time

from pynet import _detach, paths
from pynet.errors import EXIT_USAGE

#: bump when the messages change: a zygote of another protocol has another socket name
PROTOCOL = 2
#: the modules the zygote runs (their versions are part of its identity)
_MODULES = (
    "pynet/__init__.py",
    "pynet/_deferred.py",
    "pynet/_detach.py",
    "pynet/errors.py",
    "pynet/kernel/zygote.py",
    "pynet/kernel/supervisor.py",
    "pynet/kernel/waiter.py",
    "pynet/kernel/process.py",
    "pynet/kernel/pids.py",
    "pynet/kernel/namespaces.py",
    "pynet/kernel/rootfs.py",
)
#: what /proc/self/status tells that a forked process inherits (the umask too: W keeps it)
_STATUS = ("Umask", *_detach.INHERITED_STATUS)
_NAMESPACES = ("net", "mnt", "pid_for_children", "user", "uts", "ipc", "cgroup")
#: the biggest request W accepts (a LaunchSpec and an environment)
MAX_MESSAGE = 160 * 1024  # below the default socket buffer (one SEQPACKET message must fit)
_ZYGOTE = "import sys; sys.path.insert(0, sys.argv[1]); from pynet.kernel.zygote import main; main(sys.argv[2:])"


class ZygoteUnavailable(Exception):
    """No zygote could take the request (nothing was started): fork the supervisor instead."""


def identity(root: str) -> bytes:
    """What a process forked by this one inherits and the code it would run, as text."""
    parts = [f"protocol {PROTOCOL}", sys.executable, root]
    parts += _detach.status_lines(_STATUS) + _detach.namespace_lines(_NAMESPACES)
    st = os.stat("/proc/self/root/")
    parts += [
        f"root {st.st_dev}:{st.st_ino}",
        _detach.read_text("/proc/self/cgroup"),
        _detach.read_text("/proc/self/limits"),
    ]
    parts += [_detach.read_text("/proc/self/oom_score_adj").strip(), str(os.getpriority(os.PRIO_PROCESS, 0))]
    for name in _MODULES:
        try:
            st = os.stat(os.path.join(root, name))
            parts.append(f"{name} {st.st_mtime_ns} {st.st_size}")
        except OSError:
            parts.append(f"{name} -")
    return "\n".join(parts).encode()


def files(run_dir: str, ident: bytes) -> tuple[str, str, str]:
    """(socket, pid file, lock file) of the zygote for ``ident`` in ``run_dir``."""
    return _detach.files(run_dir, "zygote-", ident)


# -- the client side (the pynet command) -----------------------------------------------


def request(ident: bytes, spec: dict, *, container_id: str, log_path: str, container_dir: str, env: dict) -> bytes:
    """The request message. The spec and the environment stay marshalled blobs inside it:
    W unpacks the spec only in its short-lived launcher and the environment only when it
    execs ``_exited``, so its own memory stays the zygote's (unpacked objects land on
    pages it would have to copy)."""
    blobs = (marshal.dumps(spec), marshal.dumps(env))
    return marshal.dumps((ident, container_id, log_path, container_dir, *blobs, bool(spec.get("tty"))))


def launch(message: bytes, *, sock_path: str, pid_path: str, lock_path: str, root: str) -> tuple[int, dict]:
    """Have a zygote fork a waiter that starts the container of ``message`` (:func:`request`).

    Returns (W's pid, W's report): ``{"pid", "start", "waiter_start"}`` or ``{"error",
    "exit_code"}``. Raises ZygoteUnavailable when no zygote took it (nothing was
    started).
    """
    if len(message) > MAX_MESSAGE:
        raise ZygoteUnavailable("request too large")
    for _attempt in range(2):  # a zygote that died with our request unread: start another
        conn = _detach.connect(sock_path) or _start(sock_path, pid_path, lock_path, root)
        try:
            first = _exchange(conn, message)
        except OSError:
            first = None
        if first is None:
            conn.close()
            continue
        if "refused" in first:
            conn.close()
            raise ZygoteUnavailable(str(first["refused"]))
        try:
            report = _receive(conn)
        except (OSError, ValueError, EOFError):
            report = None  # W died (kill -9): as a forked supervisor that died; never retried
        finally:
            conn.close()
        if report is None:
            report = {"error": "container supervisor died before starting the container", "exit_code": EXIT_USAGE}
        return int(first["waiter"]), report
    raise ZygoteUnavailable("the zygote did not answer")


def _socket():  # type: ignore[no-untyped-def]
    import _socket

    return _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def _exchange(conn, message: bytes) -> dict | None:  # type: ignore[no-untyped-def]
    import _socket

    try:
        cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        cwd = -1  # a deleted working directory: the container starts in /
    try:
        fds = (
            [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, cwd.to_bytes(4, sys.byteorder, signed=True))] if cwd >= 0 else []
        )
        conn.sendmsg([message], fds)
    finally:
        if cwd >= 0:
            os.close(cwd)
    return _receive(conn)


def _receive(conn) -> dict | None:  # type: ignore[no-untyped-def]
    data = conn.recv(65536)
    return marshal.loads(data) if data else None


def _start(sock_path: str, pid_path: str, lock_path: str, root: str):  # type: ignore[no-untyped-def]
    """Start the zygote (unless another command did meanwhile) and connect to it.

    Under an flock on the lock file: the listening socket is bound here and handed to the
    new process, so we can connect at once (the kernel queues us until it accepts).
    """
    import fcntl

    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _detach.connect(sock_path)
        if conn is not None:
            return conn
        for stale in (sock_path, pid_path):
            try:
                os.unlink(stale)
            except FileNotFoundError:
                pass
        listener = _socket()
        where, d = _detach.address(sock_path)
        try:
            listener.bind(where)
            os.chmod(where, 0o600)  # only our user connects (W checks the peer's uid too)
        finally:
            if d >= 0:
                os.close(d)
        listener.listen(128)
        try:
            argv = [sys.executable, "-S", "-c", _ZYGOTE, root, "3", pid_path]
            _detach.spawn(argv, listener.fileno())  # python -S running main(), holding only the listener
        finally:
            listener.close()
        conn = _detach.connect(sock_path)
        if conn is None:
            raise ZygoteUnavailable("cannot connect to the new zygote")
        return conn
    finally:
        os.close(lock)


# -- the zygote ------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """``LISTEN_FD PID_FILE``: a waiter per connection, until idle (``paths.idle_exit_after``)."""
    import _signal
    import _socket
    import gc

    # Everything a waiter runs, imported (and what it calls first warmed) before the fork,
    # so that its pages stay shared.
    from pynet.kernel import namespaces, pids, supervisor, waiter  # noqa: F401

    _warm_up(namespaces, supervisor, waiter)
    listen_fd, pid_path = int(argv[0]), argv[1]
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, listen_fd)
    ident = identity(sys.path[0])
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_IGN)  # waiters (and their `_exited`) reap themselves
    from pynet.kernel.pids import write_pid_file

    write_pid_file(pid_path)
    idle = paths.idle_exit_after()
    gc.freeze()  # a forked waiter's collections never touch (and copy) the zygote's pages
    busy = time.monotonic()
    while True:
        ready, _, _ = select.select([listen_fd], [], [], 1.0 if idle > 0 else None)
        now = time.monotonic()
        if ready:
            _serve_one(listener, ident)
            busy = now
        elif _has_children():
            busy = now
        elif now - busy >= idle:
            _leave(listener, ident, pid_path)
            return


def _has_children() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)  # children are reaped by the kernel (SIGCHLD ignored)
        return True
    except ChildProcessError:
        return False


def _serve_one(listener, ident: bytes) -> None:  # type: ignore[no-untyped-def]
    """Accept one connection and fork its waiter."""
    try:
        fd, _ = listener._accept()
    except (InterruptedError, BlockingIOError):
        return
    try:
        pid = os.fork()
    except OSError:
        os.close(fd)  # the client sees no answer and starts on its own
        return
    if pid == 0:
        try:
            listener.close()
            _waiter(fd, ident)
        finally:
            os._exit(1)
    os.close(fd)


def _leave(listener, ident: bytes, pid_path: str) -> None:  # type: ignore[no-untyped-def]
    """Idle: remove our socket and pid file under the start lock (so no client starts a
    zygote meanwhile), serve what was queued before, and return (the process ends)."""
    import fcntl

    base = pid_path[: -len(".pid")]
    lock = os.open(base + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _detach.read_text(pid_path).split()[:1] == [str(os.getpid())]:  # still ours, not a successor's
            for path in (base + ".sock", pid_path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        # A client that connected before the unlink is answered; one after it starts anew.
        while select.select([listener.fileno()], [], [], 0)[0]:
            _serve_one(listener, ident)
    finally:
        os.close(lock)


def _warm_up(namespaces, supervisor, waiter) -> None:  # type: ignore[no-untyped-def]
    """Run here what each waiter runs before it blocks, often enough for CPython to
    specialise its bytecode (each waiter would write its own copy of those pages) and for
    ctypes to look ``prctl`` up once."""
    for _ in range(12):
        namespaces.set_child_subreaper(False)
        out_r, out_w, err_r, err_w = supervisor.output_pipes()
        os.write(out_w, b"x")
        os.close(out_w)
        os.close(err_w)
        waiter.copy_output(os.getpid(), os.devnull, {out_r: 1, err_r: 2})  # both at EOF: returns


def _waiter(fd: int, ident: bytes) -> None:
    """In the forked waiter W: take the request, start the container, report, wait.

    Low-level calls only (``_signal``, ``os``): every object W touches or makes costs a
    copied page, once per running container."""
    import _signal
    import _socket

    from pynet.kernel import supervisor

    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)  # W waits for its container
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, fd)
    peer = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # pid, uid, gid
    data, ancdata, _flags, _addr = conn.recvmsg(MAX_MESSAGE, _socket.CMSG_SPACE(4))
    conn.detach()  # fd: closed by the launch once it has reported
    fds = _detach.received_fds(ancdata)
    cwd = fds[0] if fds else -1
    try:
        their_ident, container_id, log_path, container_dir, spec, env, tty = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        their_ident = b""
    if int.from_bytes(peer[4:8], sys.byteorder) != os.geteuid():
        their_ident = b""  # another user: never a launch in our name
    if their_ident != ident:
        os.write(fd, marshal.dumps({"refused": "another launch context (identity differs)"}))
        return
    os.write(fd, marshal.dumps({"waiter": os.getpid()}))  # its start time: in the report (L reads it)
    if cwd >= 0:
        os.fchdir(cwd)  # the launch starts the container there; W itself goes to / after
        os.close(cwd)
    supervisor.supervise_in_waiter(
        spec,
        lambda message: os.write(fd, marshal.dumps(message)),
        keep=(fd,),
        container_id=container_id,
        log_path=log_path,
        container_dir=container_dir,
        env=env,
        tty=tty,
    )


def stop(run_dir: str, prefix: str = "zygote-") -> list[int]:
    """End every zygote of ``run_dir`` (by pid file: pid and start time); their pids.

    Waiters and containers live on: a zygote is nobody's parent that matters. With
    ``prefix="warm-"``: the warm servers (pynet.warm; commands they run complete)."""
    import signal

    from pynet.kernel.pids import signal_pid

    stopped = []
    try:
        names = os.listdir(run_dir)
    except OSError:
        return stopped
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".pid")):
            continue
        path = os.path.join(run_dir, name)
        try:
            pid, start = (int(x) for x in _detach.read_text(path).split()[:2])
        except ValueError:
            pid, start = 0, 0
        if pid and signal_pid(pid, start, signal.SIGKILL):
            stopped.append(pid)
        for leftover in (path, path[: -len(".pid")] + ".sock"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
    return stopped

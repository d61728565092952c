"""The warm server: a pynet with the mutating network commands imported, forking one child
per command (docs/design.md, "Warm server").

Started in the background by a client that found none (:func:`pynet.warm.client.start_server`),
holding the start lock until it listens, so that only one starts. It leaves the client's
network namespace (it must not keep a test's namespace alive), imports what
``network create|rm|connect|disconnect|prune`` run, freezes its objects (``gc.freeze``:
a child's collections copy no page), and listens on ``$PYNET_RUN_DIR/warm-<key>.sock``.

Per request it checks the peer (same uid: SO_PEERCRED), the identity (the whole text) and
that no loaded module of pynet or its dependencies changed on disk since it started (mtime
and size: it never runs code older than what is installed; a changed one makes it refuse
and leave). Then it
forks; the child adopts the client (:func:`_adopt`) and runs the same entry as an
in-process command (:func:`pynet.cli.main.run`). The server holds no state: a command
runs under the store's lock in the child exactly as it would in the client.

It leaves after ``paths.idle_exit_after()`` seconds without a request or a running child,
removing its socket and pid file under the start lock; connections queued meanwhile are
refused (their clients run the command in-process).
"""

from __future__ import annotations

import _signal
import _socket
import gc
import marshal
import os
import select
import sys
import time

from pynet import _detach, paths
from pynet.warm import identity as warm

#: what the served commands import (measured: `network create`, a duplicate, a bad
#: subnet, `rm` of a used/missing network, `connect`, `disconnect`, `prune`); one missing
#: here is imported by the child (slower, same result)
PRELOAD = (
    "pynet.cli.main",
    "pynet.cli.fastpath",
    "pynet.cli.commands_spec",
    "pynet.cli.network_actions",
    "pynet.cli.formatting",
    "pynet.cli.app",
    "pynet.cli.groups",
    "pynet.cli.network",
    "pynet.wiring",
    "pynet.cnm.admin",
    "pynet.cnm.containers",
    "pynet.cnm.controller",
    "pynet.cnm.endpoints",
    "pynet.cnm.etcfiles",
    "pynet.cnm.events",
    "pynet.cnm.exits",
    "pynet.cnm.lifecycle",
    "pynet.cnm.links",
    "pynet.cnm.listing",
    "pynet.cnm.networks",
    "pynet.cnm.processes",
    "pynet.cnm.repo",
    "pynet.cnm.rollback",
    "pynet.cnm.sandboxes",
    "pynet.cnm.shared_sandbox",
    "pynet.daemon.client",
    "pynet.drivers.bridge",
    "pynet.drivers.host",
    "pynet.drivers.ipam.local",
    "pynet.firewall.hooks",
    "pynet.firewall.policy",
    "pynet.kernel.namespaces",
    "pynet.kernel.netlink",
    "pynet.kernel.nft",
    "pynet.kernel.pids",
    "pynet.kernel.procnet",
    "pynet.kernel.sandbox",
    "pynet.kernel.undo",
    "pynet.state.events",
    "pynet.state.owners",
    "pynet.state.store",
    # the standard library's share that none of the above imports at once (help, errors,
    # a container's files)
    "shutil",
    "difflib",
    "textwrap",
    "click._textwrap",
)
#: the largest request (argv and environment)
MAX_REQUEST = 200 * 1024
#: fds a request carries: stdin, stdout, stderr, netns, mntns, root, cwd
_FDS = 7
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000


class Refused(Exception):
    """The request is not ours to run (nothing ran): the client runs it in-process."""


def main(argv: list[str]) -> None:
    """``LOCK_FD SOCKET``: serve until idle (or until pynet's code changes)."""
    lock, sock_path = int(argv[0]), argv[1]
    _leave_client_namespace()
    for sig in (_signal.SIGINT, _signal.SIGHUP, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    preload()
    server = Server(warm.identity(), sock_path)
    gc.freeze()  # a child's collections never touch (and copy) the server's pages
    try:
        server.listen()
    finally:
        os.close(lock)  # the start lock: from now on clients find us
    server.serve()


def _leave_client_namespace() -> None:
    """Into PID 1's network namespace, or else a new empty one of our own: a server must
    not keep a client's alive (a test's namespace is deleted while the server lives on).
    Its children enter their client's; the server itself talks to no network."""
    from pynet.kernel import namespaces

    try:
        fd = os.open("/proc/1/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        fd = -1  # e.g. PID 1 is another user's or ptrace-protected
    try:
        if fd >= 0:
            namespaces.setns(fd, CLONE_NEWNET)
            return
    except OSError:
        pass
    finally:
        if fd >= 0:
            os.close(fd)
    namespaces.unshare(CLONE_NEWNET)


def preload() -> None:
    """Import what the served commands run (:data:`PRELOAD`)."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)


def module_versions() -> dict[str, tuple[int, int]]:
    """(mtime, size) of the file of every loaded module outside the standard library:
    pynet's and its dependencies' (click, pyroute2...), ~100 files (~0.1 ms to check)."""
    stdlib = os.path.dirname(os.__file__) + os.sep
    versions = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and not path.startswith(stdlib) and os.path.isabs(path):
            try:
                st = os.stat(path)
            except OSError:
                continue
            versions[path] = (st.st_mtime_ns, st.st_size)
    return versions


def stale(versions: dict[str, tuple[int, int]]) -> bool:
    """True when a module file changed (or went) since :func:`module_versions`."""
    for path, version in versions.items():
        try:
            st = os.stat(path)
        except OSError:
            return True
        if (st.st_mtime_ns, st.st_size) != version:
            return True
    return False


class Server:
    """The listening socket, the spare child waiting on it, the children running commands.

    A *spare* child is forked ahead of each request and waits on the socket itself, so a
    request costs no fork and no hand-over: the spare checks it, tells the server it took
    it (passing the connection over a socketpair, so the server can report a death by a
    signal), and becomes the command; the server forks the next spare. A spare dies with
    the server (PR_SET_PDEATHSIG) until it takes a request; from then on it completes its
    command whatever happens to the server.
    """

    def __init__(self, ident: bytes, sock_path: str) -> None:
        self.ident = ident
        self.sock_path = sock_path
        self.base = sock_path[: -len(".sock")]
        self.versions = module_versions()
        self.listener = None  # type: ignore[var-annotated]
        self.socket_inode = (0, 0)
        self.control, self.control_child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        self.children: dict[int, list] = {}  # pidfd -> [pid, its client's connection or None]
        self.pidfds: dict[int, int] = {}  # pid -> pidfd
        self.spare = 0
        self.leaving = False
        self.spare_left = False  # leaving: the spare took our "leave" and left

    def listen(self) -> None:
        """Bind the socket (a stale one of a dead server is replaced) and write the pid file."""
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        where, d = _detach.address(self.sock_path)
        try:
            listener.bind(where)
            os.chmod(where, 0o600)  # only our user connects (the peer's uid is checked too)
        finally:
            if d >= 0:
                os.close(d)
        listener.listen(128)
        st = os.stat(self.sock_path)
        self.socket_inode = (st.st_dev, st.st_ino)  # a successor may bind the same path
        self.listener = listener
        from pynet.kernel.pids import write_pid_file

        write_pid_file(self.base + ".pid")

    def serve(self) -> None:
        """The loop: keep a spare; report deaths; leave when idle or stale, once every
        command has ended."""
        idle = paths.idle_exit_after()
        busy = time.monotonic()
        control = self.control.fileno()
        while True:
            if not self.spare and not self.spare_left:
                self._fork_spare()
            if self.leaving and not self.children:
                return
            running = len(self.children) - (1 if self.spare else 0)
            ready, _, _ = select.select([control, *self.children], [], [], 1.0 if idle > 0 else None)
            now = time.monotonic()
            if control in ready:
                busy = now
                self._read_control()  # first: a "took" comes before its child's death
            for fd in ready:
                if fd != control:
                    self._reap(fd)
            if running:
                busy = now
            elif idle > 0 and now - busy >= idle and not self.leaving:
                self._leave()

    def _fork_spare(self) -> None:
        try:
            pid = os.fork()
        except OSError:
            time.sleep(0.1)  # out of processes: clients run in-process meanwhile
            return
        if pid == 0:
            try:
                self._as_spare()
            finally:
                os._exit(0)
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = [pid, None]
        self.pidfds[pid] = pidfd
        self.spare = pid

    def _read_control(self) -> None:
        """Every queued ``(kind, pid)`` from the children: ``took`` (with the client's
        connection) or ``stale``."""
        while True:
            try:
                data, ancdata, _f, _a = self.control.recvmsg(256, _socket.CMSG_SPACE(4), _socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            kind, pid = marshal.loads(data)
            fds = _detach.received_fds(ancdata)
            pidfd = self.pidfds.get(pid)
            if kind == "took" and fds and pidfd is not None:
                self.children[pidfd][1] = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, fds[0])
                if pid == self.spare:
                    self.spare = 0  # a command now: the loop forks the next spare
            else:
                for fd in fds:
                    os.close(fd)
            if kind == "stale" and not self.leaving:
                self._leave()

    def _reap(self, pidfd: int) -> None:
        """A child ended: its wait status to its client (who may have heard its exit code)."""
        pid, conn = self.children.pop(pidfd)
        del self.pidfds[pid]
        os.close(pidfd)
        try:
            _pid, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = _signal.SIGKILL
        if pid == self.spare:
            self.spare = 0  # killed, or left with the server: another is forked unless leaving
            self.spare_left = self.leaving
        if conn is not None:
            conn.setblocking(False)
            _send(conn, {"status": status})
            conn.close()

    def _leave(self) -> None:
        """Remove the socket and pid file (when still ours) under the start lock, so that
        no client starts a server meanwhile; then tell the spare to leave once nothing is
        queued (connections made before are served, or refused when stale)."""
        import fcntl

        lock = os.open(self.base + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                st = os.stat(self.sock_path)
                if (st.st_dev, st.st_ino) == self.socket_inode:
                    os.unlink(self.sock_path)
            except FileNotFoundError:
                pass
            if _detach.read_text(self.base + ".pid").split()[:1] == [str(os.getpid())]:  # not a successor's
                os.unlink(self.base + ".pid")
        finally:
            os.close(lock)
        self.leaving = True
        _send(self.control, ("leave", os.getpid()))  # read by the spare (this one or the next)

    # -- in the spare child ------------------------------------------------------------

    def _as_spare(self) -> None:
        """Wait for a request; check it; refuse it (and wait again) or run it."""
        server = os.getppid()
        _die_with_parent(_signal.SIGKILL)
        if os.getppid() != server:
            return  # the server died before the line above
        keep = {self.listener.fileno(), self.control_child.fileno()}
        for fd in (self.control.fileno(), *self.children, *(c.fileno() for _p, c in self.children.values() if c)):
            if fd not in keep:
                os.close(fd)
        listen_fd, control = self.listener.fileno(), self.control_child.fileno()
        self.listener.setblocking(False)  # another spare may take the connection first
        while True:
            ready, _, _ = select.select([listen_fd, control], [], [])
            if listen_fd not in ready:
                return  # "leave", with nothing queued (a client's connection comes first)
            try:
                fd, _ = self.listener._accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, fd)
            fds: list[int] = []
            try:
                conn.settimeout(5)  # a client sends at once; never wait for a stuck one
                peer = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # pid, uid, gid
                data, ancdata, _flags, _addr = conn.recvmsg(MAX_REQUEST, _socket.CMSG_SPACE(4 * _FDS))
                conn.settimeout(None)
                fds = _detach.received_fds(ancdata)
                request = self._check(peer, data, fds)
            except (Refused, OSError, ValueError, EOFError, TypeError) as exc:
                _send(conn, {"refused": str(exc) or type(exc).__name__})
                for fd in fds:
                    os.close(fd)
                conn.close()
                if str(exc) == STALE:
                    self._tell("stale")
                continue
            _die_with_parent(0)  # from now on the command completes, server or not
            self._tell("took", conn.fileno())
            self.listener.close()
            self.control_child.close()
            child(conn, request, fds)

    def _tell(self, kind: str, fd: int = -1) -> None:
        _send(self.control_child, (kind, os.getpid()), (fd,) if fd >= 0 else ())

    def _check(self, peer: bytes, data: bytes, fds: list[int]) -> tuple:
        if int.from_bytes(peer[4:8], sys.byteorder) != os.geteuid():
            raise Refused("another user")
        if len(fds) != _FDS:
            raise Refused("missing file descriptors")
        request = marshal.loads(data)
        if request[0] != self.ident:
            raise Refused("another identity")
        if stale(self.versions):
            raise Refused(STALE)
        return request


def _die_with_parent(signum: int) -> None:
    """prctl(PR_SET_PDEATHSIG): ``signum`` when the server dies (0: no longer)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signum, 0, 0, 0)


#: why a request is refused when pynet's code changed (the server then leaves)
STALE = "pynet's code changed since the server started"


def _send(conn, message: object, fds: tuple[int, ...] = ()) -> bool:  # type: ignore[no-untyped-def]
    try:
        anc = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds))]
        conn.sendmsg([marshal.dumps(message)], anc if fds else [])
        return True
    except OSError:
        return False


# -- the child ---------------------------------------------------------------------------


def child(conn, request: tuple, fds: list[int]) -> None:  # type: ignore[no-untyped-def]
    """In the forked child: adopt the client, tell it we run (with our pidfd), run the
    command as ``bin/pynet`` would in-process, report the exit code, leave."""
    _ident, argv, env, umask, nice, streams = request
    try:
        _adopt(fds, argv, env, umask, nice, streams)
    except (OSError, ValueError, TypeError) as exc:
        _send(conn, {"refused": f"cannot adopt the client: {exc}"})
        os._exit(0)
    pidfd = os.pidfd_open(os.getpid())
    if not _send(conn, {"started": os.getpid()}, (pidfd,)):
        os._exit(1)  # the client is gone before anything ran: as if it never started
    os.close(pidfd)
    from pynet.cli.main import run

    code = run(sys.argv[1:]) & 0xFF
    _send(conn, {"exit": code})
    os._exit(code)


def _adopt(fds: list[int], argv: list[str], env: dict, umask: int, nice: int, streams: list) -> None:
    """Become the client as far as the command can tell: namespaces, root, cwd, stdio,
    umask, nice value, environment, argv, signal dispositions."""
    from pynet.kernel import namespaces

    stdio, (netns, mntns, root, cwd) = fds[:3], fds[3:]
    for fd, kind, own in ((netns, CLONE_NEWNET, "net"), (mntns, CLONE_NEWNS, "mnt")):
        st, mine = os.fstat(fd), os.stat(f"/proc/self/ns/{own}")
        if (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino):
            namespaces.setns(fd, kind)
    os.fchdir(root)
    os.chroot(".")
    os.fchdir(cwd)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    for fd in fds:
        os.close(fd)
    os.umask(umask)
    if os.getpriority(os.PRIO_PROCESS, 0) != nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.argv[:] = argv
    _rebuild_stdio(streams)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # as a fresh interpreter's
    _signal.signal(_signal.SIGHUP, _signal.SIG_DFL)


def _rebuild_stdio(streams: list) -> None:
    """sys.stdin/stdout/stderr on fds 0-2 with the client's encoding, errors and
    buffering (what its interpreter chose at start for those files)."""
    import io

    made = []
    for fd, (name, spec) in enumerate(zip(("stdin", "stdout", "stderr"), streams)):
        if spec is None:
            made.append(None)
            continue
        encoding, errors, line_buffering, write_through = spec
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        raw.name = f"<{name}>"  # type: ignore[misc]
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        made.append(
            io.TextIOWrapper(
                buffered,
                encoding=encoding,
                errors=errors,
                newline="\n",
                line_buffering=line_buffering,
                write_through=write_through,
            )
        )
    sys.stdin, sys.stdout, sys.stderr = made
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]

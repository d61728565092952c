"""Start a process inside a Sandbox: own mount + UTS namespaces, the sandbox's netns.

``start(spec)`` forks; the child enters the namespaces, bind-mounts the container's
``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf`` over the host's (in its
private mount namespace only), sets the hostname and execs the command. Exec failures
come back to the parent through a close-on-exec pipe, so the caller can answer with
Docker's exit codes (126: cannot invoke, 127: not found) instead of guessing.

No pyroute2 here: this module is cheap to import (the supervisor uses it).
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass, field

from pynet.errors import EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND, EXIT_USAGE, LaunchFailed
from pynet.kernel import namespaces as ns
from pynet.kernel import rootfs


@dataclass
class LaunchSpec:
    """Everything needed to start (or exec into) a container process."""

    argv: list[str]
    env: dict[str, str]
    netns_path: str = ""  # "" = stay in the caller's netns (--network host)
    new_uts: bool = True
    hostname: str = ""
    binds: dict[str, str] = field(default_factory=dict)  # container path -> host file
    workdir: str = ""
    rootfs: str = ""  # chroot into this directory ("" = the host's root)
    layer_dir: str = ""  # rootfs is an image: a writable overlay over it lives here
    join_pid: int = 0  # exec: enter this process's mnt/uts/net namespaces
    stdin: int | None = None  # fds to dup onto 0/1/2 (None = inherit)
    stdout: int | None = None
    stderr: int | None = None
    new_session: bool = False
    tty: bool = False  # -t: whoever starts it gives it a console socket
    # A new pseudo-terminal for 0/1/2 and as the controlling terminal (-t), made inside the
    # container's mount namespace; its master goes back over this unix socket (SCM_RIGHTS).
    console_socket: int = -1
    tty_size: tuple[int, int] = (0, 0)  # (rows, columns) to start with; (0, 0) = the kernel's


def start(spec: LaunchSpec) -> int:
    """Fork and exec ``spec`` in its sandbox; returns the pid or raises LaunchFailed."""
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(rfd)
        _child(spec, wfd)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        report = pipe.read()
    if not report:
        return pid
    os.waitpid(pid, 0)
    stage_len = struct.unpack("i", report[:4])[0]
    code = struct.unpack("i", report[4:8])[0]
    stage = report[8 : 8 + stage_len].decode(errors="replace")
    raise _launch_error(spec, stage, code)


def _launch_error(spec: LaunchSpec, stage: str, code: int) -> LaunchFailed:
    cmd = spec.argv[0] if spec.argv else ""
    if stage == "exec":
        if code == errno.ENOENT:
            return LaunchFailed(f'exec: "{cmd}": executable file not found in $PATH', EXIT_NOT_FOUND)
        return LaunchFailed(f'exec: "{cmd}": {os.strerror(code)}', EXIT_CANNOT_INVOKE)
    if stage == "chdir":
        return LaunchFailed(
            f'chdir to cwd ("{spec.workdir}") set in config.json failed: {os.strerror(code)}', EXIT_CANNOT_INVOKE
        )
    return LaunchFailed(f"{stage}: {os.strerror(code)}", EXIT_USAGE)


def _child(spec: LaunchSpec, report_fd: int) -> None:
    stage = "setup"
    try:
        stage = "stdio"
        _dup_stdio(spec)
        # Imported before the chroot: the container's root has no Python library.
        modules = _console_modules() if spec.console_socket >= 0 else None
        if spec.new_session:
            os.setsid()
        stage = "namespaces"
        if spec.join_pid:
            _join(spec.join_pid)
        else:
            _enter(spec)
        if modules is not None:
            stage = "console"
            _console(spec, *modules)
        stage = "chdir"
        if spec.workdir:
            os.chdir(spec.workdir)
        stage = "exec"
        path = _which(spec.argv[0], spec.env.get("PATH", os.defpath))
        _default_signals()
        os.execve(path, spec.argv, spec.env)
    except OSError as exc:
        _report(report_fd, stage, exc.errno or errno.EIO)
    except BaseException:  # noqa: BLE001 - the child must never return into pynet
        _report(report_fd, stage, errno.EIO)
    os._exit(EXIT_CANNOT_INVOKE)


def _console_modules() -> tuple:
    import fcntl
    import socket
    import termios

    return fcntl, socket, termios


def _console(spec: LaunchSpec, fcntl, socket, termios) -> None:  # type: ignore[no-untyped-def]
    """Docker's ``-t``: a pty from the container's own ``/dev/ptmx`` (its devpts, so the
    process sees ``/dev/pts/0``) as stdin, stdout, stderr and controlling terminal (a new
    session); the master is sent to whoever relays it, as runc's console socket does."""
    master, slave = os.openpty()
    if spec.tty_size != (0, 0):
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *spec.tty_size, 0, 0))
    if os.getsid(0) != os.getpid():
        os.setsid()
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    with socket.socket(fileno=spec.console_socket) as sock:
        socket.send_fds(sock, [b"m"], [master])
    os.close(master)


def _default_signals() -> None:
    """Ignored signals survive exec: Python ignores SIGPIPE and SIGXFSZ, the supervisor
    SIGINT and SIGHUP, a shell's background job SIGINT and SIGQUIT. The container's command
    starts with every signal at its default (as under Docker), so `kill -s INT`,
    `stop -s HUP` and broken pipes act on it."""
    import signal

    for sig in signal.valid_signals():
        try:
            if signal.getsignal(sig) is not signal.SIG_DFL:
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, TypeError):
            pass  # SIGKILL, SIGSTOP, the C library's real-time signals: not ours to set
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _report(fd: int, stage: str, code: int) -> None:
    raw = stage.encode()
    try:
        os.write(fd, struct.pack("i", len(raw)) + struct.pack("i", code) + raw)
    finally:
        os._exit(EXIT_CANNOT_INVOKE)


def _dup_stdio(spec: LaunchSpec) -> None:
    for src, dst in ((spec.stdin, 0), (spec.stdout, 1), (spec.stderr, 2)):
        if src is not None and src != dst:
            os.dup2(src, dst)


def _enter(spec: LaunchSpec) -> None:
    # Opened before the mount namespace changes: the file lives in the directory that
    # the new mount namespace lets go of below.
    netns_fd = os.open(spec.netns_path, os.O_RDONLY | os.O_CLOEXEC) if spec.netns_path else -1
    flags = ns.CLONE_NEWNS | (ns.CLONE_NEWUTS if spec.new_uts else 0)
    ns.unshare(flags)
    # Our mounts must not propagate back to the host's mount namespace.
    ns.mount("none", "/", None, ns.MS_REC | ns.MS_PRIVATE)
    if netns_fd >= 0:
        try:
            ns.setns(netns_fd, ns.CLONE_NEWNET)
        finally:
            os.close(netns_fd)
        _drop_sandbox_mounts(os.path.dirname(spec.netns_path))
        if not spec.rootfs:
            _remount_sys()
    root = spec.rootfs.rstrip("/")
    if root:
        root = rootfs.prepare(root, spec.layer_dir, new_netns=netns_fd >= 0)
        for target, source in spec.binds.items():
            rootfs.bind_file(source, root, target)
    else:
        for target, source in spec.binds.items():
            _bind_file(source, target)
    if spec.new_uts and spec.hostname:
        ns.sethostname(spec.hostname)
    if root:
        os.chroot(root)
        os.chdir("/")


def _drop_sandbox_mounts(directory: str) -> None:
    """Let go of the copies of every sandbox's netns mount (this copy of the host's table).

    Otherwise each container's mount namespace holds a copy of every other sandbox's
    bind mount: O(n²) mounts in the kernel with n containers, and a slower teardown.
    """
    try:
        ns.umount(directory, ns.MNT_DETACH)
    except OSError:
        pass  # not a mount point here: nothing was copied


def _remount_sys() -> None:
    """A sysfs that shows the sandbox's own interfaces (best effort)."""
    try:
        ns.mount("sysfs", "/sys", "sysfs", 0)
    except OSError:
        pass


def _bind_file(source: str, target: str) -> None:
    """Cover a host file in this private mount namespace (never create one on the host)."""
    try:
        if not os.path.exists(target):
            # A dangling /etc/resolv.conf symlink (systemd-resolved): nothing to cover.
            return
        ns.mount(source, target, None, ns.MS_BIND)
    except OSError:
        pass  # read-only or unusual /etc: the container still runs, as with Docker's rootless


def _join(pid: int) -> None:
    # mnt must be entered after net/uts: our /proc stays the host's until then.
    fds = {kind: os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC) for kind in ("net", "uts", "mnt")}
    root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_CLOEXEC)
    ns.setns(fds["net"], ns.CLONE_NEWNET)
    ns.setns(fds["uts"], ns.CLONE_NEWUTS)
    ns.setns(fds["mnt"], ns.CLONE_NEWNS)
    os.fchdir(root)
    os.chroot(".")
    os.chdir("/")


def _which(cmd: str, path: str) -> str:
    if "/" in cmd:
        return cmd
    for d in path.split(os.pathsep):
        cand = os.path.join(d or ".", cmd)
        if os.path.isfile(cand):
            if os.access(cand, os.X_OK):
                return cand
            raise PermissionError(errno.EACCES, "permission denied")
    raise FileNotFoundError(errno.ENOENT, "not found")


def wait_status(status: int) -> int:
    """A waitpid status as a shell-style exit code (128+N for signals)."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)

"""What pynet's detached per-host processes share: the waiter zygote (``kernel/zygote.py``)
and the warm server (``warm/``) are each started by a command, in the background, and
outlive it; a command finds one by its socket in the run directory, named by a hash of
the command's identity (what a forked process inherits), and connects to it.

Built-in modules only (``os``, ``sys``): the warm server's client runs this before
anything else (``pynet/warm/client.py``), and the layer rules let both the kernel and the
warm server use it because it imports nothing of pynet.
"""

from __future__ import annotations

import os
import sys


def spawn(argv: list[str], keep: int) -> None:
    """Exec ``argv`` detached: not our child (a double fork: it is nobody's zombie but
    init's), in its own session, in ``/``, stdio on /dev/null, holding only ``keep``, as
    its fd 3 (not our state lock or a container's owner lock: not its to hold)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else the child's copy of a buffer could be written twice
    middle = os.fork()
    if middle == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.dup2(keep, 3)
                os.set_inheritable(3, True)  # a no-op dup2 (it was fd 3) keeps close-on-exec
                os.closerange(4, 1 << 20)
                os.chdir("/")
                os.execv(argv[0], argv)
        finally:
            os._exit(0)
    os.waitpid(middle, 0)


# -- telling them apart: what a forked process inherits, their files ---------------------

#: what /proc/self/status tells of the credentials and limits a forked process inherits
INHERITED_STATUS = (
    "Uid",
    "Gid",
    "Groups",
    "NoNewPrivs",
    "Seccomp",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "Cpus_allowed_list",
    "Mems_allowed_list",
)


def read_text(path: str) -> str:
    """A small file's text ("" when unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def status_lines(keys: tuple[str, ...]) -> list[str]:
    """The lines of /proc/self/status whose key is one of ``keys``, in the file's order."""
    return [line for line in read_text("/proc/self/status").splitlines() if line.split(":", 1)[0] in keys]


def namespace_lines(kinds: tuple[str, ...]) -> list[str]:
    """``KIND DEV:INODE`` of this process's namespace of each kind (``KIND -``: none)."""
    lines = []
    for kind in kinds:
        try:
            st = os.stat(f"/proc/self/ns/{kind}")
            lines.append(f"{kind} {st.st_dev}:{st.st_ino}")
        except OSError:
            lines.append(f"{kind} -")
    return lines


def files(run_dir: str, prefix: str, ident: bytes) -> tuple[str, str, str]:
    """(socket, pid file, lock file) in ``run_dir`` of the process of ``prefix`` (``warm-``,
    ``zygote-``) for ``ident``."""
    key = format(int.from_bytes(ident, "big") % ((1 << 61) - 1), "x")  # a name, not a proof
    base = os.path.join(run_dir, f"{prefix}{key}")
    return base + ".sock", base + ".pid", base + ".lock"


# -- their sockets -----------------------------------------------------------------------


def address(path: str) -> tuple[str, int]:
    """A unix socket's address: ``path``, or an alias through an open directory when it is
    longer than sun_path allows (107 bytes); the fd (-1: none) must stay open while it is used."""
    if len(path.encode()) < 100:
        return path, -1
    d = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{d}/{os.path.basename(path)}", d


def connect(path: str):  # type: ignore[no-untyped-def]
    """A ``SOCK_SEQPACKET`` socket connected to ``path``, or None (nobody listens there)."""
    import _socket  # the one extension module: not `socket`, whose `enum` costs ~7 ms

    try:
        where, d = address(path)
    except OSError:
        return None
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        s.connect(where)
        return s
    except OSError:
        s.close()
        return None
    finally:
        if d >= 0:
            os.close(d)


def received_fds(ancdata: list) -> list[int]:
    """The file descriptors a ``recvmsg`` got as SCM_RIGHTS (its ancillary data)."""
    import _socket

    fds: list[int] = []
    for level, kind, raw in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(raw[i : i + 4], sys.byteorder, signed=True) for i in range(0, len(raw) - 3, 4)]
    return fds

"""Linux namespace syscalls through ctypes (Python 3.11 has no os.setns/os.unshare).

This module does NOT import pyroute2; it is cheap to import. Used by the sandbox
process launcher (``pynet.kernel.process``) and by the helper daemon, which opens a
DNS socket inside each sandbox's network namespace and switches back.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MNT_DETACH = 2

# Not ctypes.util.find_library: it runs `ldconfig -p` (a process per pynet command).
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int, nstype: int = 0) -> None:
    """Move the calling thread into the namespace behind ``fd``."""
    _check(_libc.setns(fd, nstype), "setns")


def unshare(flags: int) -> None:
    """Give the calling process new namespaces of the kinds in ``flags``."""
    _check(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2)."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {source} on {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    """umount2(2); lazily by default."""
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def set_child_subreaper(on: bool) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants become our children, not init's."""
    _check(_libc.prctl(36, int(on), 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def sethostname(name: str) -> None:
    """sethostname(2) in the current UTS namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


@contextlib.contextmanager
def entered_netns(path: str) -> Iterator[None]:
    """Run the block inside the network namespace at ``path``, then switch back.

    Sockets created inside stay bound to that namespace after switching back. Only the
    calling thread moves: keep other threads away from this.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(target, CLONE_NEWNET)
        try:
            yield
        finally:
            setns(home, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)


def same_mount_ns_as_init() -> bool:
    """False when this process runs in a private mount namespace (e.g. ``ip netns exec``).

    Bind mounts made there (pynet's sandbox netns files) vanish when it exits.
    """
    mine = os.stat("/proc/self/ns/mnt").st_ino
    for pid in (1, os.getppid()):
        try:
            if os.stat(f"/proc/{pid}/ns/mnt").st_ino != mine:
                return False
        except OSError:
            continue  # not ours to read (another pid namespace): ask the next one
    return True

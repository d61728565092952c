"""A container's root filesystem, made inside its private mount namespace.

Called by the forked child (``pynet.kernel.process``) after it unshared its mount
namespace, so nothing here is visible on the host and everything goes when the
container's last process exits:

- an image (``layer_dir`` given): an overlay of the image's read-only directory and the
  container's own ``upper``/``work`` directories, so containers of one image never see
  each other's writes (a bind of the image itself when the filesystem refuses overlay);
- ``/proc`` (a new procfs), ``/sys`` (sysfs, read-only: the sandbox's interfaces),
  ``/dev`` (a tmpfs with null, zero, full, random, urandom, tty bound from the host, a
  private devpts for ``pts``/``ptmx``, ``shm``, and the ``fd``/``std*`` links);
- mount points for pynet's ``/etc/hosts``, ``/etc/hostname``, ``/etc/resolv.conf``,
  created when the image lacks them (a symlink there is replaced by a file, as Docker does).
"""

from __future__ import annotations

import contextlib
import os

from pynet.kernel import namespaces as ns

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
    "ptmx": "pts/ptmx",
    "core": "/proc/kcore",
}


def prepare(root: str, layer_dir: str, *, new_netns: bool) -> str:
    """Mount what a container needs under ``root``; returns the directory to chroot into."""
    if layer_dir:
        root = _overlay(root, layer_dir)
    _mount_proc(root)
    _mount_sys(root, new_netns)
    _mount_dev(root)
    return root


def bind_file(source: str, root: str, target: str) -> None:
    """Bind the host file ``source`` onto ``root + target``, creating the mount point."""
    path = root + target
    parent = os.path.dirname(path)
    with contextlib.suppress(FileExistsError):
        os.makedirs(parent, 0o755)
    if not _inside(root, parent):
        return  # /etc is a link out of the root filesystem: nothing of ours goes there
    if os.path.islink(path):
        os.unlink(path)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    ns.mount(source, path, None, ns.MS_BIND)


def _inside(root: str, path: str) -> bool:
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


def _overlay(lower: str, layer_dir: str) -> str:
    upper, work, merged = (os.path.join(layer_dir, d) for d in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        os.makedirs(d, 0o755, exist_ok=True)
    try:
        ns.mount("overlay", merged, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    except OSError:
        # A state dir on a filesystem overlay cannot use as upper (overlay, some FUSE):
        # the container writes into the image itself (docs/engine-api.md, "Images").
        ns.mount(lower, merged, None, ns.MS_BIND | ns.MS_REC)
    return merged


def _mount_point(root: str, name: str, mode: int = 0o755) -> str:
    path = os.path.join(root, name)
    if os.path.islink(path):
        os.unlink(path)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
    return path


def _mount_proc(root: str) -> None:
    ns.mount("proc", _mount_point(root, "proc", 0o555), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _mount_sys(root: str, new_netns: bool) -> None:
    target = _mount_point(root, "sys", 0o555)
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | ns.MS_RDONLY
    try:
        ns.mount("sysfs", target, "sysfs", flags)
    except OSError:
        if new_netns:
            return  # best effort, as for a host-root container
        ns.mount("/sys", target, None, ns.MS_BIND | ns.MS_REC)


def _mount_dev(root: str) -> None:
    dev = _mount_point(root, "dev")
    ns.mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=65536k")
    for name in _DEVICES:
        node = os.path.join(dev, name)
        os.close(os.open(node, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
        try:
            ns.mount("/dev/" + name, node, None, ns.MS_BIND)
        except OSError:
            os.unlink(node)  # e.g. no /dev/tty on the host: leave it out, as without a terminal
    pts = os.path.join(dev, "pts")
    os.mkdir(pts, 0o755)
    ns.mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    shm = os.path.join(dev, "shm")
    os.mkdir(shm, 0o1777)
    ns.mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")
    for name, target in _LINKS.items():
        os.symlink(target, os.path.join(dev, name))

"""Imported images on disk: one directory per image under ``<state>/images``.

Layout::

    images/<id>/image.json    the Image record (pynet.records.image), with schema_version
    images/<id>/rootfs/       the root filesystem containers of this image start from
    images/.tmp-<random>/     an import under way (or killed: swept by the next import)

A new image's files are staged in a ``.tmp-`` directory *without* the state lock (a big
tarball takes seconds), then renamed into place under the lock: a killed import leaves
only a ``.tmp-`` directory, never a half-registered image. Removal renames first and
deletes after, for the same reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import time
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.errors import InvalidArgument, StateCorrupt
from pynet.state.store import _check_version, atomic_write, read_json

_ID = re.compile(r"^[0-9a-f]{64}$")
_RECORD = "image.json"
_TMP_MAX_AGE = 3600.0  # seconds: a staged import older than this was killed


class ImageFiles:
    """The ``images`` directory of one state dir (cheap to build, opens nothing)."""

    def __init__(self, state_root: Path) -> None:
        self.root = Path(state_root) / "images"

    # -- reads -------------------------------------------------------------------------
    def ids(self) -> list[str]:
        """IDs of every registered image (a directory listing)."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _ID.match(n) and (self.root / n / _RECORD).is_file())

    def get(self, image_id: str) -> dict[str, Any] | None:
        """The record of one image, or None when there is none."""
        if not _ID.match(image_id):
            return None  # never a path outside images/
        path = self.root / image_id / _RECORD
        try:
            record = read_json(path)
        except FileNotFoundError:
            return None
        if not isinstance(record, dict):
            raise StateCorrupt(f"state file {path} is corrupt: expected a JSON object")
        return _check_version(path, record)

    def rootfs(self, image_id: str) -> Path:
        """The root filesystem directory of an image."""
        return self.root / image_id / "rootfs"

    # -- writes (callers hold the state lock, except for stage_*) ----------------------
    def put(self, image_id: str, record: dict[str, Any]) -> None:
        """Write an image's record atomically."""
        atomic_write(self.root / image_id / _RECORD, record)

    def new_stage(self) -> Path:
        """A fresh staging directory whose ``rootfs`` the caller fills."""
        self.root.mkdir(parents=True, exist_ok=True)
        stage = self.root / f".tmp-{os.urandom(6).hex()}"
        (stage / "rootfs").mkdir(parents=True)
        return stage

    def register(self, stage: Path, image_id: str, record: dict[str, Any]) -> None:
        """Move a staged root filesystem into place as image ``image_id`` with its record."""
        atomic_write(stage / _RECORD, record)
        os.rename(stage, self.root / image_id)

    def delete(self, image_id: str) -> None:
        """Remove an image: first out of sight (one rename), then its files."""
        doomed = self.root / f".tmp-{os.urandom(6).hex()}"
        os.rename(self.root / image_id, doomed)
        discard(doomed)

    def sweep(self) -> None:
        """Remove staging directories left by killed imports or removals."""
        cutoff = time.time() - _TMP_MAX_AGE
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        discard(Path(entry.path))


def discard(path: Path) -> None:
    """Delete a staged or removed image directory (missing is fine)."""
    shutil.rmtree(path, ignore_errors=True)


# -- filling a stage --------------------------------------------------------------------
def copy_tree(source: str, dest: Path) -> None:
    """Copy a root filesystem directory with owners, modes, links and device nodes."""
    import subprocess

    done = subprocess.run(
        ["cp", "-a", "--", os.path.join(source, "."), str(dest)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        line = (done.stderr.strip().splitlines() or ["cp failed"])[-1]
        raise InvalidArgument(f"importing {source}: {line}")


def extract_tar(source: str, dest: Path) -> None:
    """Extract a (possibly compressed) tarball, or ``-`` for stdin, into ``dest``.

    Members that would land outside ``dest`` (absolute or ``..`` paths, paths through a
    symlink) are refused by tarfile's ``tar`` filter; modes (setuid included) and
    numeric owners are kept, device nodes skipped (a container gets its own ``/dev``).
    """
    import sys
    import tarfile

    def keep(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        if member.ischr() or member.isblk():
            return None
        if member.islnk():  # the ``tar`` filter lets a hard link name any host file (/etc/shadow)
            root = os.path.realpath(path)
            target = os.path.realpath(os.path.join(root, member.linkname))
            if os.path.isabs(member.linkname) or os.path.commonpath([root, target]) != root:
                raise tarfile.LinkOutsideDestinationError(member, target)
        checked = tarfile.tar_filter(member, path)
        return checked.replace(mode=member.mode, deep=False) if checked.mode is not None else checked

    try:
        if source == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:
                raise InvalidArgument("importing -: standard input is not a byte stream")
            archive = tarfile.open(fileobj=stdin, mode="r|*")
        else:
            archive = tarfile.open(source, mode="r:*")
        with archive:
            archive.extractall(dest, numeric_owner=True, filter=keep)
    except tarfile.ReadError as exc:
        # tarfile lists every compression it tried, one line each: one line is enough
        reason = str(exc) if "\n" not in str(exc) else "not a tar archive (plain, gzip, bzip2 or xz)"
        raise InvalidArgument(f"importing {source}: {reason}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidArgument(f"importing {source}: {exc}") from None


def digest_and_size(root: Path) -> tuple[str, int]:
    """sha256 over the tree (paths, modes, owners, link targets, contents) and the bytes of its files."""
    h = hashlib.sha256()
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            h.update(f"{rel}\0{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                size += st.st_size
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest(), size

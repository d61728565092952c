"""The local JSON state store: one file per object, atomic writes, one lock, a journal.

Files live under ``pynet.paths.state_dir()``: ``pynet.lock`` (flock of mutating commands),
``journal.json`` (only while a mutation is under way), ``<kind>/<id>.json`` and
``<kind>/_names.json``. Layout, crash safety and recovery: design.md, "State and crash
safety".
"""

from __future__ import annotations

import _thread
import contextlib
import errno
import fcntl
import os
import time

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

from pynet import jsonio
from pynet.errors import StateCorrupt, StateTooNew, Timeout
from pynet.faults import fault

SCHEMA_VERSION = 1
KINDS = ("networks", "endpoints", "containers", "ipam")
NAMED_KINDS = ("networks", "containers")
_INDEX = "_names.json"
#: the suffix of a packed derived file (``Transaction.put_packed``): its key names it whole
PACKED = ".packed"
_PACKED_MAGIC = b"pynet-packed 1 "
_JOURNAL = "journal.json"
#: what one component of a state key (``kind/id`` or ``members/<net>/<ep>``) is made of:
#: no "/", and no leading "." (so never ".."). str methods, not `re`: design.md, "Start-up"
_KEY_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_KEY_REST = _KEY_FIRST | frozenset(".-")
_TMP_MAX_AGE = 60.0  # seconds: an atomic write takes milliseconds
STAMP_SETTLE = 1.0  # seconds: see Store.change_stamp


def _is_key_part(part: object) -> bool:
    return isinstance(part, str) and part[:1] in _KEY_FIRST and all(c in _KEY_REST for c in part)


# Migrations from version N to N+1, applied on read: {N: fn(record) -> record}.
MIGRATIONS: dict[int, Any] = {}


def _make_dirs(directory: str) -> None:
    """``directory`` and its parents exist (one mkdir in the usual case)."""
    try:
        os.mkdir(directory)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)


def atomic_write(path: str | Path, data: Any, *, sync: bool = True) -> None:
    """Write JSON (``bytes``: as they are) to ``path`` atomically: temp file in the same
    dir, fsync, replace, fsync dir."""
    parent = os.path.dirname(path) or "."
    _make_dirs(parent)
    tmp = os.path.join(parent, f".tmp-{os.urandom(6).hex()}.json")  # tempfile costs an import per command
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            # json.dumps's C encoder (not json.dump, nor json itself: design.md, "Start-up"),
            # which keeps `run` flat as membership files grow (1000 endpoints: 0.8 ms, not 3.3).
            f.write(data if isinstance(data, bytes) else jsonio.dumps_sorted(data))
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = ""
        if sync:
            dirfd = os.open(parent, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


# What to do about a journal pynet refuses (the second half of its one line).
JOURNAL_ADVICE = "; delete it to make pynet forget the interrupted command"


def read_json(path: Path | str) -> Any:
    """Read a JSON file; a file that is not valid JSON is a StateCorrupt naming it."""
    try:
        with open(path) as f:
            return jsonio.loads(f.read())
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise StateCorrupt(f"state file {path} is corrupt: {exc}") from None


def _is_index(data: Any) -> bool:
    # JSON's keys are always strings; the values' types are checked in C (1000 names: 10 µs)
    return isinstance(data, dict) and set(map(type, data.values())) <= {str}


def pack(value: Any) -> bytes:
    """A packed derived file's bytes: a header line with the CRC-32 of ``value`` in
    ``marshal``'s format, which loads and dumps several times faster than JSON."""
    import binascii
    import marshal

    blob = marshal.dumps(value)
    return b"%s%08x\n%s" % (_PACKED_MAGIC, binascii.crc32(blob), blob)


def unpack(data: bytes) -> Any:
    """What :func:`pack` packed, or None when ``data`` is not such a file or is damaged
    (or another Python's ``marshal`` cannot load it): derived data is rebuilt then."""
    import binascii
    import marshal

    header, _, blob = data.partition(b"\n")
    if not header.startswith(_PACKED_MAGIC) or header[len(_PACKED_MAGIC) :] != b"%08x" % binascii.crc32(blob):
        return None
    try:
        return marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None


def _check_version(path: Path | str, record: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise StateCorrupt(f"state file {path} is corrupt: expected a JSON object")
    version = record.pop("schema_version", None)
    if not isinstance(version, int):
        raise StateCorrupt(f"state file {path} is corrupt: no schema_version")
    if version > SCHEMA_VERSION:
        raise StateTooNew(
            f"state file {path} was written by a newer pynet (schema {version}, "
            f"this pynet knows up to {SCHEMA_VERSION}); upgrade pynet"
        )
    if version < SCHEMA_VERSION and version not in MIGRATIONS:
        raise StateCorrupt(f"state file {path} is corrupt: unknown schema_version {version}")
    while version < SCHEMA_VERSION:
        record = MIGRATIONS[version](record)
        version += 1
    return record


class Store:
    """Files of one state directory. Cheap to build; holds no open files but the lock."""

    def __init__(self, root: Path | str) -> None:
        #: the directory as a str: reads build file names with os.path, so that read-only
        #: commands never import pathlib (with fnmatch, ntpath: design.md, "Start-up")
        self.dir = os.fspath(root)
        self._root: Path | None = None
        self._lock_fd: int | None = None
        self._index_cache: dict[str, dict[str, str]] = {}

    @property
    def root(self) -> Path:
        """The directory (a Path, made on first use)."""
        if self._root is None:
            from pathlib import Path

            self._root = Path(self.dir)
        return self._root

    # -- locking ---------------------------------------------------------------------
    def locked(self, *, exclusive: bool = True, timeout: float = 120.0) -> contextlib.AbstractContextManager[None]:
        """Hold the store lock for the block. Re-entrant within one process."""
        # Made a context manager here, not by a decorator: read-only commands never lock,
        # and `contextlib` (with collections, functools) loads only on use (design.md, "Start-up").
        return contextlib.contextmanager(self._locked)(exclusive=exclusive, timeout=timeout)

    def _locked(self, *, exclusive: bool, timeout: float) -> Iterator[None]:
        if self._lock_fd is not None:
            yield
            return
        _make_dirs(self.dir)
        fd = os.open(self.file("pynet.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() > deadline:
                        raise Timeout(f"timed out waiting for the pynet state lock in {self.dir}")
                    time.sleep(0.005)
            self._lock_fd = fd
            self._index_cache.clear()
            if exclusive:
                self._sweep_temp_files(deep=self.has_journal())
            yield
        finally:
            self._lock_fd = None
            os.close(fd)  # closing the fd releases the flock

    def _sweep_temp_files(self, *, deep: bool) -> None:
        """Remove ``.tmp-*`` files left by writes that were killed (under the exclusive lock).

        Writes to the state dir's top (journal, cluster files) happen in every mutation, and
        readers write ``meta/``'s row caches (``state/rowcache.py``) without the lock, so
        those two are swept each time (small listings); the object directories only when a
        journal shows that a commit was interrupted. Files younger than a minute are left
        alone: the helper daemon writes cluster files without the state lock.
        """
        dirs = [self.dir, self.file("meta")]
        if deep:
            dirs += [self.file(kind) for kind in KINDS]
            with contextlib.suppress(OSError):
                dirs += [e.path for e in os.scandir(self.file("members")) if e.is_dir()]
        cutoff = time.time() - _TMP_MAX_AGE
        for directory in dirs:
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".tmp-"):
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(entry.path)

    # -- reads -----------------------------------------------------------------------
    def path(self, kind: str, obj_id: str) -> str:
        """A record's file (``members/<net>/<ep>`` too: ``obj_id`` may hold a "/"); a packed
        derived file's key names it whole."""
        return os.path.join(self.dir, kind, obj_id if obj_id.endswith(PACKED) else f"{obj_id}.json")

    def file(self, *parts: str) -> str:
        """A file's name under the directory, as a str (``file("networks", "x.json")``)."""
        return os.path.join(self.dir, *parts)

    def exists(self, kind: str, obj_id: str) -> bool:
        """Whether the record's file exists (it is not read)."""
        return os.path.exists(self.file(kind, f"{obj_id}.json"))

    def has_journal(self) -> bool:
        """Whether a mutation is under way (or was killed): its journal exists."""
        return os.path.exists(self.file(_JOURNAL))

    def get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        """The record, or None when there is no such file."""
        path = self.file(kind, f"{obj_id}.json")
        try:
            record = read_json(path)
        except FileNotFoundError:
            return None
        return _check_version(path, record)

    def get_packed(self, kind: str, name: str) -> Any:
        """The value of a packed derived file (``Transaction.put_packed``), or None when
        it is missing or cannot be used (its reader rebuilds it)."""
        try:
            with open(self.path(kind, name), "rb") as f:
                return unpack(f.read())
        except FileNotFoundError:
            return None

    def get_lenient(self, kind: str, obj_id: str) -> dict[str, Any]:
        """What can be read of a record, ``{}`` when nothing can (salvaging a damaged one)."""
        try:
            record = read_json(self.file(kind, f"{obj_id}.json"))
        except (OSError, StateCorrupt):
            return {}
        return record if isinstance(record, dict) else {}

    def ids(self, kind: str) -> list[str]:
        """IDs of every object of a kind (a directory listing; files are not read)."""
        try:
            names = os.listdir(self.file(kind))
        except FileNotFoundError:
            return []
        return [n[:-5] for n in names if n.endswith(".json") and not n.startswith(("_", "."))]

    def change_stamp(self, *kinds: str) -> tuple[tuple[int, int], ...] | None:
        """A value that changes whenever a record of these kinds is written or removed:
        the (inode, mtime) of their directories, which every atomic write and delete
        touches. None when one changed in the last :data:`STAMP_SETTLE` seconds: the
        kernel's coarse clock can give two changes in a row the same mtime (a cache keyed
        by a stamp read then could miss the second), so the caller reads afresh."""
        out = []
        settled = time.time() - STAMP_SETTLE
        for path in (self.file(kind) for kind in kinds):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                out.append((0, 0))
                continue
            if st.st_mtime > settled:
                return None
            out.append((st.st_ino, st.st_mtime_ns))
        return tuple(out)

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Every record of a kind (skipping files removed while listing)."""
        out = []
        for obj_id in self.ids(kind):
            record = self.get(kind, obj_id)
            if record is not None:
                out.append(record)
        return out

    def names(self, kind: str) -> dict[str, str]:
        """The name -> id index of a named kind.

        The index is derived data: when it is missing or unreadable it is rebuilt from
        the records (and rewritten when this process holds the exclusive lock), so a bad
        index never blocks a command.
        """
        if kind not in self._index_cache:
            path = self.file(kind, _INDEX)
            try:
                index = read_json(path)
            except (FileNotFoundError, StateCorrupt):
                index = None
            if not _is_index(index):
                index = self._rebuild_index(kind)
                if self._lock_fd is not None and os.path.isdir(self.file(kind)):
                    atomic_write(path, index)
            self._index_cache[kind] = index
        return self._index_cache[kind]

    def _rebuild_index(self, kind: str) -> dict[str, str]:
        """name -> id from the records; a record that cannot be read is skipped (it is
        still found by its ID, and its own read names the file)."""
        index: dict[str, str] = {}
        for obj_id in self.ids(kind):
            try:
                record = read_json(self.file(kind, f"{obj_id}.json"))
            except (OSError, StateCorrupt):
                continue
            name = record.get("name") if isinstance(record, dict) else None
            if isinstance(name, str) and name:
                index[name] = obj_id
        return index

    # -- writes ----------------------------------------------------------------------
    def begin(self) -> Transaction:
        """Start a mutation; the caller must hold the exclusive lock."""
        return Transaction(self)

    def journal_path(self) -> str:
        return self.file(_JOURNAL)

    def recover(self) -> list[dict[str, Any]]:
        """Finish or roll back a mutation that was killed.

        Replays a complete commit and returns []; otherwise returns the kernel undo
        records (newest last) for the caller to remove, and clears the journal once
        the caller calls ``clear_journal``.
        """
        path = self.journal_path()
        try:
            journal = read_json(path)
        except FileNotFoundError:
            return []
        except StateCorrupt:
            # A journal torn by a crash while being written: nothing was committed.
            self.clear_journal()
            return []
        if not isinstance(journal, dict):
            raise StateCorrupt(f"state file {path} is corrupt: expected a JSON object{JOURNAL_ADVICE}")
        if journal.get("commit") is not None:
            # A journal is data, not a list of paths to follow: check every key before
            # writing anything, so a bad one changes nothing (inside or outside the dir).
            self._check_commit(path, journal["commit"])
            self._apply(journal["commit"])
            self.clear_journal()
            return []
        undo = journal.get("undo", [])
        if not isinstance(undo, list) or not all(isinstance(r, dict) for r in undo):
            raise StateCorrupt(f"state file {path} is corrupt: undo is not a list of objects{JOURNAL_ADVICE}")
        return list(undo)

    def pending_redo(self) -> dict[str, Any] | None:
        """The teardown a killed or failed command logged but did not commit (see
        ``Transaction.record_redo``); call before ``recover``."""
        try:
            journal = read_json(self.journal_path())
        except (FileNotFoundError, StateCorrupt):
            return None
        if not isinstance(journal, dict) or journal.get("commit") is not None:
            return None
        return journal.get("redo")

    def clear_journal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal_path())

    def _commit_paths(self, commit: dict[str, Any]) -> list[str]:
        keys = [*commit.get("puts", {}), *commit.get("deletes", []), *commit.get("derived", [])]
        return [self.path(*key.split("/", 1)) for key in keys] + [
            self.file(kind, _INDEX) for kind in commit.get("indexes", {})
        ]

    def _snapshot(self, commit: dict[str, Any]) -> dict[str, bytes | None]:
        """The bytes of every file ``commit`` writes or deletes (None: absent)."""
        out: dict[str, bytes | None] = {}
        for path in self._commit_paths(commit):
            try:
                with open(path, "rb") as f:
                    out[path] = f.read()
            except FileNotFoundError:
                out[path] = None
        return out

    def _restore(self, before: dict[str, bytes | None]) -> None:
        """Files back to a ``_snapshot``."""
        for path, data in before.items():
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            _make_dirs(os.path.dirname(path))
            tmp = os.path.join(os.path.dirname(path), f".tmp-{os.urandom(6).hex()}.json")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        self._index_cache.clear()

    @staticmethod
    def _check_commit(path: str, commit: Any) -> None:
        """StateCorrupt naming the journal unless every key of ``commit`` stays in the state dir."""

        def bad(what: str) -> StateCorrupt:
            return StateCorrupt(f"state file {path} is corrupt: {what}{JOURNAL_ADVICE}")

        if not isinstance(commit, dict):
            raise bad("commit is not a JSON object")
        puts, deletes, indexes = commit.get("puts", {}), commit.get("deletes", []), commit.get("indexes", {})
        derived = commit.get("derived", [])
        if not isinstance(puts, dict) or not all(isinstance(r, dict) for r in puts.values()):
            raise bad("puts is not an object of records")
        if not isinstance(deletes, list) or not isinstance(indexes, dict) or not isinstance(derived, list):
            raise bad("deletes, indexes or derived has the wrong type")
        for key in [*puts, *deletes, *derived]:
            parts = key.split("/") if isinstance(key, str) else []
            if len(parts) < 2 or not all(_is_key_part(p) for p in parts):
                raise bad(f"invalid key {key!r}")
        for kind, index in indexes.items():
            if not _is_key_part(kind) or not isinstance(index, dict):
                raise bad(f"invalid index {kind!r}")

    def _apply(self, commit: dict[str, Any], derived: dict[str, Any] | None = None, *, sync: bool = True) -> None:
        """Write ``commit``'s files; ``derived`` holds the content of its derived files
        (indexes), which the journal names but does not hold: replaying a journal (no
        ``derived``) removes them instead, and the next reader rebuilds them from the
        records — so a journal stays a few records long however many objects exist.
        ``sync=False``: no fsync (``Transaction.commit``)."""
        # The journal already holds the commit durably, so the files are written without
        # an fsync each and made durable together at the end (before the journal goes):
        # one filesystem commit instead of two per file (design.md, "State and crash safety").
        written: list[str] = []
        for key, record in commit.get("puts", {}).items():
            kind, obj_id = key.split("/", 1)
            written.append(self.path(kind, obj_id))
            atomic_write(written[-1], {"schema_version": SCHEMA_VERSION, **record}, sync=False)
            fault("state_apply")  # an I/O error with some files written
        unlinked: list[str] = []  # their directories are fsynced
        for key in commit.get("deletes", []):
            kind, obj_id = key.split("/", 1)
            path = self.path(kind, obj_id)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                unlinked.append(os.path.dirname(path))
            if "/" in obj_id:  # members/<net>/<ep>: the last one takes its directory along
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.dirname(path))
            fault("state_apply")
        for kind, index in commit.get("indexes", {}).items():  # a journal of an older pynet
            written.append(self.file(kind, _INDEX))
            atomic_write(written[-1], index, sync=False)
        for key in commit.get("derived", []):
            path = self.path(*key.split("/", 1))
            if derived is None or key not in derived:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            data = derived[key]
            if data is None:  # dropped (``Transaction.drop_derived``)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            # Not fsynced: only a power cut can lose it, and the restore after the reboot
            # that follows rebuilds every derived file (``forget_derived``).
            atomic_write(path, data, sync=False)
        self._index_cache.clear()
        if sync:
            _fsync_all(written, unlinked)

    def forget_derived(self) -> None:
        """Remove every derived file (name indexes, ``meta/``): their readers rebuild them
        from the records. Run under the lock when the runtime is restored after a reboot,
        since a commit does not fsync them (``_apply``)."""
        paths = [self.file(kind, _INDEX) for kind in NAMED_KINDS]
        with contextlib.suppress(FileNotFoundError):
            paths += [e.path for e in os.scandir(self.file("meta")) if e.name.endswith((".json", ".rows", PACKED))]
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._index_cache.clear()


def _fsync_all(paths: list[str], dirs: list[str]) -> None:
    """fsync each file and each directory that holds one (its rename) or ``dirs`` (an
    unlink), once each and all at once.

    One thread per fsync (``_thread``: nothing to import): files whose data and renames
    reach the disk together share the filesystem's journal commits (ext4's jbd2 commits
    once for concurrent fsyncs), where one fsync after the other pays a commit each —
    a `run`'s 11 fsyncs took 24 ms one by one on a busy disk, 5 ms together.
    """
    fds: list[int] = []
    running: list[_thread.LockType] = []
    errors: list[OSError] = []
    try:
        for path in [*paths, *dict.fromkeys([*(os.path.dirname(p) for p in paths), *dirs])]:
            try:
                fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            except FileNotFoundError:  # members/<net>/ went with its last member
                continue
        for fd in fds[1:]:
            lock = _thread.allocate_lock()
            lock.acquire()
            _thread.start_new_thread(_fsync_then_release, (fd, lock, errors))
            running.append(lock)
        if fds:
            os.fsync(fds[0])
    finally:
        for lock in running:
            lock.acquire()  # released by its thread once its fsync returned
        for fd in fds:
            os.close(fd)
    if errors:
        raise errors[0]


def _fsync_then_release(fd: int, lock: _thread.LockType, errors: list[OSError]) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        errors.append(exc)
    finally:
        lock.release()


class Transaction:
    """Pending file changes plus the kernel undo log of one mutating command."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.puts: dict[str, dict[str, Any]] = {}
        self.deletes: list[str] = []
        self.undo: list[dict[str, Any]] = []
        self.redo: dict[str, Any] | None = None
        #: key -> content of files derived from the records (indexes): written
        #: with the commit but kept out of its journal (see ``Store._apply``); content
        #: None removes the file, bytes are written as they are (``put_packed``)
        self.derived: dict[str, Any] = {}
        self.durable = False  # the journal holds this commit: a failure rolls forward

    def put(self, kind: str, obj_id: str, record: dict[str, Any]) -> None:
        key = f"{kind}/{obj_id}"
        self.puts[key] = record
        if key in self.deletes:
            self.deletes.remove(key)

    def delete(self, kind: str, obj_id: str) -> None:
        key = f"{kind}/{obj_id}"
        self.puts.pop(key, None)
        if key not in self.deletes:
            self.deletes.append(key)

    def put_packed(self, kind: str, name: str, value: Any) -> None:
        """Write ``value`` (what ``marshal`` takes) as a derived file read back by
        ``Store.get_packed``; ``name`` ends with :data:`PACKED`. It is data derived from
        other records (an index every reader can rebuild from them), written with this
        commit but kept out of its journal: a replayed commit removes the file instead."""
        assert name.endswith(PACKED), name
        self.derived[f"{kind}/{name}"] = pack(value)

    def drop_derived(self, kind: str, name: str) -> None:
        """Remove a derived file with this commit (one an older pynet wrote)."""
        self.derived[f"{kind}/{name}"] = None

    def pending(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        """The record as this transaction will leave it (None when deleted/absent)."""
        key = f"{kind}/{obj_id}"
        if key in self.deletes:
            return None
        if key in self.puts:
            return self.puts[key]
        return self.store.get(kind, obj_id)

    def record_undo(self, resource: dict[str, Any]) -> None:
        """Log a kernel resource BEFORE creating it, so a kill -9 can be rolled back."""
        self.undo.append(resource)
        self.save_undo()

    def save_undo(self) -> None:
        """Rewrite the journal's undo log (after a logged resource was updated in place)."""
        atomic_write(self.store.journal_path(), self._journal(None), sync=False)

    def record_redo(self, operation: dict[str, Any]) -> None:
        """Log a teardown BEFORE its first kernel deletion: a deleted object cannot be put
        back, so a failure or kill -9 from here on rolls forward (the next command finishes
        ``operation``; see ``Store.pending_redo``) instead of back."""
        self.redo = operation
        # No fsync, as record_undo: a kill -9 keeps the page cache (a power cut is a reboot).
        atomic_write(self.store.journal_path(), self._journal(None), sync=False)

    def _journal(self, commit: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"undo": self.undo, "commit": commit}
        if self.redo is not None:
            out["redo"] = self.redo
        return out

    def commit(self, *, sync: bool = True) -> None:
        """Write every change: journal first (so it can be replayed), then the files.

        All or nothing for the caller: when this raises, the files are as they were
        (``durable`` stays False) and the caller rolls its kernel work back. Only a kill
        -9 after the journal holds the commit leaves it to the next command to replay.
        ``sync=False`` skips the fsyncs: as safe against a kill -9 (the page cache stays),
        for changes a power cut makes moot anyway (a process recorded as started).
        """
        if not self.puts and not self.deletes and not self.derived:
            self.store.clear_journal()
            return
        derived = dict(self.derived)
        for kind, index in self._indexes().items():
            derived[f"{kind}/{_INDEX[:-5]}"] = index
        commit = {"puts": self.puts, "deletes": self.deletes, "derived": sorted(derived)}
        fault("state_commit")  # an I/O error before the commit is durable
        before = self.store._snapshot(commit)
        # When one record file changes (a network create or rm), its rename or unlink is
        # atomic by itself and fsynced in _apply: the journal then only has to outlive a
        # kill -9, which keeps the page cache, so it is not fsynced (derived files are
        # rebuilt after a power cut anyway).
        records = len(self.puts) + sum(os.path.exists(self.store.path(*k.split("/", 1))) for k in self.deletes)
        atomic_write(self.store.journal_path(), self._journal(commit), sync=sync and records > 1)
        try:
            self.store._apply(commit, derived, sync=sync)
        except BaseException:
            self._unapply(before)
            raise
        self.store.clear_journal()

    def _unapply(self, before: dict[str, bytes | None]) -> None:
        """Put the files back after a failed apply; the journal loses its commit again.

        Should that fail as well, the journal keeps the commit for the next command to
        replay (``durable``): the caller must then not undo its kernel work.
        """
        try:
            self.store._restore(before)
            atomic_write(self.store.journal_path(), self._journal(None))
        except BaseException:
            self.durable = True
            raise

    def abandon(self) -> None:
        """Drop pending changes and the journal (after the kernel undo ran); a logged
        teardown stays in the journal for the next command to finish."""
        self.puts.clear()
        self.deletes.clear()
        self.derived.clear()
        self.undo.clear()
        if self.redo is None:
            self.store.clear_journal()
        else:
            atomic_write(self.store.journal_path(), self._journal(None))

    def _indexes(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for kind in NAMED_KINDS:
            current = self.store.names(kind)
            # A put that keeps its name (status, pid...) leaves the index as it is: no rewrite.
            keys = [
                k
                for k in [*self.puts, *self.deletes]
                if k.startswith(kind + "/")
                and not (
                    k in self.puts
                    and self.puts[k].get("name")
                    and current.get(self.puts[k]["name"]) == k.split("/", 1)[1]
                )
            ]
            if not keys:
                continue
            index = dict(current)
            for key in keys:
                obj_id = key.split("/", 1)[1]
                for name, known in list(index.items()):
                    if known == obj_id:
                        del index[name]
                record = self.puts.get(key)
                if record is not None and record.get("name"):
                    index[record["name"]] = obj_id
            out[kind] = index
        return out

"""Columns derived from the records of one kind, kept in one file, trusted per record by a stat.

``network ls`` at 1000 networks read and type-checked 1000 record files (~40 ms of its
55). The few fields a listing needs are kept in ``meta/<name>.rows`` with, for each
record, the (inode, ctime, size) its file had when it was read, plus the directory's
(inode, ctime). A reader stats each record (one syscall, no read), lists the directory
only when its stamp changed (a file came or went), and reads only the records whose stat
differs: those go through the caller's own read, so a corrupt or newer record is reported
exactly as without the cache (design.md, "State and crash safety").

Why the check is sound:
- ctime, not mtime: every write, rename or ``utime`` of a file sets it to the current time
  and nothing sets it back (``cp -p``, ``touch -d`` only set mtime); with the inode and
  size, an edit in place and a replacement both show.
- A stamp less than ``STAMP_SETTLE`` old is not trusted (kept as None: that record is
  read every time until it settles): the kernel's coarse clock can give a file a second
  change within the same tick, hence the same ctime. The same holds for the directory.
- The stat is taken before the record is read: a change between the two makes the stored
  stamp stale, which costs a read next time, never a wrong row.

The file is derived data outside the journal and never trusted as a whole, so a reader
writes it without the lock (``os.replace`` keeps it whole); a stale, missing or damaged
one costs reads only. It is a cache, not state: one JSON header line (layout, directory
stamp, CRC-32 of the rest) and the columns in ``marshal``'s format, which loads 1000 rows
in half the time JSON takes (a file another Python cannot load is rebuilt).

The columns are the file's last bytes (one ``marshal`` blob with its own CRC, both named
in the header), loaded and checked only when a caller uses them: a listing whose rows are all unchanged can be answered from a text its caller
rendered from these rows before (:meth:`RowCache.output`, kept by
:meth:`RowCache.keep_output`), valid for exactly the stored rows in their order; any
changed, added or removed row drops them.
"""

from __future__ import annotations

import binascii
import marshal
import os
import time

from pynet import jsonio
from pynet.state.store import STAMP_SETTLE

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pynet.state.store import Store

#: the layout of the file; another value is ignored (rebuilt), as a missing file is
VERSION = 2
#: at most this many rendered texts are kept (the caller's keys: default table, ``-q``...)
MAX_OUTPUTS = 4
_SETTLE_NS = int(STAMP_SETTLE * 1e9)


class RowCache:
    """The rows of every record of ``kind`` (``<state>/<kind>/<id>.json``) as columns,
    through ``meta/<name>.rows``. After :meth:`rows`: ``ids`` and ``columns`` (one list
    per field, in the same order), ``fresh`` (rows read from their records this time:
    the caller re-sorts) and ``dirty`` (:meth:`save` would let the next reader trust more)."""

    def __init__(self, store: Store, kind: str, name: str, layout: str) -> None:
        self.store = store
        self.kind = kind
        self.path = store.file("meta", f"{name}.rows")
        #: the caller's name for what its rows hold: a file of other rows is not used
        self.layout = layout
        self.ids: list[str] = []
        self._columns: list[list[Any]] | None = []
        self.fresh = 0
        self.dirty = False
        self._dir: list[int] | None = None  # the directory's stamp now (None: too recent)
        self._stamps: list[list[int | None]] = [[], [], []]  # inode, ctime, size of each row
        #: the stored columns (``marshal`` data, its CRC-32), loaded when used
        self._blob: tuple[memoryview | bytes, int] | None = None
        self._outputs: dict[str, str] = {}  # rendered texts of exactly these rows

    def _load(self) -> tuple[list[int] | None, tuple[Any, ...] | None]:
        """The file's directory stamp and ``(ids, inodes, ctimes, sizes, [outputs
        blob])``; None when it is missing, damaged (its CRC differs), of another layout or
        not loadable: derived data is rebuilt, never an error. The columns (the file's
        last ``cols`` bytes, their own CRC) are kept in ``_blob``, checked when loaded."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
            end = data.index(b"\n")
            header = jsonio.loads(data[:end].decode())
            body = memoryview(data)[end + 1 :]
            cols = header.get("cols") if isinstance(header, dict) else None
            if (
                type(cols) is not int
                or not 0 < cols < len(body)
                or header.get("version") != VERSION
                or header.get("layout") != self.layout
                or header.get("crc") != binascii.crc32(body[:-cols])
                or type(header.get("cols_crc")) is not int
            ):
                return None, None
            loaded = marshal.loads(body[:-cols])
        except (OSError, ValueError, EOFError, TypeError):  # missing, unreadable, another Python's
            return None, None
        if not self._fits(loaded):
            return None, None
        self._blob = (body[-cols:], header["cols_crc"])
        dir_stamp = header.get("dir")
        return (dir_stamp if _is_stamp(dir_stamp) else None), loaded

    @staticmethod
    def _fits(loaded: object) -> bool:
        """The outer shape of what ``save`` writes (the CRC vouches for the rest; the
        columns' shape is checked when they are loaded)."""
        if type(loaded) is not tuple or len(loaded) != 5:
            return False
        blobs = loaded[4]
        if type(blobs) is not list or len(blobs) != 1 or type(blobs[0]) is not bytes:
            return False
        count = len(loaded[0]) if type(loaded[0]) is list else -1
        return all(type(x) is list and len(x) == count for x in loaded[:4])

    def _stored_columns(self, count: int) -> list[list[Any]] | None:
        """The file's columns of its ``count`` rows; None when damaged or not fitting."""
        if self._blob is None:
            return None
        blob, crc = self._blob
        try:
            columns = marshal.loads(blob) if binascii.crc32(blob) == crc else None
        except (ValueError, EOFError, TypeError):
            return None
        if type(columns) is not list or len(columns) != len(self.layout.split(",")):
            return None
        return columns if all(type(c) is list and len(c) == count for c in columns) else None

    @property
    def columns(self) -> list[list[Any]]:
        """One list per field, in the order of ``ids`` (loaded on first use)."""
        if self._columns is None:
            columns = self._stored_columns(len(self.ids))
            if columns is None:  # damaged, or a hand-made file: read every record
                raise StaleRows(self.path)
            self._columns, self._blob = columns, None
        return self._columns

    def output(self, key: str) -> str | None:
        """A text the caller kept under ``key`` for exactly these rows, or None."""
        return self._outputs.get(key)

    def keep_output(self, key: str, text: str) -> None:
        """Keep ``text`` (rendered from these rows) for the next reader whose rows are all
        unchanged, and save."""
        self._outputs.pop(key, None)
        while len(self._outputs) >= MAX_OUTPUTS:
            del self._outputs[next(iter(self._outputs))]
        self._outputs[key] = text
        self.save()

    def rows(self, read: Callable[[str], list[Any] | None], *, use_file: bool = True) -> None:
        """Fill ``ids`` and ``columns`` with every record now in the directory: a stored
        row while its record's file is unchanged, else ``read(id)`` (its values, one per
        column; None: the record is gone; an exception propagates). Stored rows keep
        their stored order; fresh ones follow. ``use_file=False``: as without the file."""
        dir_stamp, loaded = self._load() if use_file else (None, None)
        old_ids, inodes, ctimes, sizes, blobs = loaded or ([], [], [], [], None)
        settled = time.time_ns() - _SETTLE_NS
        try:
            dfd = os.open(self.store.file(self.kind), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:  # no record of this kind was ever written
            return
        try:
            st = os.fstat(dfd)
            now = [st.st_ino, st.st_ctime_ns]
            self._dir = now if st.st_ctime_ns < settled else None
            if dir_stamp is not None and dir_stamp == now:
                ids = old_ids
            else:
                ids = self._listing(dfd, old_ids)
                self.dirty = self._dir is not None  # the next reader can skip the listing
            index = None if ids is old_ids else {obj_id: i for i, obj_id in enumerate(old_ids)}
            changed = _changed(dfd, ids, index, (inodes, ctimes, sizes))
        finally:
            os.close(dfd)
        if blobs is not None and not changed and len(ids) == len(old_ids):  # every stored row, in its order
            self.ids, self._columns = old_ids, None
            self._stamps = [inodes, ctimes, sizes]
            try:
                outputs = marshal.loads(blobs[0])
            except (ValueError, EOFError, TypeError):
                outputs = None
            if type(outputs) is dict and all(type(k) is str and type(v) is str for k, v in outputs.items()):
                self._outputs = outputs
            return
        columns = self._stored_columns(len(old_ids)) if blobs is not None else []
        self._blob = None
        if columns is None:  # damaged columns, or a hand-made file: as without the file
            self.rows(read, use_file=False)
            return
        picks = self._picks(ids, index, changed, settled, read)
        self._gather(picks, old_ids, columns, (inodes, ctimes, sizes))

    @staticmethod
    def _listing(dfd: int, old_ids: list[str]) -> list[str]:
        """The directory's record IDs: those the file knows in its order (``old_ids``
        itself when they are all there), then new ones."""
        here = set(os.listdir(dfd))
        old_names = [obj_id + ".json" for obj_id in old_ids]
        if here.issuperset(old_names) and len(here) == len(old_names) + ("_names.json" in here):
            return old_ids  # (the usual case after a create + rm: no set difference)
        new = sorted(n[:-5] for n in here.difference(old_names) if n.endswith(".json") and not n.startswith(("_", ".")))
        if here.issuperset(old_names):
            return old_ids + new if new else old_ids
        return [obj_id for obj_id, name in zip(old_ids, old_names) if name in here] + new

    def _picks(
        self,
        ids: list[str],
        index: dict[str, int] | None,
        changed: dict[int, list[int] | None],
        settled: int,
        read: Callable[[str], list[Any] | None],
    ) -> list[Any]:
        """For each record: its stored index (unchanged) or ``(id, values, stamp)``."""
        picks: list[Any] = []
        for pos, obj_id in enumerate(ids):
            if pos not in changed:
                picks.append(pos if index is None else index[obj_id])
                continue
            stamp = changed[pos]
            # a file's name, never a path (the CRC guards the file against damage, this
            # against a hand-made one: ``read`` opens <kind>/<id>.json)
            values = None if stamp is None or "/" in obj_id or obj_id[:1] in ("", ".") else read(obj_id)
            if values is None:  # removed since the listing
                continue
            self.fresh += 1
            if stamp[1] < settled:
                self.dirty = True
            else:  # too recent to be trusted: read again next time
                stamp = [None, None, None]
            picks.append((obj_id, values, stamp))
        return picks

    def _gather(
        self, picks: list[Any], old_ids: list[str], columns: list[list[Any]], stamps: tuple[list[Any], ...]
    ) -> None:
        self.dirty = self.dirty or len(picks) != len(old_ids)
        width = len(self.layout.split(","))
        self.ids = [old_ids[p] if type(p) is int else p[0] for p in picks]
        self._columns = [[columns[j][p] if type(p) is int else p[1][j] for p in picks] for j in range(width)]
        self._stamps = [[stamps[k][p] if type(p) is int else p[2][k] for p in picks] for k in range(3)]

    def sort(self, column: int, key: Callable[[Any], Any]) -> None:
        """Put the rows in the order of ``key`` of one column's values."""
        values = self.columns[column]
        order = sorted(range(len(self.ids)), key=lambda i: key(values[i]))
        self.ids = [self.ids[i] for i in order]
        self._columns = [[col[i] for i in order] for col in self.columns]
        self._outputs = {}
        self._stamps = [[col[i] for i in order] for col in self._stamps]

    def save(self) -> None:
        """Write the rows (in their current order, which the next reader gets) with the
        stamps seen. Best effort: a reader that may not write the state directory (or a
        full disk) still lists, only without the cache."""
        # Equal strings as one object (a network's driver, scope...): marshal then writes
        # the others as references, and the next reader loads one object for them all.
        if self._columns is None:  # the stored rows, unchanged
            assert self._blob is not None
            blob, blob_crc = self._blob
        else:
            same: dict[str, str] = {}
            blob = marshal.dumps([[same.setdefault(v, v) if type(v) is str else v for v in c] for c in self._columns])
            blob_crc = binascii.crc32(blob)
        body = marshal.dumps((self.ids, *self._stamps, [marshal.dumps(self._outputs)]))
        header = {
            "version": VERSION,
            "layout": self.layout,
            "dir": self._dir,
            "crc": binascii.crc32(body),
            "cols": len(blob),
            "cols_crc": blob_crc,
        }
        text = b"".join((jsonio.dumps(header).encode(), b"\n", body, blob))
        tmp = os.path.join(os.path.dirname(self.path), f".tmp-{os.urandom(6).hex()}.rows")
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "xb") as f:
                f.write(text)
            os.replace(tmp, self.path)
            tmp = ""
        except OSError:
            pass  # derived data only: the next reader reads the records again (see docstring)
        finally:
            if tmp:
                _unlink(tmp)


class StaleRows(Exception):
    """The file's columns do not fit its rows (a hand-made file whose CRC holds): the
    caller lists again with ``rows(read, use_file=False)``."""


def _changed(
    dfd: int, ids: list[str], index: dict[str, int] | None, stamps: tuple[list[Any], list[Any], list[Any]]
) -> dict[int, list[int] | None]:
    """``{position in ids: [inode, ctime, size] now (None: gone)}`` of each record whose
    file's stat is not the stored one (``index``: id -> stored position, None when ``ids``
    are the stored IDs). Stats are taken before any record is read; each is dropped at
    once (1000 kept alive cost ~1 ms of page faults)."""
    inodes, ctimes, sizes = stamps
    changed: dict[int, list[int] | None] = {}
    stat = os.stat
    for pos, obj_id in enumerate(ids):
        try:
            st = stat(obj_id + ".json", dir_fd=dfd)
        except FileNotFoundError:  # removed since the listing
            changed[pos] = None
            continue
        i = pos if index is None else index.get(obj_id)
        if i is None or inodes[i] != st.st_ino or ctimes[i] != st.st_ctime_ns or sizes[i] != st.st_size:
            changed[pos] = [st.st_ino, st.st_ctime_ns, st.st_size]
    return changed


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _is_stamp(value: object) -> bool:
    return type(value) is list and len(value) == 2 and all(type(x) is int for x in value)

"""What ``network ls`` shows and filters of each network, without reading every record.

A :class:`NetworkTable` holds those fields of some networks as columns (one list per
field), in ``network ls`` order, served by the store's row cache
(``pynet.state.rowcache``: ``meta/network-list.rows``, each row trusted while its record's
file is unchanged): at 1000 networks a listing stats 1000 files instead of reading and
checking them, and renders its columns without an object per network. A record that
changed is read through the Repo, so a corrupt one is reported exactly as before.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Network
    from pynet.state.rowcache import RowCache

#: the cache file under ``meta/`` (derived data: rebuilt when missing or unreadable)
CACHE = "network-list"
#: the columns, after the IDs. ``labels``: a dict, None when there is none; ``subnets``:
#: its IPAM pools' subnets, comma-separated (a cached row is a few small objects: each one
#: more per network is ~0.1 ms a listing at 1000 networks)
FIELDS = ("name", "driver", "scope", "created", "enable_ipv6", "internal", "builtin", "labels", "subnets")


class NetworkRow:
    """One network's fields of a :class:`NetworkTable` (``id`` and :data:`FIELDS`)."""

    __slots__ = ("id", *FIELDS)

    def __init__(self, obj_id: str, values: list[Any]) -> None:
        self.id = obj_id
        for field, value in zip(FIELDS, values):
            setattr(self, field, value)


class NetworkTable:
    """The ``network ls`` fields of some networks: ``ids`` and one list per name of
    :data:`FIELDS` (``table.name[i]`` is the name of network ``table.ids[i]``). Made
    from the row cache, its columns load on first use: a listing answered by a text
    rendered before (:meth:`rendered`) loads none."""

    def __init__(self, ids: list[str], columns: list[list[Any]], cache: RowCache | None = None) -> None:
        self._cache = cache
        self.ids = ids
        self.columns = columns
        for field, column in zip(FIELDS, columns):
            setattr(self, field, column)

    @classmethod
    def _lazy(cls, cache: RowCache, remake: Callable[[], RowCache]) -> NetworkTable:
        table = cls.__new__(cls)
        table._cache = cache
        table._remake = remake  # type: ignore[attr-defined]
        return table

    def __getattr__(self, name: str) -> Any:
        """``ids``, ``columns`` and the fields of a lazy table, all loaded at once (so
        that they stay in step)."""
        if name.startswith("_") or "_remake" not in self.__dict__:
            raise AttributeError(name)
        from pynet.state.rowcache import StaleRows

        cache = self._cache
        assert cache is not None
        try:
            columns = cache.columns
        except StaleRows:  # its columns do not fit its rows: list without the file
            cache = self._remake()
            columns = cache.columns
        del self._remake
        self.__init__(cache.ids, columns or [[] for _ in FIELDS], cache)  # type: ignore[misc]
        return getattr(self, name)

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, i: int) -> NetworkRow:
        return NetworkRow(self.ids[i], [column[i] for column in self.columns])

    def select(self, keep: list[int]) -> NetworkTable:
        """The rows at the indexes ``keep``, in that order."""
        return NetworkTable([self.ids[i] for i in keep], [[col[i] for i in keep] for col in self.columns])

    def rendered(self, key: str) -> str | None:
        """The text a caller kept under ``key`` for exactly these rows (every network,
        unchanged since), or None."""
        return None if self._cache is None else self._cache.output(key)

    def keep_rendered(self, key: str, text: str) -> None:
        """Keep ``text``, rendered from every row of this table, for :meth:`rendered`."""
        if self._cache is not None:
            self._cache.keep_output(key, text)


def _values(net: Network) -> list[Any]:
    """The row of ``net``: its value of each of :data:`FIELDS`."""
    return [
        net.name,
        net.driver,
        net.scope,
        net.created,
        net.enable_ipv6,
        net.internal,
        net.builtin,
        dict(net.labels) or None,
        ",".join(p.subnet for p in net.ipam_config if p.subnet),
    ]


def network_table(repo: Repo) -> NetworkTable:
    """Every network, sorted by name as ``network ls`` lists them (docker/cli's natural
    order)."""
    if repo.txn is not None:  # inside a command: its pending records count
        from pynet.cnm.listing import natural_sort_key

        nets = sorted(repo.networks(), key=lambda n: natural_sort_key(n.name))
        values = [_values(n) for n in nets]
        return NetworkTable([n.id for n in nets], [list(col) for col in zip(*values)] or [[] for _ in FIELDS])
    return NetworkTable._lazy(_cached_rows(repo, use_file=True), lambda: _cached_rows(repo, use_file=False))


def _cached_rows(repo: Repo, *, use_file: bool) -> RowCache:
    """The row cache, its rows filled (sorted, and saved when that helps the next reader)."""
    from pynet.cnm.listing import natural_sort_key
    from pynet.state.rowcache import RowCache

    cache = RowCache(repo.store, "networks", CACHE, ",".join(FIELDS))

    def read(obj_id: str) -> list[Any] | None:
        net = repo.network(obj_id)  # a corrupt record raises here, naming its file
        return None if net is None else _values(net)

    cache.rows(read, use_file=use_file)
    if cache.fresh:
        cache.sort(FIELDS.index("name"), natural_sort_key)
    if cache.dirty:
        cache.save()
    return cache

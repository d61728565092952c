"""Several Compose files (``-f a.yaml -f b.yaml``, ``COMPOSE_FILE``) merged into one, as
docker-compose 1.29 merges them (its ``merge_service_dicts``).

Top-level keys: a later file's value replaces the earlier one, except ``services``, merged
service by service, and ``networks``, replaced network by network. In a service:
``environment``, ``labels``, ``extra_hosts`` and ``depends_on`` are merged key by key;
``dns``, ``dns_search`` and ``env_file`` are concatenated; ``expose`` is the sorted union;
``ports`` are merged by (container port, host port, host IP, protocol) and sorted by the
container port; ``networks`` merge per network (``aliases``: sorted union, the rest
replaced, ``x-pynet-link`` too); ``deploy`` is merged key by key; any other key is replaced.

Every value keeps the place (file, line, column) it was written at, so an error in the
merged project still names the file it comes from.
"""

from __future__ import annotations

from pynet.compose.loader import Source

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    Origin = tuple[Source, tuple[Any, ...]]  # the source and the path a value has in it

_MAPPINGS = {"environment", "labels", "extra_hosts", "depends_on"}
_CONCATENATED = {"dns", "dns_search", "env_file"}


def merge(sources: list[Source]) -> Source:
    """One source for ``sources`` in order (the first names the project directory)."""
    if len(sources) == 1:
        return sources[0]
    m = _Merger(sources[0])
    for src in sources[1:]:
        m.file(src)
    out = Source(path=sources[0].path, data=m.data, paths=[s.path for s in sources])
    _place(m.data, (), m.origins, (sources[0], ()), out.marks)
    return out


def _place(value: Any, path: tuple[Any, ...], origins: dict, parent: Origin, marks: dict) -> None:
    """Each merged value's mark: its origin's, with the file named (walks the result once)."""
    src, old = origins.get(path) or (parent[0], parent[1] + path[-1:])
    mark = src.marks.get(old)
    if mark is not None:
        marks[path] = (mark[0], mark[1], src.path)
    if isinstance(value, dict):
        for key, child in value.items():
            _place(child, (*path, key), origins, (src, old), marks)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _place(child, (*path, i), origins, (src, old), marks)


class _Merger:
    def __init__(self, first: Source) -> None:
        self.data: dict[str, Any] = dict(first.data)
        self.origins: dict[tuple[Any, ...], Origin] = {(): (first, ())}

    def origin(self, path: tuple[Any, ...]) -> Origin:
        """Where the value now at ``path`` of the result was written."""
        for i in range(len(path), -1, -1):
            found = self.origins.get(path[:i])
            if found is not None:
                return found[0], found[1] + path[i:]
        raise AssertionError(path)  # () is always there

    def file(self, src: Source) -> None:
        for key, value in src.data.items():
            path = (key,)
            base = self.data.get(key)
            if key in ("services", "networks") and value is None and key in self.data:
                continue  # an empty ``services:`` adds nothing
            if key in ("services", "networks") and isinstance(base, dict) and isinstance(value, dict):
                entries = self._entries(base, path)
                for name, entry in value.items():
                    here = (*path, name)
                    if (
                        key == "services"
                        and isinstance(entries.get(name, (None,))[0], dict)
                        and isinstance(entry, dict)
                    ):
                        entry = self.service(entries[name][0], here, entry, src)
                        entries[name] = (entry, self.origins[here])
                    else:
                        self._drop(here)
                        entries[name] = (entry, (src, here))
                self.data[key] = self._keyed(path, entries, (src, path))
            else:
                self.data[key] = value
                self._drop(path)
                self.origins[path] = (src, path)

    def _drop(self, path: tuple[Any, ...]) -> None:
        """Forget the origins under ``path`` (its value is replaced whole)."""
        for old in [p for p in self.origins if p[: len(path)] == path and len(p) > len(path)]:
            del self.origins[old]

    def _entries(self, base: dict[str, Any], path: tuple[Any, ...]) -> dict[str, tuple[Any, Origin]]:
        return {k: (v, self.origin((*path, k))) for k, v in base.items()}

    def _keyed(self, path: tuple[Any, ...], entries: dict[Any, tuple[Any, Origin]], own: Origin) -> dict:
        self.origins[path] = own
        for key, (_value, origin) in entries.items():
            self.origins[(*path, key)] = origin
        return {key: value for key, (value, _origin) in entries.items()}

    def _listed(self, path: tuple[Any, ...], items: list[tuple[Any, Origin]], own: Origin) -> list:
        self.origins[path] = own
        for i, (_value, origin) in enumerate(items):
            self.origins[(*path, i)] = origin
        return [value for value, _origin in items]

    # -- a service in two files --------------------------------------------------------
    def service(self, base: dict[str, Any], path: tuple[Any, ...], over: dict[str, Any], src: Source) -> dict:
        entries = self._entries(base, path)
        for key, value in over.items():
            here = (*path, key)
            merged = self._merge_key(key, base.get(key), here, value, src) if key in base else None
            if merged is None:  # replaced whole
                self._drop(here)
            entries[key] = merged if merged is not None else (value, (src, here))
        return self._keyed(path, entries, (src, path))

    def _merge_key(self, key: str, base: Any, path: tuple[Any, ...], over: Any, src: Source) -> tuple | None:
        """(merged value, its origin), or None when ``over`` simply replaces ``base``."""
        if key in _MAPPINGS:
            return self._mapping(key, base, path, over, src)
        if key in _CONCATENATED:
            return self._concatenated(base, path, over, src)
        if key == "expose":
            return self._expose(base, path, over, src)
        if key == "ports":
            return self._ports(base, path, over, src)
        if key == "networks":
            return self._networks(base, path, over, src)
        if key == "deploy" and isinstance(base, dict) and isinstance(over, dict):
            return self._deep(base, path, over, src), (src, path)
        return None

    def _pairs(self, key: str, value: Any, path: tuple, origin_of: Any) -> dict | None:
        """A Compose ``list or dict`` as ``{key: (value, origin)}`` (None: not one)."""
        if isinstance(value, dict):
            return {str(k): (v, origin_of((*path, k))) for k, v in value.items()}
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return None
        out = {}
        for i, item in enumerate(value):
            if key == "depends_on":
                name, val = item, None
            else:
                sep = ":" if key == "extra_hosts" and "=" not in item else "="
                name, found, val = item.partition(sep)
                if not found:
                    if key == "extra_hosts":
                        return None
                    val = None
            out[name] = (val, origin_of((*path, i)))
        return out

    def _mapping(self, key: str, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        old = self._pairs(key, base, path, self.origin)
        new = self._pairs(key, over, path, lambda p: (src, p))
        if old is None or new is None:
            return None
        return self._keyed(path, {**old, **new}, (src, path)), (src, path)

    def _items(self, value: Any, path: tuple, origin_of: Any) -> list[tuple[Any, Origin]] | None:
        if isinstance(value, list):
            return [(item, origin_of((*path, i))) for i, item in enumerate(value)]
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [(value, origin_of(path))]
        return None

    def _both(self, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        old = self._items(base, path, self.origin)
        new = self._items(over, path, lambda p: (src, p))
        return None if old is None or new is None else (old, new)

    def _concatenated(self, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        both = self._both(base, path, over, src)
        return None if both is None else (self._listed(path, both[0] + both[1], (src, path)), (src, path))

    def _expose(self, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        both = self._both(base, path, over, src)
        if both is None:
            return None
        unique = {str(value): (value, origin) for value, origin in reversed(both[0] + both[1])}
        items = [unique[k] for k in sorted(unique)]
        return self._listed(path, items, (src, path)), (src, path)

    def _ports(self, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        both = self._both(base, path, over, src)
        if both is None:
            return None
        merged: dict[Any, tuple[Any, Origin, int]] = {}
        for value, origin in both[0] + both[1]:
            for key, one, target in _port_items(value):
                merged[key] = (one, origin, target)
        items = [(one, origin) for one, origin, _t in sorted(merged.values(), key=lambda x: x[2])]
        return self._listed(path, items, (src, path)), (src, path)

    def _networks(self, base: Any, path: tuple, over: Any, src: Source) -> tuple | None:
        old = self._pairs("depends_on", base, path, self.origin)  # a list of names, or a map
        new = self._pairs("depends_on", over, path, lambda p: (src, p))
        if old is None or new is None:
            return None
        entries = dict(old)
        for name, (entry, origin) in new.items():
            base_entry = entries.get(name, (None,))[0]
            if name in entries and isinstance(base_entry or {}, dict) and isinstance(entry or {}, dict):
                entry = self._network_entry(base_entry or {}, (*path, name), entry or {}, src)
                origin = (src, (*path, name))
                if not isinstance(over, dict):  # the entry came from a list item
                    origin = new[name][1]
            entries[name] = (entry, origin)
        return self._keyed(path, entries, (src, path)), (src, path)

    def _network_entry(self, base: dict, path: tuple, over: dict, src: Source) -> dict:
        entries = self._entries(base, path)
        for key, value in over.items():
            entries[key] = (value, (src, (*path, key)))
        if "aliases" in base or "aliases" in over:
            both = self._both(base.get("aliases", []), (*path, "aliases"), over.get("aliases", []), src)
            if both is not None:
                unique = {str(v): (v, o) for v, o in reversed(both[0] + both[1])}
                items = [unique[k] for k in sorted(unique)]
                entries["aliases"] = (self._listed((*path, "aliases"), items, (src, (*path, "aliases"))), None)
        merged = {k: v for k, (v, _o) in entries.items()}
        for key, (_v, origin) in entries.items():
            if origin is not None:
                self.origins[(*path, key)] = origin
        return merged

    def _deep(self, base: dict, path: tuple, over: dict, src: Source) -> dict:
        entries = self._entries(base, path)
        for key, value in over.items():
            here = (*path, key)
            if isinstance(base.get(key), dict) and isinstance(value, dict):
                entries[key] = (self._deep(base[key], here, value, src), (src, here))
            else:
                entries[key] = (value, (src, here))
        return self._keyed(path, entries, (src, path))


def _port_items(value: Any) -> list[tuple[Any, Any, int]]:
    """``(merge key, the port as one item, container port)`` for each port ``value`` names
    (a range is one item per port, as docker-compose splits it); unparsable: kept as is."""
    from pynet.errors import InvalidArgument
    from pynet.records import ports

    if isinstance(value, dict):
        try:
            target, published = int(str(value.get("target"))), int(str(value.get("published") or 0))
        except ValueError:
            return [(("raw", repr(value)), value, 0)]
        key = (target, published, 0, str(value.get("host_ip") or ""), str(value.get("protocol") or "tcp"))
        return [(key, value, target)]
    try:
        bindings = ports.parse_publish([str(value)])
    except InvalidArgument:
        return [(("raw", str(value)), value, 0)]
    if len(bindings) == 1:
        b = bindings[0]
        return [((b.container_port, b.host_port, b.host_port_end, b.host_ip, b.proto), value, b.container_port)]
    out = []
    for b in bindings:
        host = f"[{b.host_ip}]" if ":" in b.host_ip else b.host_ip
        published = str(b.host_port or "")
        spec = ":".join([host, published, str(b.container_port)] if host else [published, str(b.container_port)])
        spec = spec.lstrip(":") + f"/{b.proto}"
        out.append(((b.container_port, b.host_port, b.host_port_end, b.host_ip, b.proto), spec, b.container_port))
    return out

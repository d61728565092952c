"""What ``network ls``, ``ps`` and ``network prune`` select, and in which order: Docker's
filters and sort, shared by both front doors (``pynet.cli`` and the Engine API ``pynet.api``).

Pure functions over records and the reader (no I/O of their own, standard library only:
they run on the fast read-only paths). Filter semantics: docs/output.md.
"""

from __future__ import annotations

from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pynet.cnm.network_rows import NetworkTable
    from pynet.records.model import Container, Network

#: Filter keys the daemon accepts (moby ``daemon/network.go``, ``daemon/list.go`` subset, prune).
NETWORK_FILTERS = frozenset(("dangling", "driver", "id", "label", "name", "scope", "type"))
CONTAINER_FILTERS = frozenset(("id", "name", "label", "status", "network", "exited"))
PRUNE_FILTERS = frozenset(("until", "label", "label!"))


def check_filter_keys(filters: dict[str, list[str]], allowed: set[str] | frozenset[str]) -> None:
    """Docker 20.10's daemon message for a key it does not filter by."""
    for key in filters:
        if key not in allowed:
            raise InvalidArgument(f"Invalid filter '{key}'")


# --------------------------------------------------------------------------- networks


def network_table(repo: Any, filters: dict[str, list[str]]) -> NetworkTable:
    """The networks passing ``filters`` (``cnm.network_rows``' columns), in ``network ls``
    order (values are checked even when no network is left, as the daemon does)."""
    from pynet.cnm import network_rows, views

    _validate_network_filters(filters)
    table = network_rows.network_table(repo)
    if not filters:
        return table
    keep = []
    for i in range(len(table)):
        row = table.row(i)
        item = views.network_filter_item(row)
        if filters.get("dangling"):  # one more file per network: read only when asked
            item["containers"] = repo.member_count(row.id)
        if match_network_filters(item, filters):
            keep.append(i)
    return table.select(keep)


def networks(repo: Any, filters: dict[str, list[str]]) -> list[Network]:
    """The records of the networks passing ``filters``, in ``network ls`` order."""
    selected = [repo.network(obj_id) for obj_id in network_table(repo, filters).ids]
    return [net for net in selected if net is not None]


def _validate_network_filters(filters: dict[str, list[str]]) -> None:
    for value in filters.get("type", []):
        if value not in ("custom", "builtin"):
            raise InvalidArgument(f"Invalid filter: 'type'='{value}'")
    dangling = filters.get("dangling", [])
    if len(dangling) > 1:
        raise InvalidArgument('got more than one value for filter key "dangling"')
    if dangling and dangling[0] not in ("0", "1", "false", "true"):
        raise InvalidArgument('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")')


def _regex_match(patterns: list[str], text: str) -> bool:
    """``filters.Args.Match``: an exact value, or an (unanchored) regexp search."""
    if text in patterns:
        return True
    import re  # only when a name/id filter is used

    for pattern in patterns:
        try:
            if re.search(pattern, text):
                return True
        except re.error:
            continue
    return False


def match_network_filters(item: dict, filters: dict[str, list[str]]) -> bool:
    """Whether one network passes Docker's ``network ls`` filters.

    ``item`` keys: ``full_id``, ``name``, ``driver``, ``scope``, ``labels`` (dict),
    ``builtin`` (bool: bridge/host/none), and for ``dangling`` ``containers`` (int).
    Semantics (moby ``daemon/network/filter.go``): several values of one key OR
    together and different keys AND, except ``label`` where every value must match
    (``key`` or ``key=value``); ``driver`` and ``scope`` are exact; ``name`` and
    ``id`` match exactly or as a regexp search (so a plain value is a substring);
    ``type`` is ``custom``/``builtin``; ``dangling=true`` keeps user networks without
    containers. Bad ``type``/``dangling`` values raise ``InvalidArgument``.
    """
    _validate_network_filters(filters)
    checks = (
        ("driver", lambda vs: item.get("driver") in vs),
        ("scope", lambda vs: item.get("scope") in vs),
        ("name", lambda vs: _regex_match(vs, item.get("name", ""))),
        ("id", lambda vs: _regex_match(vs, item.get("full_id", ""))),
        ("label", lambda vs: _labels_match(vs, item.get("labels") or {})),
        ("type", lambda vs: ("builtin" if item.get("builtin") else "custom") in vs),
        ("dangling", lambda vs: _dangling(item) == (vs[0] in ("1", "true"))),
    )
    return all(check(filters[key]) for key, check in checks if filters.get(key))


def _labels_match(values: list[str], labels: dict) -> bool:
    """``filters.Args.MatchKVList``: every ``key``/``key=value`` must be present."""
    for value in values:
        key, has_value, want = value.partition("=")
        if key not in labels or (has_value and labels[key] != want):
            return False
    return bool(labels)


def _dangling(item: dict) -> bool:
    return not item.get("builtin") and not item.get("containers")


# --------------------------------------------------------------------------- containers


def containers(repo: Any, filters: dict[str, list[str]], show_all: bool) -> list[Container]:
    """The containers ``ps`` lists, newest first: running ones only unless ``show_all``
    (or a ``status``/``exited`` filter) asks for every state."""
    cs = sorted(repo.containers(), key=lambda c: c.created, reverse=True)
    if not show_all and "status" not in filters and "exited" not in filters:
        cs = [c for c in cs if c.status == "running"]
    return [c for c in cs if container_matches(c, repo, filters)]


def container_matches(c: Container, repo: Any, f: dict[str, list[str]]) -> bool:
    """Whether one container passes ``ps``'s filters (keys AND, values OR; ``label`` all)."""
    if "id" in f and not any(c.id.startswith(v) for v in f["id"]):
        return False
    if "name" in f and not any(v in c.name for v in f["name"]):
        return False
    if "status" in f and c.status not in f["status"]:
        return False
    if "exited" in f and not (c.status == "exited" and str(c.exit_code) in f["exited"]):
        return False
    if "label" in f and not all(_label_match(c.labels, spec) for spec in f["label"]):
        return False
    if "network" in f:
        names = {n.name for n in (repo.network(i) for i in c.endpoints) if n}
        ids = set(c.endpoints)
        if not any(v in names or any(i.startswith(v) for i in ids) for v in f["network"]):
            return False
    return True


# --------------------------------------------------------------------------- prune


def until_epoch(value: str, now: float | None = None) -> float:
    """``until`` as epoch seconds: a Go duration (``24h``), a Unix time or an RFC 3339 date."""
    import calendar
    import re
    import time

    now = time.time() if now is None else now
    m = re.match(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$", value)
    if m:
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        return float(value)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return calendar.timegm(time.strptime(value.rstrip("Z")[:19], fmt))
        except ValueError:
            continue
    raise InvalidArgument(f'Error parsing until filter: "{value}" is not a valid timestamp or duration')


_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def created_epoch(rfc3339: str) -> float:
    import calendar
    import time

    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


def _label_match(labels: dict[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in labels and (not sep or labels[key] == value)


def keep_filter(filters: dict[str, list[str]]) -> Callable[[Any], bool]:
    """A predicate that is True for networks the prune filters protect."""
    untils = [until_epoch(v) for v in filters.get("until", [])]
    labels = filters.get("label", [])
    not_labels = filters.get("label!", [])

    def keep(net: Any) -> bool:
        if untils and created_epoch(net.created) >= min(untils):
            return True
        if labels and not all(_label_match(net.labels, s) for s in labels):
            return True
        if not_labels and any(_label_match(net.labels, s) for s in not_labels):
            return True
        return False

    return keep


# --------------------------------------------------------------------------- sorting


def natural_sort_key(s: str) -> list[tuple]:
    """docker/cli's ``sortorder.NaturalLess`` (``network ls`` is sorted by name with it) as a
    sort key, computed once per name (a comparator made ~8700 Python-level comparisons for
    1000 networks); tests/unit/test_formatting.py holds the comparator as the oracle.
    A digit run is ``(0, digits without leading zeros by length, their text, leading
    zeros)``, any other character ``(1, char)``: digit runs sort before other characters."""
    key: list[tuple] = []
    i, n = 0, len(s)
    while i < n:
        if not s[i].isdigit():
            key.append((1, s[i]))
            i += 1
            continue
        j = i
        while j < n and s[j].isdigit():
            j += 1
        run = s[i:j]
        digits = run.lstrip("0")
        key.append((0, len(digits), digits, len(run) - len(digits)))
        i = j
    return key

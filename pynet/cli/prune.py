"""Docker's prune filters (``until``, ``label``, ``label!``) as a keep-predicate."""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.errors import InvalidArgument

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def until_epoch(value: str, now: float | None = None) -> float:
    """``until`` as epoch seconds: a Go duration (``24h``), a Unix time or an RFC 3339 date."""
    now = time.time() if now is None else now
    m = _DURATION.match(value)
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


def created_epoch(rfc3339: str) -> float:
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

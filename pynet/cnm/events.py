"""Events in Docker's shape: made by the core's services, read by ``pynet events`` and the
Engine API's ``/events`` (docs/events.md).

Services call ``repo.emit(...)`` with an event from :func:`network_event` or
:func:`container_event`; the Controller appends a mutation's events to the log
(``pynet.state.events``) once its commit is done, so a command that failed told nothing.
:func:`stream` replays and follows the log with Docker's ``since``/``until``/filters.
"""

from __future__ import annotations

import re
import time

from pynet.errors import InvalidArgument
from pynet.state.events import POLL_SECONDS, EventLog

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any

    from pynet.records.model import Container, Network


def make_event(
    type_: str, action: str, actor_id: str, attributes: dict[str, str], *, now_ns: int | None = None
) -> dict[str, Any]:
    """One event as Docker's ``events.Message`` marshals it (JSON key order included).

    Container events also carry the deprecated ``status``/``id``/``from`` fields, as
    Docker fills them (``from`` only when there is an image)."""
    ns = time.time_ns() if now_ns is None else now_ns
    ev: dict[str, Any] = {}
    if type_ == "container":
        ev["status"] = action
        ev["id"] = actor_id
        if attributes.get("image"):
            ev["from"] = attributes["image"]
    ev.update(
        {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes)},
            "scope": "local",
            "time": ns // 1_000_000_000,
            "timeNano": ns,
        }
    )
    return ev


def network_event(action: str, net: Network, **attributes: str) -> dict[str, Any]:
    """``network create|connect|disconnect|destroy``: Actor = the network, with ``name``
    and ``type`` (the driver) and, for connect/disconnect, ``container`` (its full ID)."""
    return make_event("network", action, net.id, {**attributes, "name": net.name, "type": net.driver})


def network_prune_event() -> dict[str, Any]:
    """Docker logs one ``network prune`` with no actor ID after pruning (``reclaimed=0``)."""
    return make_event("network", "prune", "", {"reclaimed": "0"})


def container_event(action: str, c: Container, **attributes: str) -> dict[str, Any]:
    """``container create|start|die|destroy``: the container's labels, ``image`` (when
    it has one) and ``name``, plus the action's own (``die``: ``exitCode``)."""
    attrs = {**c.labels, **attributes, "name": c.name}
    image = getattr(c, "image", "")  # a host command has none: no ``image``, no ``from``
    if image:
        attrs["image"] = image
    return make_event("container", action, c.id, attrs)


# --------------------------------------------------------------------------- filters


class EventFilter:
    """Docker's events filter: ``{key: [values]}``; every key given must match (a key
    Docker does not know is ignored, as its daemon does)."""

    def __init__(self, filters: dict[str, list[str]] | None = None) -> None:
        self.filters = {k: list(v) for k, v in (filters or {}).items() if v}

    def _exact(self, key: str, source: str) -> bool:
        values = self.filters.get(key)
        return not values or source in values

    def _fuzzy(self, key: str, source: str) -> bool:
        values = self.filters.get(key)
        return not values or any(source.startswith(v) for v in values)

    def _named(self, ev: dict[str, Any], type_: str) -> bool:
        """Docker's fuzzyMatchName: the key (``container``/``network``) matches the actor's
        ID or ``name`` by prefix — so it also drops every event of another type."""
        actor = ev.get("Actor") or {}
        name = (actor.get("Attributes") or {}).get("name", "")
        return self._fuzzy(type_, actor.get("ID", "")) or self._fuzzy(type_, name)

    def _labels(self, attributes: dict[str, str]) -> bool:
        for want in self.filters.get("label", []):
            key, sep, val = want.partition("=")
            if key not in attributes or (sep and attributes[key] != val):
                return False
        return True

    def match(self, ev: dict[str, Any]) -> bool:
        """True when ``ev`` passes every filter (``daemon/events/filter.go``'s Include)."""
        actor = ev.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        image = attributes.get("image", "") if ev.get("Type") == "container" else ""
        return (
            self._exact("event", ev.get("Action", ""))
            and self._exact("type", ev.get("Type", ""))
            and self._exact("scope", ev.get("scope", ""))
            and self._named(ev, "container")
            and self._named(ev, "network")
            and self._exact("image", image)
            and self._labels(attributes)
            and all(
                not self.filters.get(k) for k in ("daemon", "plugin", "volume", "node", "service", "secret", "config")
            )
        )


# --------------------------------------------------------------------------- time


# patterns as text, compiled (and cached by `re`) on use: every mutating command imports this
# module to make its events, and only `events --since/--until` parses times (design.md, "Start-up")
_DURATION = r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _go_duration(value: str) -> float | None:
    """Go's time.ParseDuration in seconds (``10m``, ``1h30m``, ``-5s``), None if it is not one."""
    sign, body = (-1.0, value[1:]) if value[:1] == "-" else (1.0, value.lstrip("+"))
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in re.finditer(_DURATION, body):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    return sign * total if pos == len(body) and pos else None


def parse_time(value: str, now: float | None = None) -> float:
    """Docker's ``--since``/``--until`` value as a unix time in seconds: a Go duration
    before now (``10m``), an RFC 3339 date or date-time (local time when it names no zone),
    or a unix timestamp (``1700000000[.5]``) — the CLI's ``timetypes.GetTimestamp``."""
    now = time.time() if now is None else now
    if value != "0":
        d = _go_duration(value)
        if d is not None:
            return now - d
    stamp = _rfc3339(value)
    if stamp is not None:
        return stamp
    if "-" not in value and re.fullmatch(r"[0-9]+(\.[0-9]*)?", value):
        return float(value)
    if "-" in value:
        raise InvalidArgument(f'parsing time "{value}": cannot parse as RFC 3339', from_daemon=False)
    raise InvalidArgument(f'failed to parse value as time or duration: "{value}"', from_daemon=False)


_RFC3339 = r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?(Z|z|[+-]\d{2}:\d{2})?"


def _rfc3339(value: str) -> float | None:
    import datetime as dt

    m = re.fullmatch(_RFC3339, value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        when = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if zone in ("Z", "z"):
        when = when.replace(tzinfo=dt.timezone.utc)
    elif zone:
        sign = 1 if zone[0] == "+" else -1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        when = when.replace(tzinfo=dt.timezone(sign * offset))
    else:
        when = when.astimezone()  # local time, as the CLI's ParseInLocation
    return when.timestamp() + (float(frac) if frac else 0.0)


def parse_api_time(value: str) -> float:
    """An Engine API ``since``/``until`` query value (``seconds[.nanoseconds]``) in seconds."""
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]{1,9})?", value):
        raise InvalidArgument(f"invalid timestamp: {value}")
    return float(value)


# --------------------------------------------------------------------------- reading


def stream(
    root: Path,
    *,
    since: float | None = None,
    until: float | None = None,
    match: EventFilter | None = None,
    stop: Callable[[], bool] = lambda: False,
    poll: float = POLL_SECONDS,
) -> Iterator[dict[str, Any]]:
    """The events of state dir ``root`` as Docker's ``/events`` gives them.

    Stored events are replayed when ``since`` or ``until`` is given (from ``since``,
    up to ``until``); without ``until`` (or with one in the future) it then follows new
    events until ``until`` passes or ``stop()`` is true; with only past events asked
    for it ends after the replay."""
    match = match or EventFilter()
    now = time.time()
    follow = until is None or until > now
    history = since is not None or until is not None
    since_ns = int(since * 1e9) if since is not None else None
    until_ns = int(until * 1e9) if until is not None else None

    def done() -> bool:
        return stop() or (until is not None and time.time() > until)

    for ev in EventLog(root).read(history=history, follow=follow, stop=done, poll=poll):
        ns = int(ev.get("timeNano") or 0)
        if since_ns is not None and ns < since_ns:
            continue
        if until_ns is not None and ns > until_ns:
            if not follow:
                return
            continue
        if match.match(ev):
            yield ev

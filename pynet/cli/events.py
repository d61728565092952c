"""``pynet events``: replay and follow the events log in Docker's shape (docs/events.md)."""

from __future__ import annotations

import sys

import click

from pynet.cli.base import echo

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


@click.command("events")
@click.option(
    "-f", "--filter", "filters", multiple=True, metavar="filter", help="Filter output based on conditions provided"
)
@click.option(
    "--format", "fmt", metavar="string", help="Format output using a custom template: 'json' or a Go template"
)
@click.option("--since", metavar="string", help="Show all events created since timestamp")
@click.option("--until", metavar="string", help="Stream events until this timestamp")
def events(filters: tuple[str, ...], fmt: str | None, since: str | None, until: str | None) -> None:
    """Get real time events from pynet's state (Docker's `docker events`).

    Without --until it follows new events until interrupted (Ctrl-C ends it, exit 0).
    --since/--until take RFC 3339 times, unix timestamps or durations before now (10m).
    Filters: type=network|container, event=ACTION, network=NAME|ID, container=NAME|ID,
    label=KEY[=VALUE], scope=local, image=NAME.

    \b
    Example:
      pynet events --since 10m --until 0s --filter type=network
    """
    from pynet.cli.formatting import parse_filters
    from pynet.cnm import events as ev
    from pynet.paths import state_dir

    match = ev.EventFilter(parse_filters(list(filters), None))
    start = ev.parse_time(since) if since else None
    end = ev.parse_time(until) if until else None
    render = _renderer(fmt)
    try:
        for event in ev.stream(state_dir(), since=start, until=end, match=match):
            echo(render(event))
            sys.stdout.flush()
    except KeyboardInterrupt:
        return  # Ctrl-C is how a follow ends: quietly, exit 0


def _renderer(fmt: str | None):  # type: ignore[no-untyped-def]
    """The function that turns one event into its output line for ``--format``."""
    if not fmt:
        return text_line
    if fmt.strip() in ("json", "{{json .}}"):
        return json_line
    from pynet.cli import gotemplate

    try:
        tmpl = gotemplate.compile(fmt.replace("\\t", "\t").replace("\\n", "\n"))
    except gotemplate.TemplateError as err:
        raise gotemplate.TemplateError(f"template parsing error: {err.go_error}", go_error=err.go_error) from None
    return lambda event: tmpl.execute(template_view(event))


def json_line(event: dict[str, Any]) -> str:
    """``{{json .}}``: the event as Docker's API sends it (JSON tags, Go's escaping)."""
    import json

    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def text_line(event: dict[str, Any]) -> str:
    """Docker's default line: ``<time> <type> <action> <actor id> (k=v, ...)``, keys sorted,
    the time in the local zone with nanoseconds (``RFC3339NanoFixed``)."""
    actor = event.get("Actor") or {}
    line = f"{_local_time(int(event.get('timeNano') or 0))} {event.get('Type', '')} {event.get('Action', '')} {actor.get('ID', '')}"
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes)) + ")"
    return line


def _local_time(ns: int) -> str:
    import datetime as dt

    when = dt.datetime.fromtimestamp(ns // 1_000_000_000).astimezone()
    offset = when.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}" + zone


def template_view(event: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The event as the Go struct ``events.Message`` a template sees (Go field names)."""
    from pynet.cli.gotemplate.values import Struct

    actor = event.get("Actor") or {}
    return Struct(
        {
            "Status": event.get("status", ""),
            "ID": event.get("id", ""),
            "From": event.get("from", ""),
            "Type": event.get("Type", ""),
            "Action": event.get("Action", ""),
            "Actor": Struct({"ID": actor.get("ID", ""), "Attributes": dict(actor.get("Attributes") or {})}),
            "Scope": event.get("scope", ""),
            "Time": int(event.get("time") or 0),
            "TimeNano": int(event.get("timeNano") or 0),
        }
    )

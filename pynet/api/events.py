"""``GET /events``: the events log (``pynet.cnm.events``) as dockerd streams it: one JSON
object per line, replayed from ``since`` up to ``until``, then followed live until
``until`` passes or the client hangs up (``docker events``)."""

from __future__ import annotations

import json

from pynet.api.http import Request, Response

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Iterator


def events(req: Request) -> Response:
    """Headers go out at once (the server flushes them before the first event)."""
    from pynet import paths
    from pynet.cnm import events as ev

    match = ev.EventFilter(req.filters())
    since = ev.parse_api_time(req.arg("since")) if req.arg("since") else None
    until = ev.parse_api_time(req.arg("until")) if req.arg("until") else None
    stream = ev.stream(paths.state_dir(), since=since, until=until, match=match, stop=req.client_gone)
    return Response(stream=_lines(stream), content_type="application/json")


def _lines(stream: Iterator[dict]) -> Iterator[bytes]:
    for event in stream:
        yield (json.dumps(event, separators=(",", ":")) + "\n").encode()

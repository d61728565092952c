"""THE mapping of pynet's errors to dockerd's HTTP status codes and messages.

Every handler raises the core's ``PynetError`` types; the server calls :func:`status_and_message`
once per failed request. Code branches on types, never on message text.
"""

from __future__ import annotations

from pynet.api.http import ApiError
from pynet.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NoSuchNetwork,
    NotFound,
    PoolOverlap,
    PynetError,
    Unavailable,
    Unsupported,
)

#: most specific first (NoSuchNetwork before NotFound...)
STATUS: tuple[tuple[type[PynetError], int], ...] = (
    (PoolOverlap, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (InvalidArgument, 400),
    (Unsupported, 400),
    (Unavailable, 503),
)


def status_and_message(exc: PynetError) -> tuple[int, str]:
    """(HTTP status, the ``message`` dockerd would send) for a core error."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message
    if isinstance(exc, NoSuchNetwork):
        # the daemon's words; the CLI's "No such network" is its own rendering of a 404
        return 404, f"network {exc.ref} not found"
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status, _message(exc)
    return 500, _message(exc)


def _message(exc: PynetError) -> str:
    lines = [*exc.warnings, exc.message]
    return "\n".join(line for line in lines if line)

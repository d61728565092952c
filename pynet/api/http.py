"""Requests and responses of the Engine API, independent of the HTTP server underneath.

A handler takes a :class:`Request` and returns a :class:`Response` (JSON, empty, text or a
stream of chunks), or raises a ``PynetError``/:class:`ApiError` that the server renders as
Docker's ``{"message": ...}`` (``pynet.api.errors`` maps the types to status codes).
``Request.hijack`` hands the raw connection to a handler (attach's ``101 UPGRADED``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, BinaryIO

from pynet.errors import InvalidArgument, PynetError

#: A request body larger than this is refused with 413 before it is read.
MAX_BODY = 4 * 1024 * 1024


class ApiError(PynetError):
    """An HTTP-level refusal with its own status code (413, 405, 404 page not found...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Response:
    """What a handler answers: ``body`` bytes, or ``stream`` (chunks sent as they come)."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: chunks written with chunked encoding; the headers go out before the first one
    stream: Iterable[bytes] | None = None
    #: the handler took the connection over (Request.hijack): the server writes nothing
    hijacked: bool = False


def json_response(obj: Any, status: int = 200) -> Response:
    """``obj`` as dockerd writes JSON: compact, one trailing newline."""
    body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    return Response(status=status, body=body, content_type="application/json")


def empty(status: int = 204) -> Response:
    """No body (204 No Content, or 200 with nothing to say)."""
    return Response(status=status)


def text(body: str, status: int = 200) -> Response:
    return Response(status=status, body=body.encode(), content_type="text/plain; charset=utf-8")


def error_body(message: str) -> bytes:
    return (json.dumps({"message": message}, separators=(",", ":")) + "\n").encode()


def bool_value(raw: str | None) -> bool:
    """moby's ``httputils.BoolValue``: anything but "", 0, no, false, none is true."""
    return (raw or "").strip().lower() not in ("", "0", "no", "false", "none")


@dataclass
class Request:
    """One parsed request. ``path`` is the route-relative path (version prefix removed)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    #: the API version the client asked for in the path (None: unversioned)
    version: str | None = None
    #: the path's named parts (``{id}`` -> ``params["id"]``), percent-decoded
    params: dict[str, str] = field(default_factory=dict)
    #: set by the server: take the raw connection over (see :meth:`hijack`)
    _hijack: Callable[[str, bool], tuple[BinaryIO, BinaryIO]] | None = None
    #: set by the server: whether the client has hung up (see :meth:`client_gone`)
    _gone: Callable[[], bool] | None = None

    @classmethod
    def parse_query(cls, raw: str) -> dict[str, list[str]]:
        return parse_qs(raw, keep_blank_values=True)

    def arg(self, name: str, default: str = "") -> str:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        """An integer query parameter (Go's ``strconv.Atoi``: a bad value is a 400)."""
        raw = self.arg(name).strip()
        if not raw:
            return default
        try:
            return int(raw, 10)
        except ValueError:
            raise InvalidArgument(f'strconv.Atoi: parsing "{raw}": invalid syntax') from None

    def flag(self, name: str) -> bool:
        """A boolean query parameter, Docker's way (``1``, ``true``, ``True``...)."""
        return bool_value(self.arg(name))

    def json(self, *, required: bool = False) -> dict[str, Any]:
        """The body as a JSON object; an empty body is ``{}`` unless ``required``.

        Unknown fields are kept and simply not read: newer clients send more.
        """
        if not self.body.strip():
            if required:
                raise InvalidArgument("invalid JSON: body is empty")
            return {}
        try:
            obj = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"invalid JSON: {exc}") from None
        except RecursionError:  # ``[[[[...`` 100k deep: the client's error, not a 500
            raise InvalidArgument("invalid JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise InvalidArgument("invalid JSON: expected an object")
        return obj

    def filters(self) -> dict[str, list[str]]:
        """``?filters=`` in either encoding: the CLI's ``{"k":{"v":true}}`` or docker-py's
        ``{"k":["v"]}``, as ``{key: [values]}``."""
        raw = self.arg("filters")
        if not raw:
            return {}
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise InvalidArgument(f"invalid filter: {exc}") from None
        except RecursionError:
            raise InvalidArgument("invalid filter: nested too deeply") from None
        if not isinstance(obj, dict):
            raise InvalidArgument("invalid filter: expected an object")
        out: dict[str, list[str]] = {}
        for key, value in obj.items():
            if isinstance(value, dict):
                out[key] = [str(v) for v, on in value.items() if on]
            elif isinstance(value, list):
                out[key] = [str(v) for v in value]
            elif isinstance(value, str):
                out[key] = [value]
            else:
                raise InvalidArgument(f"invalid filter: bad value for '{key}'")
        return out

    def client_gone(self) -> bool:
        """Whether the client closed its end (a stream's producer stops then: ``docker run -d``
        drops its ``wait``)."""
        return self._gone() if self._gone is not None else False

    def hijack(self, content_type: str = "application/vnd.docker.raw-stream") -> tuple[BinaryIO, BinaryIO]:
        """Take the connection over: answer ``101 UPGRADED`` (``Upgrade: tcp``) when the
        client asked for an upgrade, else ``200 OK``, then give the raw (reader, writer).

        The handler then returns ``Response(hijacked=True)``; the connection is closed when
        it returns, as dockerd does.
        """
        if self._hijack is None:
            raise ApiError(500, "this connection cannot be hijacked")
        upgrade = "upgrade" in self.headers.get("connection", "").lower()
        return self._hijack(content_type, upgrade)

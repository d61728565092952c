"""THE route table of the Engine API: ``(method, pattern, "module:function")``.

Adding an endpoint = one line here + the handler function (``def h(req: Request) ->
Response``) in a module of this package. ``{name}`` matches one path segment, ``{name*}``
one or more (image names hold ``/``); both arrive percent-decoded in ``req.params``.
Paths are matched without their ``/v1.xx`` prefix (``pynet.api.version``). Handlers are
imported on first use.
"""

from __future__ import annotations

import importlib
import re
from urllib.parse import unquote

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

    from pynet.api.http import Request, Response

ROUTES: list[tuple[str, str, str]] = [
    # system
    ("GET", "/_ping", "pynet.api.system:ping"),
    ("HEAD", "/_ping", "pynet.api.system:ping"),
    ("GET", "/version", "pynet.api.system:version"),
    ("GET", "/info", "pynet.api.system:info"),
    ("GET", "/swarm", "pynet.api.system:no_swarm"),
    ("POST", "/swarm/{action*}", "pynet.api.system:no_swarm"),
    ("GET", "/swarm/{action*}", "pynet.api.system:no_swarm"),
    ("GET", "/services", "pynet.api.system:no_swarm"),
    ("GET", "/nodes", "pynet.api.system:no_swarm"),
    ("GET", "/tasks", "pynet.api.system:no_swarm"),
    # networks
    ("GET", "/networks", "pynet.api.networks:list_networks"),
    ("POST", "/networks/create", "pynet.api.networks:create"),
    ("POST", "/networks/prune", "pynet.api.networks:prune"),
    ("GET", "/networks/{id}", "pynet.api.networks:inspect"),
    ("DELETE", "/networks/{id}", "pynet.api.networks:remove"),
    ("POST", "/networks/{id}/connect", "pynet.api.networks:connect"),
    ("POST", "/networks/{id}/disconnect", "pynet.api.networks:disconnect"),
    # containers
    ("GET", "/containers/json", "pynet.api.containers:list_containers"),
    ("POST", "/containers/create", "pynet.api.containers:create"),
    ("GET", "/containers/{id}/json", "pynet.api.containers:inspect"),
    ("POST", "/containers/{id}/start", "pynet.api.containers:start"),
    ("POST", "/containers/{id}/stop", "pynet.api.containers:stop"),
    ("POST", "/containers/{id}/kill", "pynet.api.containers:kill"),
    ("POST", "/containers/{id}/wait", "pynet.api.containers:wait"),
    ("DELETE", "/containers/{id}", "pynet.api.containers:remove"),
    # images (pulling: a clear refusal; the image store is pynet.api.images, branch api2)
    ("POST", "/images/create", "pynet.api.system:pull_refused"),
    # images, attach, logs, resize, exec, events (api2)
    ("GET", "/images/json", "pynet.api.images:list_images"),
    ("GET", "/images/{name*}/json", "pynet.api.images:inspect"),
    ("DELETE", "/images/{name*}", "pynet.api.images:remove"),
    ("POST", "/containers/{id}/attach", "pynet.api.attach:attach"),
    ("GET", "/containers/{id}/logs", "pynet.api.attach:logs"),
    ("POST", "/containers/{id}/resize", "pynet.api.attach:resize"),
    ("POST", "/containers/{id}/exec", "pynet.api.execs:create"),
    ("POST", "/exec/{id}/start", "pynet.api.execs:start"),
    ("POST", "/exec/{id}/resize", "pynet.api.execs:resize"),
    ("GET", "/exec/{id}/json", "pynet.api.execs:inspect"),
    ("GET", "/events", "pynet.api.events:events"),
]


class Route:
    """One compiled line of :data:`ROUTES`."""

    def __init__(self, method: str, pattern: str, target: str) -> None:
        self.method, self.pattern, self.target = method, pattern, target
        parts = []
        for seg in re.split(r"(\{[a-z_]+\*?\})", pattern):
            if seg.startswith("{"):
                name = seg.strip("{}*")
                parts.append(f"(?P<{name}>.+)" if seg.endswith("*}") else f"(?P<{name}>[^/]+)")
            else:
                parts.append(re.escape(seg))
        self.regex = re.compile("".join(parts) + r"/?\Z")

    def handler(self) -> Callable[[Request], Response]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


_COMPILED: list[Route] = []
#: (method, literal path) -> its route, for the routes the ordered scan would pick anyway
#: (no earlier route of that method matches the literal); rebuilt when _COMPILED is replaced
_EXACT: dict[tuple[str, str], Route] = {}
_exact_of: list[list[Route]] = []


def compiled() -> list[Route]:
    if not _COMPILED:
        _COMPILED.extend(Route(*line) for line in ROUTES)
    return _COMPILED


def _exact() -> dict[tuple[str, str], Route]:
    table = compiled()
    if not _exact_of or _exact_of[0] is not table:
        _EXACT.clear()
        for i, route in enumerate(table):
            if "{" in route.pattern or (route.method, route.pattern) in _EXACT:
                continue
            earlier = (r for r in table[:i] if r.method == route.method)
            if not any(r.regex.match(route.pattern) for r in earlier):
                _EXACT[(route.method, route.pattern)] = route
        _exact_of[:] = [table]
    return _EXACT


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` and its decoded params; None when nothing matches.

    Raises ``ApiError(405)`` when the path exists for another method only. A literal
    path (``/_ping``, ``/networks``: what ``docker network ls`` asks) is one dict lookup:
    the server answers while the client's caches are still cold (docs/engine-api.md).
    """
    exact = _exact().get((method, path))
    if exact is not None:
        return exact, {}
    from pynet.api.http import ApiError

    path_matched = False
    for route in compiled():
        m = route.regex.match(path)
        if m is None:
            continue
        if route.method == method:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
        path_matched = True
    if path_matched:
        raise ApiError(405, "method not allowed")
    return None

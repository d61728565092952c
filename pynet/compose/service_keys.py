"""One reader per service key pynet implements: ``READERS[key](parser, service, value, path)``.

A key missing here is warned about by the parser (``not supported by pynet, ignored``).
"""

from __future__ import annotations

import re

from pynet.compose.model import Service, ServiceNetwork

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.compose.schema import _Parser

_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")  # as ``run --name`` takes it


def _command(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.command = p.command(v, path)


def _entrypoint(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.entrypoint = p.command(v, path)


def _image(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.image = p.string(v, path)


def _container_name(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.container_name = p.string(v, path)
    # Checked here, not at ``up``: the plan would remove old containers before create failed.
    if s.container_name and not _CONTAINER_NAME.match(s.container_name):
        raise p.fail(path, f"Invalid container name ({s.container_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")


def _hostname(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.hostname = p.string(v, path)


def _domainname(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.domainname = p.string(v, path)


def _network_mode(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    from pynet.compose.schema import _NETWORK_MODES

    mode = p.string(v, path)
    if mode not in _NETWORK_MODES:
        raise p.fail(path, f'network_mode "{mode}" is not supported by pynet (host, none or bridge)')
    s.network_mode = mode


def _networks(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    if isinstance(v, list):
        keys = p.strings(v, path, single=False)
        for i, key in enumerate(keys):  # errors about an entry point at its list item
            p.src.marks.setdefault((*path, key), p.src.marks.get((*path, i), (1, 1)))
        s.networks = [ServiceNetwork(key=key) for key in keys]
    else:
        s.networks = [p.service_network(str(k), e, (*path, k)) for k, e in p.mapping(v, path).items()]


def _ports(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    if not isinstance(v, list):
        raise p.fail(path, "must be a list")
    s.ports = [p.port(item, (*path, i)) for i, item in enumerate(v)]


def _expose(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    if not isinstance(v, list):
        raise p.fail(path, "must be a list")
    s.expose = [p.expose(item, (*path, i)) for i, item in enumerate(v)]


def _dns(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.dns = [p.address(x, (*path, i), 6 if ":" in x else 4) for i, x in enumerate(p.strings(v, path))]


def _dns_search(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.dns_search = p.strings(v, path)


def _dns_opt(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.dns_opt = p.strings(v, path, single=False)


def _extra_hosts(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.extra_hosts = p.extra_hosts(v, path)


def _environment(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    """``KEY`` alone (list) or ``KEY:`` (map) takes the value from pynet's environment."""
    env: dict[str, str] = {}
    if isinstance(v, list):
        for i, item in enumerate(v):
            key, sep, value = p.string(item, (*path, i)).partition("=")
            if sep:
                env[key] = value
            elif key in p.environ:
                env[key] = p.environ[key]
    else:
        for key, value in p.mapping(v, path).items():
            if value is not None:
                env[key] = p.string(value, (*path, key))
            elif key in p.environ:
                env[key] = p.environ[key]
    s.environment = env


def _working_dir(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.working_dir = p.string(v, path)


def _labels(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.labels = p.dictionary(v, path)


def _depends_on(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    """A list, or a map whose ``condition`` pynet does not wait for (start order only)."""
    if isinstance(v, dict):
        for name, cond in v.items():
            p.warn_unknown(p.mapping(cond, (*path, name)), {"condition", "restart", "required"}, (*path, name))
        s.depends_on = [str(k) for k in v]
    else:
        s.depends_on = p.strings(v, path, single=False)


def _replicas(p: _Parser, v: Any, path: tuple) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise p.fail(path, "must be a non-negative integer")
    return v


def _deploy(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    data = p.mapping(v, path)
    p.warn_unknown(data, {"replicas"}, path)
    if "replicas" in data:
        s.replicas = _replicas(p, data["replicas"], (*path, "replicas"))


def _scale(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    s.replicas = _replicas(p, v, path)


READERS = {
    "image": _image,
    "entrypoint": _entrypoint,
    "command": _command,
    "container_name": _container_name,
    "hostname": _hostname,
    "domainname": _domainname,
    "network_mode": _network_mode,
    "networks": _networks,
    "ports": _ports,
    "expose": _expose,
    "dns": _dns,
    "dns_search": _dns_search,
    "dns_opt": _dns_opt,
    "extra_hosts": _extra_hosts,
    "environment": _environment,
    "working_dir": _working_dir,
    "labels": _labels,
    "depends_on": _depends_on,
    "scale": _scale,
    "deploy": _deploy,
}

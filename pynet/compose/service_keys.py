"""One reader per service key pynet implements: ``READERS[key](parser, service, value, path)``.

A key missing here is warned about by the parser (``not supported by pynet, ignored``).
"""

from __future__ import annotations

import os
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


#: ``env_file`` ``format:`` values: compose-go's default (its name ``.env``) and the Compose CLI's raw
_ENV_FILE_FORMATS = ("", ".env", "raw")


def _env_file(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    """``env_file``: a path or a list (the Compose spec's ``{path, required, format}`` too),
    relative to the project directory; later files win, ``environment`` wins over them all."""
    entries = v if isinstance(v, list) else [v]
    for i, entry in enumerate(entries):
        where = (*path, i) if isinstance(v, list) else path
        required, fmt = True, ""
        if isinstance(entry, dict):
            p.warn_unknown(entry, {"path", "required", "format"}, where)
            required = p.boolean(entry.get("required", True), (*where, "required"))
            if "format" in entry and not isinstance(entry["format"], str):
                raise p.fail((*where, "format"), "must be a string")
            fmt = entry.get("format", "")
            entry = entry.get("path")
            where = (*where, "path")
        name = p.string(entry, where)
        if not name:
            raise p.fail(where, "must be a path")
        _merge_env(p, s, _read_env_file(p, name, where, required, fmt))


def _read_env_file(p: _Parser, name: str, where: tuple, required: bool, fmt: str) -> dict[str, str | None]:
    from pynet.compose import envfile
    from pynet.compose.loader import ComposeFileError

    full = os.path.abspath(os.path.join(p.working_dir, os.path.expanduser(name)))
    text = envfile.read(full)
    if text is None:
        if required:
            raise ComposeFileError(f"Couldn't find env file: {full}")  # docker-compose 1.29's words
        return {}
    if fmt not in _ENV_FILE_FORMATS:  # judged where the file is read, as docker compose does
        raise p.fail((*where[:-1], "format"), f'unsupported env_file format "{fmt}": use raw, or leave it out')
    if fmt == "raw":
        raw = envfile.parse_raw(text, lambda problem: p.fail(where, f"invalid env file ({full}): {problem}"))
        # ``KEY`` alone: the environment's value, else nothing (docker's kvfile unsets nothing)
        return {k: v if v is not None else p.environ[k] for k, v in raw.items() if v is not None or k in p.environ}

    def skipped(line: int) -> None:
        p.warnings.append(
            f"WARNING: {full}: could not parse statement starting at line {line}, ignored ({p.src.where(where)})"
        )

    return envfile.parse(text, skipped)


def _merge_env(p: _Parser, s: Service, env: dict[str, str | None]) -> None:
    """``KEY`` without a value takes pynet's environment's, or unsets ``KEY`` (docker-compose
    shows it as ``null``: the container does not get it)."""
    for key, value in env.items():
        if value is None:
            value = p.environ.get(key)
        if value is None:
            s.environment.pop(key, None)
        else:
            s.environment[key] = value


def _environment(p: _Parser, s: Service, v: Any, path: tuple) -> None:
    """``KEY`` alone (list) or ``KEY:`` (map) takes the value from pynet's environment."""
    env: dict[str, str | None] = {}
    if isinstance(v, list):
        for i, item in enumerate(v):
            key, sep, value = p.string(item, (*path, i)).partition("=")
            env[key] = value if sep else None
    else:
        for key, value in p.mapping(v, path).items():
            env[key] = None if value is None else p.string(value, (*path, key))
    _merge_env(p, s, env)


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
    "env_file": _env_file,  # before environment, which overrides it
    "environment": _environment,
    "working_dir": _working_dir,
    "labels": _labels,
    "depends_on": _depends_on,
    "scale": _scale,
    "deploy": _deploy,
}

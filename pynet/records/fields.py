"""The records' fields as a table, and the type checks of a stored record (no dataclasses).

``pynet.records.model`` builds its dataclasses from stored dicts through :func:`checked`;
the read-only commands (``network ls``/``inspect``, ``ps``) read the same dicts as
:func:`document`s instead — the same checks and defaults, attribute access, but neither
``dataclasses`` nor ``re`` imported and no class generated (~6 ms a command; design.md,
"Start-up"). ``FIELDS`` mirrors the dataclasses; a unit test keeps the two equal.
"""

from __future__ import annotations

from types import SimpleNamespace

from pynet.errors import StateCorrupt

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

#: the built-in network ``run`` joins without ``--network`` (a network's name, not a driver's)
DEFAULT_NETWORK = "bridge"
#: Docker's NetworkMode of a container sharing the host's network stack (no sandbox)
HOST_MODE = "host"
#: Docker's NetworkMode of a container whose sandbox has only ``lo`` (no endpoint)
NONE_MODE = "none"
#: the modes whose containers have no endpoint (a driver declares one: ``container_mode``)
ENDPOINTLESS_MODES = (HOST_MODE, NONE_MODE)


class RecordInvalid(StateCorrupt):
    """A stored record whose fields do not have the types of its dataclass (the store's
    reader adds the file's name to the message)."""


def _any(v: Any) -> bool:
    return True


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


def _is_str_map_or_none(v: Any) -> bool:
    return v is None or _is_str_map(v)


def _is_map(v: Any) -> bool:
    return isinstance(v, dict)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


CHECKS = {
    "str": _is_str,
    "int": _is_int,
    "bool": _is_bool,
    "dict[str, str]": _is_str_map,
    "dict[str, str] | None": _is_str_map_or_none,
    "dict[str, Any]": _is_map,
    "list[str]": _is_str_list,
    "list[IPAMPool]": _is_list,
    "list[PortBinding]": _is_list,
    "list[Any]": _is_list,
}
_DESCRIBE = {
    _is_str: "a string",
    _is_int: "an integer",
    _is_bool: "true or false",
    _is_str_map: "an object of strings",
    _is_str_map_or_none: "an object of strings or null",
    _is_map: "an object",
    _is_str_list: "a list of strings",
    _is_list: "a list",
}
EMPTY = {_is_str: "", _is_int: 0, _is_bool: False}
#: record classes nested in a field of this type
NESTED = {"list[IPAMPool]": "IPAMPool", "list[PortBinding]": "PortBinding"}


def check_for(type_name: str) -> Any:
    """The check of a field declared with this (string) annotation."""
    return CHECKS.get(type_name, _any)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def checked(rows: list[tuple[Any, ...]], data: Any, build: Any, *, lenient: bool = False) -> dict[str, Any]:
    """The keyword arguments of a record from a stored dict (unknown keys ignored).

    Every known field must pass its check (RecordInvalid names the first that does not);
    ``lenient`` keeps what is well-typed and gives the rest its empty value. ``build(name,
    item)`` makes a nested record.
    """
    if not isinstance(data, dict):
        if not lenient:
            raise RecordInvalid(f"expected a JSON object, found {_json_type(data)}")
        data = {}
    kwargs: dict[str, Any] = {}
    for name, check, nested, required, empty in rows:
        if name not in data:
            if required and not lenient:
                raise RecordInvalid(f"field {name!r} is missing")
            if required:
                kwargs[name] = empty
            continue
        value = data[name]
        if not check(value):
            if not lenient:
                raise RecordInvalid(
                    f"field {name!r} should be {_DESCRIBE.get(check, 'another type')}, found {_json_type(value)}"
                )
            if required:
                kwargs[name] = empty
            continue
        if nested is not None:
            try:
                value = [build(nested, item) for item in value]
            except RecordInvalid as exc:
                raise RecordInvalid(f"in {name!r}: {exc}") from None
        kwargs[name] = value
    return kwargs


REQUIRED = object()  # a field without a default

#: every record's fields: (name, annotation, default or REQUIRED; ``list``/``dict``: a new one)
FIELDS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "IPAMPool": (
        ("subnet", "str", REQUIRED),
        ("gateway", "str", ""),
        ("ip_range", "str", ""),
        ("aux_addresses", "dict[str, str]", dict),
        ("user_configured", "bool", False),
        ("show_gateway", "bool", True),
    ),
    "Network": (
        ("id", "str", REQUIRED),
        ("name", "str", REQUIRED),
        ("driver", "str", REQUIRED),
        ("created", "str", REQUIRED),
        ("scope", "str", "local"),
        ("enable_ipv6", "bool", False),
        ("internal", "bool", False),
        ("attachable", "bool", False),
        ("ingress", "bool", False),
        ("ipam_driver", "str", "default"),
        ("ipam_options", "dict[str, str] | None", None),
        ("ipam_config", "list[IPAMPool]", list),
        ("options", "dict[str, str]", dict),
        ("labels", "dict[str, str]", dict),
        ("builtin", "bool", False),
        ("embedded_dns", "bool", True),
        ("driver_data", "dict[str, Any]", dict),
    ),
    "Endpoint": (
        ("id", "str", REQUIRED),
        ("network_id", "str", REQUIRED),
        ("container_id", "str", REQUIRED),
        ("name", "str", REQUIRED),
        ("ifname", "str", ""),
        ("ipv4", "str", ""),
        ("ipv6", "str", ""),
        ("gateway", "str", ""),
        ("gateway6", "str", ""),
        ("mac", "str", ""),
        ("aliases", "list[str]", list),
        ("ipam_request", "dict[str, str]", dict),
        ("driver_opts", "dict[str, str] | None", None),
        ("driver_data", "dict[str, Any]", dict),
        ("link", "dict[str, str]", dict),
    ),
    "PortBinding": (
        ("container_port", "int", REQUIRED),
        ("proto", "str", "tcp"),
        ("host_ip", "str", ""),
        ("host_port", "int", 0),
        ("host_port_end", "int", 0),
    ),
    "Container": (
        ("id", "str", REQUIRED),
        ("name", "str", REQUIRED),
        ("created", "str", REQUIRED),
        ("path", "str", REQUIRED),
        ("args", "list[str]", list),
        ("hostname", "str", ""),
        ("domainname", "str", ""),
        ("network_mode", "str", "bridge"),
        ("sandbox_id", "str", ""),
        ("netns_path", "str", ""),
        ("endpoints", "dict[str, str]", dict),
        ("last_networks", "list[str]", list),
        ("status", "str", "created"),
        ("pid", "int", 0),
        ("exit_code", "int", 0),
        ("error", "str", ""),
        ("started_at", "str", "0001-01-01T00:00:00Z"),
        ("finished_at", "str", "0001-01-01T00:00:00Z"),
        ("auto_remove", "bool", False),
        ("detach", "bool", False),
        ("tty", "bool", False),
        ("interactive", "bool", False),
        ("env", "list[str]", list),
        ("workdir", "str", ""),
        ("rootfs", "str", ""),
        ("image", "str", ""),
        ("image_id", "str", ""),
        ("dns", "list[str]", list),
        ("dns_search", "list[str]", list),
        ("dns_options", "list[str]", list),
        ("extra_hosts", "list[str]", list),
        ("ports", "list[PortBinding]", list),
        ("publish_all", "bool", False),
        ("exposed", "list[str]", list),
        ("labels", "dict[str, str]", dict),
        ("supervisor_pid", "int", 0),
        ("pid_start", "int", 0),
        ("supervisor_start", "int", 0),
        ("requested_networks", "list[Any]", list),
        ("port_requests", "list[PortBinding]", list),
    ),
}

_ROWS: dict[str, tuple[list[tuple[Any, ...]], dict[str, Any]]] = {}


def _rows(name: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    if name not in _ROWS:
        rows = []
        for field, type_name, default in FIELDS[name]:
            check = check_for(type_name)
            rows.append((field, check, NESTED.get(type_name), default is REQUIRED, EMPTY.get(check)))
        _ROWS[name] = (rows, {f: d for f, _, d in FIELDS[name] if d is not REQUIRED})
    return _ROWS[name]


def document(name: str, data: Any) -> SimpleNamespace:
    """A stored record (``"Network"``, ``"Endpoint"``, ``"Container"``...) as read-only
    attributes: checked and completed with defaults as ``model.from_dict`` does it."""
    rows, defaults = _rows(name)
    kwargs = checked(rows, data, document)
    for field, default in defaults.items():
        if field not in kwargs:
            kwargs[field] = default() if default is list or default is dict else default
    return SimpleNamespace(**kwargs)

"""Go's data model in Python: missing values, structs, records, type names and truthiness."""

from __future__ import annotations


class _Missing:
    """Go's invalid ``reflect.Value``: a missing map key; prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


class Struct(dict):
    """A Go struct value (e.g. Docker's ``types.NetworkResource``), fields in order.

    A missing field is an error (``map has no entry for key "X"``, what Docker reports
    after its raw-JSON retry), except the ``omitempty`` fields of Docker's API types
    listed in ``zero_fields``, which read as their zero value as with Docker's structs.
    """

    zero_fields = {
        "IPRange": "",
        "Gateway": "",
        "AuxiliaryAddresses": {},
        "Peers": [],
        "Services": {},
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
    }


class Record(dict):
    """A Go struct value with methods, like Docker's ``ls`` contexts.

    Fields are the dict's items; ``methods`` maps a name to ``(callable,
    number_of_string_params)``. A missing field raises Go's ``can't evaluate field X in
    type <type_name>`` unless ``strict`` is false (then it behaves like a Go map with
    methods, e.g. Docker's table header context)."""

    __slots__ = ("type_name", "methods", "strict")

    def __init__(self, fields=(), *, type_name: str = "struct", methods=None, strict: bool = True) -> None:
        super().__init__(fields)
        self.type_name = type_name
        self.methods = methods or {}
        self.strict = strict


def _go_quote(s: str) -> str:
    """Go's ``strconv.Quote``."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif c < 0x20 or c == 0x7F:
            out.append(f"\\x{c:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")
    out.append('"')
    return "".join(out)


#: Fields of Docker's API types that are Go maps (user keys), not structs.
DOCKER_MAP_FIELDS = frozenset(
    (
        "Annotations",
        "AuxiliaryAddresses",
        "Containers",
        "Data",
        "DriverOpts",
        "EndpointsConfig",
        "ExposedPorts",
        "Labels",
        "Networks",
        "Options",
        "PortBindings",
        "Ports",
        "Services",
        "StorageOpt",
        "Subnets",
        "Sysctls",
        "Tmpfs",
        "Volumes",
    )
)


def _struct_like(d: dict) -> bool:
    return bool(d) and all(type(k) is str and k[:1].isascii() and k[:1].isupper() and k.isidentifier() for k in d)


def as_structs(obj, map_fields=DOCKER_MAP_FIELDS, _key: str | None = None):
    """A copy of JSON-like ``obj`` where dicts that stand for Go structs become
    :class:`Struct`: a dict is a struct unless it sits under a key in ``map_fields`` or
    its keys do not all look like exported Go field names (``Name``, ``IPAM``)."""
    if isinstance(obj, list):
        return [as_structs(e, map_fields) for e in obj]
    if isinstance(obj, dict) and not isinstance(obj, Record):
        vals = {k: as_structs(v, map_fields, k) for k, v in obj.items()}
        return Struct(vals) if _key not in map_fields and _struct_like(obj) else vals
    return obj


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=str)


def _gotype(v) -> str:
    if v is None or v is MISSING:
        return "interface {}"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Record):
        return v.type_name
    if isinstance(v, Struct):
        return "struct"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]string" if v and all(type(e) is str for e in v) else "[]interface {}"
    return type(v).__name__


def _truth(v) -> bool:
    if v is None or v is MISSING:
        return False
    if isinstance(v, (Record, Struct)):
        return True
    if isinstance(v, (bool, int, float, str, list, tuple, dict)):
        return bool(v)
    return True

"""JSON for the read-only commands without the ``json`` package (design.md, "Start-up").

``json`` imports ``re`` (with ``enum``: ~5 ms a command) for a whitespace regex and a
number regex its pure-Python fallbacks need; CPython's C accelerator ``_json`` does the
real work of both directions. :func:`loads` drives ``_json``'s scanner with the settings
``json.loads`` gives it, so it returns the same objects and raises the same
``json.JSONDecodeError`` (whatever is not plain JSON is parsed again by ``json.loads``,
which raises its own error with its own message). :func:`dumps` writes what ``json.dumps(obj, indent=...,
ensure_ascii=False, default=str)`` writes (a unit test compares them on generated documents),
:func:`dumps_sorted` what ``json.dumps(obj, sort_keys=True, separators=(",", ":"))`` writes
(the state's files), with the same C encoder.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # JSON's, as json.decoder's WHITESPACE regex
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Settings:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder()`` (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _json.make_scanner(_Settings())


def loads(text: str) -> Any:
    """``json.loads(text)`` for a str."""
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # noqa: BLE001 - not plain JSON: json.loads below raises its own error
        # (_json raises json.decoder's JSONDecodeError only once json is loaded, else a
        # SystemError; StopIteration when there is no value at all)
        value, end = None, -1
    if end < 0 or text[end:].strip(_WHITESPACE):
        import json

        return json.loads(text)
    return value


def _key(key: object) -> str:
    # json.dumps's rules for keys that are not strings (skipkeys=False)
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, float):
        return _float(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _encode(value: object, indent: str | None, level: int, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_json.encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple)):
        _sequence(value, indent, level, out)
    elif isinstance(value, dict):
        _mapping(value, indent, level, out)
    else:
        _encode(str(value), indent, level, out)  # default=str


def _sequence(items: list | tuple, indent: str | None, level: int, out: list[str]) -> None:
    if not items:
        out.append("[]")
        return
    inner = "\n" + indent * (level + 1) if indent is not None else ""
    out.append("[")
    for i, item in enumerate(items):
        out.append(("," if i else "") + inner)
        _encode(item, indent, level + 1, out)
    out.append("\n" + indent * level + "]" if indent is not None else "]")


def _mapping(obj: dict, indent: str | None, level: int, out: list[str]) -> None:
    if not obj:
        out.append("{}")
        return
    inner = "\n" + indent * (level + 1) if indent is not None else ""
    colon = ": " if indent is not None else ":"
    out.append("{")
    for i, (key, item) in enumerate(obj.items()):
        out.append(("," if i else "") + inner + _json.encode_basestring(_key(key)) + colon)
        _encode(item, indent, level + 1, out)
    out.append("\n" + indent * level + "}" if indent is not None else "}")


def dumps(value: object, indent: str | None = None) -> str:
    """``json.dumps(value, indent=indent, ensure_ascii=False, default=str)``, with
    ``separators=(",", ":")`` when ``indent`` is None (Docker's compact form)."""
    out: list[str] = []
    _encode(value, indent, 0, out)
    return "".join(out)


def _refuse(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps_sorted(value: object) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))``, by the C encoder that
    ``json.dumps`` drives with those settings (raises TypeError for what JSON cannot hold)."""
    # a fresh markers dict per call: one left behind by a failed call would see cycles
    encode = _json.make_encoder({}, _refuse, _json.encode_basestring_ascii, None, ":", ",", True, False, True)
    return "".join(encode(value, 0))

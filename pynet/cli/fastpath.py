"""The click-free fast path: parse a well-formed invocation of a frequent command.

Parses argv with the generated table in ``pynet.cli.commands_spec`` and calls the same
command body click would; anything it is not sure about returns None and goes to click,
so it can only be faster, never different (design.md, "The fast path").
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

from pynet.cli.commands_spec import ALIASES, COMMANDS, GROUPS


def _command_key(args: list[str]) -> tuple[str, int] | None:
    """("network create", 2) for ["network", "create", ...]; None if not a known command."""
    if not args:
        return None
    if args[0] in GROUPS:
        if len(args) < 2:
            return None
        key = f"{args[0]} {args[1]}"
        return ALIASES.get(key, key), 2
    return args[0], 1


def _convert(value: str, kind: str) -> Any:
    return int(value) if kind == "int" else value


def parse(spec: dict[str, Any], args: list[str]) -> dict[str, Any] | None:
    """Parameters for the command body, exactly as click would pass them; None to defer."""
    options: dict[str, tuple[str, str, str]] = spec["options"]
    params: dict[str, Any] = dict(spec["defaults"])
    multi: dict[str, list[Any]] = {}
    positionals: list[str] = []
    only_positionals = False
    i = 0
    try:
        while i < len(args):
            token = args[i]
            i += 1
            if only_positionals or token[:1] != "-" or token == "-":
                positionals.append(token)
                only_positionals = only_positionals or not spec["interspersed"]
                continue
            name, eq, value = token.partition("=") if token[:2] == "--" else (token, "", "")
            found = options.get(name)
            if found is None:  # --help, --, unknown, bundled (-it) or attached (-dfoo)
                return None
            dest, kind, vtype = found
            if kind == "flag":
                if eq:
                    return None
                params[dest] = True
                continue
            if not eq:
                if i >= len(args) or args[i][:1] == "-":
                    return None  # missing value, or one that looks like a flag: click decides
                value = args[i]
                i += 1
            if kind == "multiple":
                multi.setdefault(dest, []).append(_convert(value, vtype))
            else:
                params[dest] = _convert(value, vtype)
        for dest, values in multi.items():
            params[dest] = tuple(values)
        return _arguments(spec["arguments"], positionals, params)
    except ValueError:
        return None


def _arguments(
    arguments: list[tuple[str, int, bool, str]], given: list[str], params: dict[str, Any]
) -> dict[str, Any] | None:
    """Spread positionals over the declared arguments (a variadic one comes last)."""
    rest = list(given)
    for dest, nargs, required, vtype in arguments:
        if nargs == -1:
            if required and not rest:
                return None
            params[dest] = tuple(_convert(v, vtype) for v in rest)
            rest = []
        elif rest:
            params[dest] = _convert(rest.pop(0), vtype)
        elif required:
            return None
        else:
            params[dest] = None
    return None if rest else params


def resolve(args: list[str]) -> Callable[[], Any] | None:
    """A ready-to-run call of the command body for ``args``, or None (let click do it)."""
    found = _command_key(args)
    if found is None:
        return None
    key, used = found
    spec = COMMANDS.get(key)
    if spec is None:
        return None
    params = parse(spec, args[used:])
    if params is None:
        return None
    from pynet.cli.base import load

    body = load(spec["action"])
    return lambda: body(**params)

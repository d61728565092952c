"""Finding and reading a Compose file: YAML with line/column marks, ``${VAR}`` interpolation.

The only importer of pyyaml besides ``config`` rendering (read-only commands never load
it). Values come back as plain Python (dict/list/str/int/bool/None) together with a map
from each value's path (``("services", "app", "ports", 0)``) to its 1-based (line, column),
so the model can name the place of any bad value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

#: Compose's search order for the default file (compose-spec, "Compose file").
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class ComposeFileError(InvalidArgument):
    """A Compose file that cannot be used: one line naming file, line and column."""

    def __init__(self, message: str) -> None:
        super().__init__(message, from_daemon=False)


@dataclass
class Source:
    """One loaded Compose file: its data and where each value was written."""

    path: str
    data: dict[str, Any]
    #: (line, column), or (line, column, file) in files merged from several (compose/merge.py)
    marks: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)  # the files merged into this one, in order

    def where(self, path: tuple[Any, ...]) -> str:
        """``file:line:column`` of the value at ``path`` (or of its nearest parent)."""
        while path and path not in self.marks:
            path = path[:-1]
        line, col, *file = self.marks.get(path, (1, 1))
        return f"{file[0] if file else self.path}:{line}:{col}"

    def error(self, path: tuple[Any, ...], message: str) -> ComposeFileError:
        """The one error line for a bad value at ``path``."""
        return ComposeFileError(f"{self.where(path)}: {dotted(path)}: {message}" if path else message)


def dotted(path: tuple[Any, ...]) -> str:
    """``services.app.ports[0]``: a path as the user would look for it in the file."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def find_file(explicit: str, cwd: str) -> str:
    """The Compose file to read: ``-f FILE`` or the first default name present in ``cwd``."""
    if explicit:
        if explicit != "-" and not os.path.isfile(explicit):
            raise ComposeFileError(f"open {os.path.abspath(explicit)}: no such file or directory")
        return explicit
    for name in DEFAULT_FILES:
        path = os.path.join(cwd, name)
        if os.path.isfile(path):
            return os.path.relpath(path) if os.path.abspath(cwd) == os.getcwd() else path
    raise ComposeFileError("no configuration file provided: not found")


def environment(files: Sequence[str], cwd: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a project is read with (``COMPOSE_FILE``, ``COMPOSE_PROJECT_NAME``,
    ``COMPOSE_PATH_SEPARATOR`` and interpolation): ``.env`` under ``environ``, which wins.
    The ``.env`` is docker-compose 1.29's: in the directory of the first ``-f`` file, else of
    the first file of ``$COMPOSE_FILE`` as ``environ`` has it, else in ``cwd`` (so a
    ``COMPOSE_FILE`` set by that ``.env`` does not move it)."""
    first = (list(files) or files_from_env(environ) or [""])[0]
    directory = cwd if first == "-" else os.path.join(cwd, os.path.dirname(first))
    return {**dotenv(directory), **environ}


def files_from_env(environ: Mapping[str, str]) -> list[str]:
    """``$COMPOSE_FILE``: paths joined by ``$COMPOSE_PATH_SEPARATOR`` (default ``:``)."""
    joined = environ.get("COMPOSE_FILE", "")
    return [p for p in joined.split(environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep) if p] if joined else []


def project_name(raw: str) -> str:
    """A project name normalised as Compose does: lower case, only ``[a-z0-9_-]``, starting
    with a letter or digit (compose-go's ``NormalizeProjectName``)."""
    name = re.sub(r"[^a-z0-9_-]", "", raw.lower())
    return name.lstrip("_-")


def load(path: str, environ: dict[str, str]) -> Source:
    """Parse ``path`` (``-``: stdin) with a safe loader; interpolate ``${VAR}`` from ``environ``."""
    import yaml

    try:
        if path == "-":
            import sys

            text = sys.stdin.buffer.read().decode("utf-8")  # bytes: a bad byte is a decode error here
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposeFileError(f"{path}: {exc}") from None
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_cls)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(path, exc) from None
    except yaml.YAMLError as exc:
        raise ComposeFileError(f"{path}: {exc}") from None
    source = Source(path=path, data={})
    if node is None:
        raise ComposeFileError(f"{path}: empty compose file")
    value = _Converter(source, environ).convert(node, ())
    if not isinstance(value, dict):
        raise ComposeFileError(f"{path}:1:1: top-level object must be a mapping")
    source.data = value
    return source


def _yaml_error(path: str, exc: Any) -> ComposeFileError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
    problem = exc.problem or exc.context or "invalid YAML"
    return ComposeFileError(f"{where}: {problem}")


MAX_NODES = 200_000  # values after anchors expand; real Compose files have a few thousand


class _Converter:
    """yaml nodes -> Python values, recording marks; merge keys (``<<``) and anchors work."""

    def __init__(self, source: Source, environ: dict[str, str]) -> None:
        import yaml

        self.yaml = yaml
        self.source = source
        self.environ = environ
        self.scalars = yaml.constructor.SafeConstructor()
        self.budget = MAX_NODES

    def convert(self, node: Any, path: tuple[Any, ...]) -> Any:
        yaml = self.yaml
        self.budget -= 1
        if self.budget < 0:  # aliases expand here: nested ones grow exponentially ("billion laughs")
            raise ComposeFileError(f"{self.source.path}: yaml: document contains excessive aliasing")
        self.source.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            value = self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # an unknown tag (``!custom``): its problem, without the 2nd "in" line
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ComposeFileError(f"{self.source.where(path)}: {problem}") from None
        if isinstance(value, str):
            return interpolate(value, self.environ, lambda msg: self.source.error(path, msg))
        if not isinstance(value, (int, float, bool, type(None))):
            return str(value)  # timestamps and binary: Compose reads them as text
        return value

    def _mapping(self, node: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        try:
            self.scalars.flatten_mapping(node)  # merge keys: `<<: *defaults`
        except self.yaml.YAMLError as exc:
            raise ComposeFileError(f"{self.source.where(path)}: {exc}") from None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.scalars.construct_object(key_node, deep=True)
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            if key in out:
                line = self.source.marks[child][0]
                raise ComposeFileError(
                    f"{self.source.path}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}: "
                    f'mapping key "{key}" already defined at line {line}'
                )
            self.source.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.convert(value_node, child)
        return out


_VAR = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\{))")  # 4: a ``${`` never closed
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def interpolate(text: str, environ: dict[str, str], fail: Any) -> str:
    """Compose's variable substitution: ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
    ``${VAR-default}``, ``${VAR:?error}``, ``${VAR:+alt}``; ``$$`` is a literal ``$``."""
    if "$" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        if m.group(3):
            return environ.get(m.group(3), "")
        if m.group(4):
            raise fail(f'invalid interpolation format for "{text}"')
        braced = _BRACED.match(m.group(2))
        if braced is None:
            raise fail(f'invalid interpolation format for "{text}"')
        name, op, arg = braced.groups()
        value = environ.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if empty else value  # type: ignore[return-value]
        if op in ("?", ":?"):
            if empty:
                raise fail(f"required variable {name} is missing a value: {arg}")
            return value  # type: ignore[return-value]
        if op in ("+", ":+"):
            return "" if empty else arg
        return value or ""

    return _VAR.sub(one, text)


def dotenv(directory: str) -> dict[str, str]:
    """The variables of ``.env`` in the project directory (Compose reads it for
    interpolation; the process environment wins over it), parsed as ``env_file:`` is:
    docker-compose 1.29 reads both with python-dotenv. A ``KEY`` alone sets nothing."""
    from pynet.compose import envfile

    text = envfile.read(os.path.join(directory, ".env"))
    if text is None:
        return {}
    return {k: v for k, v in envfile.parse(text, lambda _line: None).items() if v is not None}

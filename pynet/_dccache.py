"""Compiled dataclass methods, kept between commands like bytecode (design.md, "Start-up").

``@dataclass`` writes the source text of each class's ``__init__``, ``__repr__``,
``__eq__``... and compiles it when the class is defined: 0.2-1 ms a class, ~5 ms of the
CPU of a ``run``. The code compiled depends on nothing but that text, so it is kept in
``pynet/__pycache__/dataclass-code.<cache tag>.bin`` (each record appended by the command
that compiled it; ``python -m pynet._dccache`` writes every one, as ``compileall`` writes
bytecode) and dataclasses' ``exec`` is handed the code instead of the text. The file
starts with the interpreter's bytecode magic number; a missing, foreign or torn file
only means compiling as dataclasses does, and a torn or oversized one is started again.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from types import ModuleType

_MAX_BYTES = 4 << 20  # records of classes that no longer exist pile up: start again beyond
_HEAD = 8  # a record: total length, text length (4 bytes each), the text, the marshalled code
_data = b""  # the file as read
_index: dict[bytes, tuple[int, int]] = {}  # text -> where its code is in _data (unmarshalled on use)
_write = not sys.dont_write_bytecode  # as for .pyc files (``main`` writes regardless)


def _path() -> str:
    return os.path.join(os.path.dirname(__file__), "__pycache__", f"dataclass-code.{sys.implementation.cache_tag}.bin")


def _magic() -> bytes:
    return bytes(sys.modules["_frozen_importlib_external"].MAGIC_NUMBER)


def install(dataclasses: object) -> None:
    """Give the ``dataclasses`` module (just imported) the kept code; called once."""
    _load()
    # dataclasses calls the builtin ``exec`` by its global name: a module global shadows it.
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    dataclasses.re = sys.modules["re"]  # type: ignore[attr-defined]  # (not re_at_import's)


# -- dataclasses' one regex, without `re` ---------------------------------------------------
#: what dataclasses matches a string annotation against (``_MODULE_IDENTIFIER_RE``), to tell
#: ``InitVar``/``ClassVar`` apart, for every field of every class here: pynet's annotations
#: are all strings. Compiling it at dataclasses' import would load ``re`` (with ``enum``),
#: ~14 M instructions a command, for this alone (design.md, "Start-up").
MODULE_IDENTIFIER = r"^(?:\s*(\w+)\s*\.)?\s*(\w+)"


class _Identifier:
    """The match of :data:`MODULE_IDENTIFIER` (``group`` is all dataclasses asks of it)."""

    def __init__(self, text: str, module: tuple[int, int] | None, name: tuple[int, int]) -> None:
        self._text, self._spans = text, ((0, name[1]), module, name)

    def group(self, index: int = 0) -> str | None:
        span = self._spans[index]
        return None if span is None else self._text[span[0] : span[1]]


def _space_end(text: str, i: int) -> int:  # \s*
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _word_end(text: str, i: int) -> int:  # \w* (re's \w for str: alphanumeric or "_")
    while i < len(text) and (text[i].isalnum() or text[i] == "_"):
        i += 1
    return i


class ModuleIdentifierPattern:
    """:data:`MODULE_IDENTIFIER` compiled by hand: ``match`` as ``re`` matches it."""

    pattern = MODULE_IDENTIFIER

    @staticmethod
    def match(text: str) -> _Identifier | None:
        start = _space_end(text, 0)
        end = _word_end(text, start)
        if end == start:
            return None
        dot = _space_end(text, end)
        if dot < len(text) and text[dot] == ".":  # `module . name`, when a name follows
            name = _space_end(text, dot + 1)
            name_end = _word_end(text, name)
            if name_end > name:
                return _Identifier(text, (start, end), (name, name_end))
        return _Identifier(text, None, (start, end))


def _compile(pattern: str, flags: int = 0) -> object:
    if pattern == MODULE_IDENTIFIER and not flags:
        return ModuleIdentifierPattern()
    from pynet._deferred import _real

    return _real("re").compile(pattern, flags)


def re_at_import() -> ModuleType:
    """What ``import re`` gives dataclasses at its import: :class:`ModuleIdentifierPattern`
    for its regex, the real ``re`` for anything else."""
    from pynet._deferred import DeferredModule

    stand_in = DeferredModule("re")
    stand_in.compile = _compile  # type: ignore[attr-defined]
    return stand_in


def _exec(source: object, globals: dict | None = None, locals: dict | None = None) -> None:  # noqa: A002
    if isinstance(source, str):
        key = source.encode()
        where = _index.get(key)
        if where is not None:
            source = marshal.loads(_data[where[0] : where[1]])
        else:
            # dont_inherit: compiled as dataclasses' own exec would (no __future__ of ours)
            source = compile(source, "<string>", "exec", dont_inherit=True)
            if _write:
                _keep(key, source)
    exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated methods


def _load() -> None:
    global _data
    try:
        with open(_path(), "rb") as f:
            # read() sized by the file: read(_MAX_BYTES) would fault in a 4 MiB buffer first
            data = f.read() if os.fstat(f.fileno()).st_size <= _MAX_BYTES else b""
    except OSError:
        return
    magic = _magic()
    if not data.startswith(magic):
        _discard()
        return
    pos, end = len(magic), len(data)
    while pos < end:
        total = int.from_bytes(data[pos : pos + 4], "little")
        text_len = int.from_bytes(data[pos + 4 : pos + _HEAD], "little")
        if total < _HEAD + text_len or pos + total > end:  # torn by a kill, or two first writers
            _index.clear()
            _discard()
            return
        _index[data[pos + _HEAD : pos + _HEAD + text_len]] = (pos + _HEAD + text_len, pos + total)
        pos += total
    _data = data


def _keep(text: bytes, code: object) -> None:
    """Append one record (one write: appends of concurrent commands do not interleave)."""
    body = marshal.dumps(code)
    record = (_HEAD + len(text) + len(body)).to_bytes(4, "little") + len(text).to_bytes(4, "little") + text + body
    try:
        fd = os.open(_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:  # not ours to write (an installed pynet run by a user): compile each time
        return
    try:
        if os.fstat(fd).st_size == 0:
            record = _magic() + record
        os.write(fd, record)
    except OSError:
        pass  # a full disk: the next command compiles again
    finally:
        os.close(fd)


def _discard() -> None:
    try:
        os.unlink(_path())
    except OSError:
        pass


def main() -> None:
    """Import every pynet module that defines dataclasses, keeping their code."""
    import importlib
    import pkgutil

    import pynet
    from pynet import _dccache  # the module the import hook uses (this one runs as __main__)

    _dccache._write = True
    os.makedirs(os.path.dirname(_path()), exist_ok=True)
    for mod in pkgutil.walk_packages(pynet.__path__, "pynet."):
        if mod.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError:
            pass  # an optional dependency (e.g. pyyaml for compose) is missing


if __name__ == "__main__":
    main()

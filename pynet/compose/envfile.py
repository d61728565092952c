"""``env_file:`` of a Compose service: ``.env``-style files read as docker-compose 1.29 does.

docker-compose 1.29 reads them with python-dotenv and no interpolation: ``KEY=VALUE``,
``export KEY=VALUE``, ``KEY`` alone (its value then comes from the environment, else the
key is unset), ``#`` comments (whole lines, or after whitespace in an unquoted value),
``'single'`` (literal) and ``"double"`` (backslash escapes) quotes. A line it cannot parse
is skipped with a warning, as python-dotenv does. The Compose spec's ``format: raw`` takes
values literally instead (:func:`parse_raw`).
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

# One statement, as python-dotenv's parser reads it (its regexes, joined).
_STATEMENT = re.compile(
    r"""[^\S\r\n]*(?:export[^\S\r\n]+)?
    (?:'(?P<qkey>[^']*)'|(?P<key>[^=\#\s]+))
    [^\S\r\n]*
    (?:=[^\S\r\n]*
        (?:'(?P<single>(?:\\'|[^'])*)'|"(?P<double>(?:\\"|[^"])*)"|(?P<bare>(?!['"])[^\r\n]*))
    )?
    (?P<eol>[^\S\r\n]*(?:\#[^\r\n]*)?(?:\r\n|\n|\r|$))""",
    re.X,
)
_BLANK_OR_COMMENT = re.compile(r"[^\S\r\n]*(?:\#[^\r\n]*)?(?:\r\n|\n|\r)|\s+$")
_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_ESCAPED = {"\\\\": "\\", "\\'": "'", '\\"': '"', "\\a": "\a", "\\b": "\b", "\\f": "\f", "\\n": "\n"}
_ESCAPED |= {"\\r": "\r", "\\t": "\t", "\\v": "\v"}


def parse(text: str, warn: Callable[[int], None]) -> dict[str, str | None]:
    """``KEY -> value`` (None: ``KEY`` alone); ``warn(line)`` for each statement skipped."""
    out: dict[str, str | None] = {}
    pos, line = 0, 1
    text = text.removeprefix("\ufeff")  # docker-compose opens them as utf-8-sig
    while pos < len(text):
        blank = _BLANK_OR_COMMENT.match(text, pos)
        m = None if blank else _STATEMENT.match(text, pos)
        if blank:
            end = blank.end()
        elif m is not None and (m.group("eol") or m.end() == len(text)):
            out[m.group("qkey") if m.group("qkey") is not None else m.group("key")] = _value(m)
            end = m.end()
        else:
            warn(line)
            newline = text.find("\n", pos)
            end = len(text) if newline < 0 else newline + 1
        line += text.count("\n", pos, end)
        pos = end
    return out


def _value(m: re.Match[str]) -> str | None:
    if m.group("single") is not None:
        return m.group("single").replace("\\'", "'").replace("\\\\", "\\")
    if m.group("double") is not None:
        return _ESCAPES.sub(lambda e: _ESCAPED[e.group(0)], m.group("double"))
    if m.group("bare") is not None:
        return re.sub(r"\s+#.*", "", m.group("bare")).rstrip()
    return None


def parse_raw(text: str, fail: Callable[[str], Exception]) -> dict[str, str | None]:
    """``format: raw`` (Compose spec): read as ``docker run --env-file`` reads a file (docker
    28's kvfile): ``KEY=VALUE`` with the value exactly as written (quotes, ``$``, ``#``
    and trailing blanks kept), ``KEY`` alone (None), ``#`` comment lines; leading blanks
    are dropped. A key with a blank in it, or a line without a key, raises ``fail(Docker's
    words)``."""
    out: dict[str, str | None] = {}
    for raw in text.removeprefix("\ufeff").split("\n"):
        line = raw.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key:
            raise fail(f"no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise fail(f"variable '{key}' contains whitespaces")
        out[key] = value if sep else None
    return out


def read(path: str) -> str | None:
    """The file's text, or None when there is no such (readable) file."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None

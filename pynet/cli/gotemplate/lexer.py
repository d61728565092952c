"""Go's ``text/template/parse`` lexer: template text to ``(type, value, pos, line)`` tokens."""

from __future__ import annotations

from pynet.cli.gotemplate.values import _go_quote


_SPACES = " \t\r\n"
_KEYWORDS = frozenset(("block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"))


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _urune(c: str) -> str:
    """Go's ``%#U``: ``U+0023 '#'``."""
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


class _LexStop(Exception):
    pass


class _Lexer:
    """Turns template text into tokens ``(type, value, pos, line)`` like Go's lexer."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.toks: list[tuple] = []
        self.paren = 0

    def run(self) -> list[tuple]:
        try:
            self._lex()
        except _LexStop:
            pass
        return self.toks

    def _emit(self, typ: str, val: str, pos: int) -> None:
        self.toks.append((typ, val, pos, 1 + self.src.count("\n", 0, pos)))

    def _error(self, msg: str, pos: int):
        self._emit("error", msg, pos)
        raise _LexStop

    def _skip_spaces(self, i: int) -> int:
        while i < len(self.src) and self.src[i] in _SPACES:
            i += 1
        return i

    def _at_right(self, i: int) -> tuple[bool, bool]:
        """(at a right delimiter, with a `` -`` trim marker)."""
        src = self.src
        if i + 1 < len(src) and src[i] in _SPACES and src[i + 1] == "-" and src.startswith("}}", i + 2):
            return True, True
        return src.startswith("}}", i), False

    def _at_terminator(self, i: int) -> bool:
        return i >= len(self.src) or self.src[i] in _SPACES or self.src[i] in ".,|:()" or self.src.startswith("}}", i)

    def _lex(self) -> None:
        src, n, i = self.src, len(self.src), 0
        while True:
            j = src.find("{{", i)
            if j < 0:
                if i < n:
                    self._emit("text", src[i:], i)
                break
            trim = src.startswith("-", j + 2) and j + 3 < n and src[j + 3] in _SPACES
            text = src[i:j].rstrip(_SPACES) if trim else src[i:j]
            if text:
                self._emit("text", text, i)
            k = j + (4 if trim else 2)
            if src.startswith("/*", k):
                i = self._comment(k)
                continue
            self._emit("{{", "{{", j)
            i = self._inside(k)
        self._emit("eof", "", n)

    def _comment(self, k: int) -> int:
        end = self.src.find("*/", k + 2)
        if end < 0:
            self._error("unclosed comment", k)
        delim, trim = self._at_right(end + 2)
        if not delim:
            self._error("comment ends before closing delimiter", end + 2)
        i = end + 2 + (4 if trim else 2)
        return self._skip_spaces(i) if trim else i

    def _inside(self, i: int) -> int:
        src, n = self.src, len(self.src)
        while True:
            delim, trim = self._at_right(i)
            if delim:
                if self.paren:
                    self._error("unclosed left paren", i)
                i += 2 if trim else 0
                self._emit("}}", "}}", i)
                return self._skip_spaces(i + 2) if trim else i + 2
            if i >= n:
                self._error("unclosed action", i)
            i = self._action_token(src, n, i)

    def _action_token(self, src: str, n: int, i: int) -> int:
        c = src[i]
        if c in _SPACES:
            j = self._skip_spaces(i)
            if src.startswith("-}}", j):  # the last space belongs to the trim marker
                j -= 1
                if j == i:
                    return i
            self._emit("space", src[i:j], i)
            return j
        if c in "=|(),":
            if c == "(":
                self.paren += 1
            self._emit("c" if c == "," else c, c, i)
            if c == ")":
                self.paren -= 1
                if self.paren < 0:
                    self._error(f"unexpected right paren {_urune(c)}", i)
            return i + 1
        if c == ":":
            if not src.startswith(":=", i):
                self._error("expected :=", i)
            self._emit(":=", ":=", i)
            return i + 2
        if c == '"' or c == "'":
            return self._quote(i, c)
        if c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                self._error("unterminated raw quoted string", i)
            self._emit("rawstr", src[i : j + 1], i)
            return j + 1
        if c == "$":
            return self._field_or_var(i, "var")
        if c == "." and not (i + 1 < n and "0" <= src[i + 1] <= "9"):
            return self._field_or_var(i, "field")
        if c in "+-." or "0" <= c <= "9":
            return self._number(i)
        if _is_alnum(c):
            return self._ident(i)
        if c.isascii() and c.isprintable():
            self._emit("c", c, i)
            return i + 1
        self._error(f"unrecognized character in action: {_urune(c)}", i)

    def _quote(self, i: int, q: str) -> int:
        src, n, j = self.src, len(self.src), i + 1
        while True:
            c = src[j] if j < n else ""
            if c == "\\" and j + 1 < n and src[j + 1] != "\n":
                j += 2
                continue
            if c in ("", "\n", "\\"):
                what = "quoted string" if q == '"' else "character constant"
                self._error(f"unterminated {what}", j)
            j += 1
            if c == q:
                break
        self._emit("str" if q == '"' else "char", src[i:j], i)
        return j

    def _field_or_var(self, i: int, typ: str) -> int:
        if self._at_terminator(i + 1):
            self._emit("var" if typ == "var" else "dot", self.src[i], i)
            return i + 1
        j = i + 1
        while j < len(self.src) and _is_alnum(self.src[j]):
            j += 1
        if not self._at_terminator(j):
            self._error(f"bad character {_urune(self.src[j])}", j)
        self._emit(typ, self.src[i:j], i)
        return j

    def _ident(self, i: int) -> int:
        j = i
        while j < len(self.src) and _is_alnum(self.src[j]):
            j += 1
        if not self._at_terminator(j):
            self._error(f"bad character {_urune(self.src[j])}", j)
        word = self.src[i:j]
        typ = "kw" if word in _KEYWORDS else "bool" if word in ("true", "false") else "ident"
        self._emit(typ, word, i)
        return j

    def _number(self, i: int) -> int:
        src, n = self.src, len(self.src)
        j = i + (1 if src[i] in "+-" else 0)
        digits = "0123456789_"
        if src.startswith("0", j):
            j += 1
            pre = src[j : j + 1].lower()
            if pre and pre in "xob":
                digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[pre]
                j += 1

        def run(j: int, chars: str) -> int:
            while j < n and src[j] in chars:
                j += 1
            return j

        j = run(j, digits)
        if src.startswith(".", j):
            j = run(j + 1, digits)
        exp = "eE" if len(digits) == 11 else "pP" if len(digits) == 23 else ""
        if exp and j < n and src[j] in exp:
            j += 2 if src[j + 1 : j + 2] in ("+", "-") else 1
            j = run(j, "0123456789_")
        if j < n and (_is_alnum(src[j]) or src[j] in "+-"):
            self._error(f"bad number syntax: {_go_quote(src[i : j + 1])}", i)
        self._emit("num", src[i:j], i)
        return j

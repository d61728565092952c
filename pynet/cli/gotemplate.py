"""A compact interpreter for the part of Go's ``text/template`` that Docker users type.

``docker ... --format '{{...}}'`` runs a Go template over the listed objects; pynet
accepts the same strings. This module follows Go's own lexer/parser/executor
(``text/template/parse`` and ``exec.go``) closely so that output *and error messages*
match: ``template: :1: function "foo" not defined``, ``template: :1:2: executing ""
at <.Foo>: map has no entry for key "Foo"`` and so on.

Supported: text, ``{{.A.B}}``, ``{{.}}``, ``$`` and ``$x`` variables (``:=`` and ``=``),
pipelines ``|``, parentheses with field chains ``(index .X 0).Y``, literals (strings
``"..."`` with Go escapes, raw strings, chars, numbers, ``true``/``false``/``nil``),
``if``/``else if``/``else``, ``with``/``else with``, ``range`` (lists, maps in sorted key
order, ints; ``else``; ``break``/``continue``), comments and the ``{{-``/``-}}`` trim markers.
Functions: Go's built-ins (``and or not len index slice print printf println eq ne lt
le gt ge html js urlquery call``) and Docker's (``json split join title lower upper pad
truncate``). ``define``/``template``/``block`` are not supported.

Data model: Python values stand for Go values. ``dict`` is a Go map (printed
``map[k:v]`` with sorted keys, sorted in ``json``; a missing key gives ``<no value>``),
``list`` a slice (``[a b]``), ``None`` a JSON null. :class:`Struct` is a Go struct, like
Docker's typed inspect structs: it prints ``{v1 v2}``, keeps its key order in ``json``
and a missing field is an error; :func:`as_structs` marks the structs of an inspect
object. :class:`Record` is a Go struct with methods, like Docker's
``*network.networkContext`` behind ``ls --format``: a missing field is an error and
``methods`` take arguments (``{{.Label "env"}}``).

Only the standard library is used and nothing heavy is imported: this runs on the
read-only ``ls``/``inspect`` paths.
"""

from __future__ import annotations

from pynet.errors import InvalidArgument

__all__ = [
    "BUILTINS", "DOCKER_MAP_FIELDS", "HEADER_FUNCS", "MISSING", "Record", "Struct", "Template",
    "TemplateError", "as_structs", "compile", "render", "go_json", "go_print",
]


class TemplateError(InvalidArgument):
    """A Go template failed to parse or execute.

    ``message`` is what Docker prints (``Template parsing error: template: :1: ...``),
    ``go_error`` the bare Go error (``template: :1: ...``). ``output`` holds text that
    was produced before the failure and that Docker still prints (``inspect``). The
    message is printed as is, without an ``Error:`` prefix, like Docker's CLI does.
    """

    from_daemon = False

    def __init__(self, message: str, *, go_error: str | None = None, output: str = "",
                 exit_code: int | None = None) -> None:
        super().__init__(message, from_daemon=False)
        self.go_error = message if go_error is None else go_error
        self.output = output
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        return self.message


class _Missing:
    """Go's invalid ``reflect.Value``: a missing map key; prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()
_NOFINAL = object()  # no value piped in from a previous pipeline stage


class Struct(dict):
    """A Go struct value (e.g. Docker's ``types.NetworkResource``), fields in order.

    A missing field is an error (``map has no entry for key "X"``, what Docker reports
    after its raw-JSON retry), except the ``omitempty`` fields of Docker's API types
    listed in ``zero_fields``, which read as their zero value as with Docker's structs.
    """

    zero_fields = {"IPRange": "", "Gateway": "", "AuxiliaryAddresses": {}, "Peers": [],
                   "Services": {}, "IPAMConfig": None, "Links": None, "Aliases": None}


class Record(dict):
    """A Go struct value with methods, like Docker's ``ls`` contexts.

    Fields are the dict's items; ``methods`` maps a name to ``(callable,
    number_of_string_params)``. A missing field raises Go's ``can't evaluate field X in
    type <type_name>`` unless ``strict`` is false (then it behaves like a Go map with
    methods, e.g. Docker's table header context)."""

    __slots__ = ("type_name", "methods", "strict")

    def __init__(self, fields=(), *, type_name: str = "struct", methods=None,
                 strict: bool = True) -> None:
        super().__init__(fields)
        self.type_name = type_name
        self.methods = methods or {}
        self.strict = strict


class _GoError(Exception):
    pass


class _CallError(Exception):
    pass


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


# --------------------------------------------------------------------------- lexer

_SPACES = " \t\r\n"
_KEYWORDS = frozenset(
    ("block", "break", "continue", "define", "else", "end", "if", "range", "nil",
     "template", "with"))


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
        if i + 1 < len(src) and src[i] in _SPACES and src[i + 1] == "-" \
                and src.startswith("}}", i + 2):
            return True, True
        return src.startswith("}}", i), False

    def _at_terminator(self, i: int) -> bool:
        return i >= len(self.src) or self.src[i] in _SPACES or self.src[i] in ".,|:()" \
            or self.src.startswith("}}", i)

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
            self._emit("rawstr", src[i:j + 1], i)
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
            pre = src[j:j + 1].lower()
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
            j += 2 if src[j + 1:j + 2] in ("+", "-") else 1
            j = run(j, "0123456789_")
        if j < n and (_is_alnum(src[j]) or src[j] in "+-"):
            self._error(f"bad number syntax: {_go_quote(src[i:j + 1])}", i)
        self._emit("num", src[i:j], i)
        return j


# --------------------------------------------------------------------------- nodes

class _Node:
    __slots__ = ("pos",)


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos, text):
        self.pos, self.text = pos, text


class _Field(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos, idents):
        self.pos, self.idents = pos, idents

    def __str__(self):
        return "".join("." + i for i in self.idents)


class _Variable(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos, idents):
        self.pos, self.idents = pos, idents

    def __str__(self):
        return ".".join(self.idents)


class _Ident(_Node):
    __slots__ = ("name",)

    def __init__(self, pos, name):
        self.pos, self.name = pos, name

    def __str__(self):
        return self.name


class _Literal(_Node):
    """``.``, ``nil``, bools, numbers and strings; ``text`` is the source form."""

    __slots__ = ("kind", "text", "value", "is_int")

    def __init__(self, pos, kind, text, value=None, is_int=False):
        self.pos, self.kind, self.text, self.value, self.is_int = pos, kind, text, value, is_int

    def __str__(self):
        return self.text


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos):
        self.pos, self.decl, self.is_assign, self.cmds = pos, [], False, []

    def __str__(self):
        s = ", ".join(self.decl) + (" = " if self.is_assign else " := ") if self.decl else ""
        return s + " | ".join(str(c) for c in self.cmds)


class _Chain(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos, node, fields):
        self.pos, self.node, self.fields = pos, node, fields

    def __str__(self):
        head = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return head + "".join("." + f for f in self.fields)


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos):
        self.pos, self.args = pos, []

    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, _Pipe) else str(a) for a in self.args)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos, pipe):
        self.pos, self.pipe = pos, pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class _Control(_Node):
    """``if``/``with``/``range`` (``kind``), and the ``break``/``continue`` statements."""

    __slots__ = ("kind", "pipe", "list", "else_list")

    def __init__(self, pos, kind, pipe=None, lst=None, else_list=None):
        self.pos, self.kind, self.pipe, self.list, self.else_list = \
            pos, kind, pipe, lst, else_list

    def __str__(self):
        return "{{" + self.kind + (" " + str(self.pipe) if self.pipe else "") + "}}"


class _Marker(_Node):
    """``{{else}}`` and ``{{end}}`` while parsing."""

    __slots__ = ("kind",)

    def __init__(self, pos, kind):
        self.pos, self.kind = pos, kind

    def __str__(self):
        return "{{" + self.kind + "}}"


# --------------------------------------------------------------------------- parser

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}


def _unquote(text: str) -> str:
    """Go's ``strconv.Unquote`` for "...", `...` and '.' literals."""
    q, body = text[0], text[1:-1]
    if q == "`":
        return body.replace("\r", "")
    out, i, n = [], 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            if c == q:
                raise ValueError
            out.append(c)
            i += 1
            continue
        e = body[i + 1:i + 2]
        if e in _ESCAPES and (e not in "'\"" or e == q):
            out.append(_ESCAPES[e])
            i += 2
        elif e in ("x", "u", "U"):
            size = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(body[i + 2:i + 2 + size], 16)))
            if len(body[i + 2:i + 2 + size]) != size:
                raise ValueError
            i += 2 + size
        elif e and e in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError
    s = "".join(out)
    if q == "'" and len(s) != 1:
        raise ValueError
    return s


def _parse_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 0, 64)`` (raises ValueError)."""
    t, sign = text.replace("_", ""), 1
    if t[:1] in ("+", "-"):
        sign, t = (-1 if t[0] == "-" else 1), t[1:]
    low = t[:2].lower()
    if low in ("0x", "0o", "0b"):
        return sign * int(t[2:], {"0x": 16, "0o": 8, "0b": 2}[low])
    if len(t) > 1 and t[0] == "0":
        return sign * int(t[1:], 8)
    return sign * int(t, 10)


class _Parser:
    """Go's ``text/template/parse`` for the supported subset."""

    def __init__(self, src: str, funcs) -> None:
        self.toks = _Lexer(src).run()
        self.funcs = funcs
        self.i = 0
        self.line = 1
        self.action_line = 0
        self.vars = ["$"]
        self.range_depth = 0

    # token stream
    def next(self):
        t = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        self.line = t[3]
        return t

    def backup(self):
        self.i -= 1

    def peek(self):
        t = self.next()
        self.backup()
        return t

    def next_non_space(self):
        t = self.next()
        while t[0] == "space":
            t = self.next()
        return t

    def peek_non_space(self):
        t = self.next_non_space()
        self.backup()
        return t

    def errorf(self, msg: str):
        raise _GoError(f"template: :{self.line}: {msg}")

    def unexpected(self, tok, context: str):
        if tok[0] == "error":
            extra = ""
            if self.action_line and self.action_line != tok[3]:
                extra = f" in action started at :{self.action_line}"
                if tok[1].endswith(" action"):
                    extra = extra[len(" in action"):]
            self.errorf(tok[1] + extra)
        self.errorf(f"unexpected {_tok_str(tok)} in {context}")

    def expect(self, typ: str, context: str):
        tok = self.next_non_space()
        if tok[0] != typ:
            self.unexpected(tok, context)
        return tok

    # structure
    def parse(self) -> list:
        root = []
        while self.peek()[0] != "eof":
            n = self.text_or_action()
            if isinstance(n, _Marker):
                self.errorf(f"unexpected {n}")
            root.append(n)
        return root

    def item_list(self):
        lst = []
        while self.peek_non_space()[0] != "eof":
            n = self.text_or_action()
            if isinstance(n, _Marker):
                return lst, n
            lst.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self):
        tok = self.next_non_space()
        if tok[0] == "text":
            return _Text(tok[2], tok[1])
        if tok[0] == "{{":
            self.action_line = tok[3]
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(tok, "input")

    def action(self):
        tok = self.next_non_space()
        if tok[0] == "kw" and tok[1] != "nil":
            kw = tok[1]
            if kw in ("if", "with", "range"):
                return self.control(kw)
            if kw in ("break", "continue"):
                t = self.next_non_space()
                if t[0] != "}}":
                    self.unexpected(t, "{{" + kw + "}}")
                if not self.range_depth:
                    self.errorf(f"{{{{{kw}}}}} outside {{{{range}}}}")
                return _Control(tok[2], kw)
            if kw == "else":
                peek = self.peek_non_space()
                if peek[0] == "kw" and peek[1] in ("if", "with"):
                    return _Marker(peek[2], "else")
                return _Marker(self.expect("}}", "else")[2], "else")
            if kw == "end":
                return _Marker(self.expect("}}", "end")[2], "end")
            self.errorf(f"{{{{{kw}}}}} is not supported by pynet")
        self.backup()
        tok = self.peek()
        return _Action(tok[2], self.pipeline("command", "}}"))

    def control(self, kind: str) -> _Control:
        nvars = len(self.vars)
        pipe = self.pipeline(kind, "}}")
        self.range_depth += kind == "range"
        lst, nxt = self.item_list()
        self.range_depth -= kind == "range"
        else_list = None
        if nxt.kind == "else":
            peek = self.peek()
            if kind != "range" and peek[0] == "kw" and peek[1] == kind:
                self.next()  # {{else if ...}} == {{else}}{{if ...}}...{{end}}{{end}}
                else_list = [self.control(kind)]
            else:
                else_list, nxt = self.item_list()
                if nxt.kind != "end":
                    self.errorf(f"expected end; found {nxt}")
        del self.vars[nvars:]
        return _Control(pipe.pos, kind, pipe, lst, else_list)

    def pipeline(self, context: str, end: str) -> _Pipe:
        pipe = _Pipe(self.peek_non_space()[2])
        self.declarations(pipe, context)
        while True:
            tok = self.next_non_space()
            if tok[0] == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok[0] in ("bool", "char", "dot", "field", "ident", "num", "str", "rawstr",
                          "var", "(") or tok[:2] == ("kw", "nil"):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def declarations(self, pipe: _Pipe, context: str) -> None:
        while self.peek_non_space()[0] == "var":
            save = self.i
            v = self.next()
            nxt = self.peek_non_space()
            if nxt[0] in ("=", ":="):
                pipe.is_assign = nxt[0] == "="
                self.next_non_space()
                pipe.decl.append(v[1])
                self.vars.append(v[1])
                return
            if nxt[:2] == ("c", ","):
                self.next_non_space()
                pipe.decl.append(v[1])
                self.vars.append(v[1])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in ("var", "}}", ")"):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            self.i = save
            return

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], _Literal):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space()[2])
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            tok = self.next()
            if tok[0] == "space":
                continue
            if tok[0] in ("}}", ")"):
                self.backup()
            elif tok[0] != "|":
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self):
        node = self.term()
        if node is None or self.peek()[0] != "field":
            return node
        pos, fields = self.peek()[2], []
        while self.peek()[0] == "field":
            fields.append(self.next()[1][1:])
        if isinstance(node, _Field):
            return _Field(pos, node.idents + fields)
        if isinstance(node, _Variable):
            return _Variable(pos, node.idents + fields)
        if isinstance(node, _Literal):
            self.errorf(f"unexpected . after term {_go_quote(str(node))}")
        return _Chain(pos, node, fields)

    def term(self):
        tok = self.next_non_space()
        typ, val, pos = tok[0], tok[1], tok[2]
        if typ == "ident":
            if val not in self.funcs:
                self.errorf(f"function {_go_quote(val)} not defined")
            return _Ident(pos, val)
        if typ == "dot":
            return _Literal(pos, "dot", ".")
        if tok[:2] == ("kw", "nil"):
            return _Literal(pos, "nil", "nil")
        if typ == "var":
            if val not in self.vars:
                self.errorf(f"undefined variable {_go_quote(val)}")
            return _Variable(pos, [val])
        if typ == "field":
            return _Field(pos, [val[1:]])
        if typ == "bool":
            return _Literal(pos, "bool", val, val == "true")
        if typ in ("char", "num"):
            return self.number(tok)
        if typ == "(":
            return self.pipeline("parenthesized pipeline", ")")
        if typ in ("str", "rawstr"):
            try:
                return _Literal(pos, "string", val, _unquote(val))
            except (ValueError, IndexError):
                self.errorf("invalid syntax")
        self.backup()
        return None

    def number(self, tok) -> _Literal:
        text = tok[1]
        try:
            if tok[0] == "char":
                return _Literal(tok[2], "number", text, ord(_unquote(text)), True)
            try:
                return _Literal(tok[2], "number", text, _parse_int(text), True)
            except ValueError:
                low = text.replace("_", "").lower()
                val = float.fromhex(low) if "0x" in low else float(low)
                # Go: an integral float (1e3) also works where an int is expected
                return _Literal(tok[2], "number", text, val, val.is_integer())
        except (ValueError, IndexError, OverflowError):
            self.errorf(f"illegal number syntax: {_go_quote(text)}")


def _tok_str(tok) -> str:
    """Go's ``item.String()`` used in ``unexpected X in Y`` messages."""
    typ, val = tok[0], tok[1]
    if typ == "eof":
        return "EOF"
    if typ in ("kw", "dot"):
        return f"<{val}>"
    if len(val) > 10:
        return _go_quote(val[:10]) + "..."
    return _go_quote(val)


# --------------------------------------------------------------------------- values

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
DOCKER_MAP_FIELDS = frozenset((
    "Annotations", "AuxiliaryAddresses", "Containers", "Data", "DriverOpts",
    "EndpointsConfig", "ExposedPorts", "Labels", "Networks", "Options", "PortBindings",
    "Ports", "Services", "StorageOpt", "Subnets", "Sysctls", "Tmpfs", "Volumes"))


def _struct_like(d: dict) -> bool:
    return bool(d) and all(
        type(k) is str and k[:1].isascii() and k[:1].isupper() and k.isidentifier()
        for k in d)


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


def _digits(x: float) -> tuple[str, int]:
    """Shortest decimal digits of x > 0 and the decimal point: x = 0.DIGITS * 10**dp."""
    r = repr(x)
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + ("" if fp == "0" else fp)
    dp = len(ip) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return (stripped.rstrip("0") or "0"), dp


def _float_e(digits: str, dp: int) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _float_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _go_float(x: float, fmt: str = "g") -> str:
    """Go's shortest float formatting: ``%v`` (fmt "g") or encoding/json (fmt "json")."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if str(x).startswith("-") else "0"
    sign, (digits, dp) = ("-" if x < 0 else ""), _digits(abs(x))
    if fmt == "json":
        use_e = abs(x) < 1e-6 or abs(x) >= 1e21
        s = _float_e(digits, dp) if use_e else _float_f(digits, dp)
        return sign + (s[:-2] + s[-1] if use_e and s[-3:-1] == "-0" else s)
    exp = dp - 1  # %v: %e when the exponent is < -4 or >= 6 (shortest precision)
    return sign + (_float_e(digits, dp) if exp < -4 or exp >= 6 else _float_f(digits, dp))


def _fmt_v(v) -> str:
    """Go's ``fmt.Sprint(v)`` for one value."""
    if v is None:
        return "<nil>"
    if v is MISSING:
        return "<no value>"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(_fmt_v(e) for e in v) + "]"
    if isinstance(v, Struct):
        return "{" + " ".join(_fmt_v(e) for e in v.values()) + "}"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{_fmt_v(k)}:{_fmt_v(v[k])}" for k in _sorted_keys(v)) + "]"
    return str(v)


def go_print(v) -> str:
    """How ``{{.}}`` prints ``v``: Go's default formatting; nil/missing is ``<no value>``."""
    return "<no value>" if v is None else _fmt_v(v)


_JSON_ESC = {chr(c): f"\\u{c:04x}" for c in range(0x20)}
_JSON_ESC.update({'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                  "\b": "\\b", "\f": "\\f", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_JSON_TABLE = str.maketrans(_JSON_ESC)
_HTML_TABLE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _json_str(s: str) -> str:
    return '"' + s.translate(_JSON_TABLE) + '"'


def _json_items(d: dict, keep: bool):
    if (keep or isinstance(d, Struct)) and not isinstance(d, Record):
        return list(d.items())
    return [(k, d[k]) for k in _sorted_keys(d)]


def _json_enc(v, out: list, keep: bool, ind: str | None, level: int) -> None:
    if v is None or v is MISSING:
        out.append("null")
    elif v is True or v is False:
        out.append("true" if v else "false")
    elif isinstance(v, str):
        out.append(_json_str(v))
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(_go_float(v, "json"))
    elif isinstance(v, (dict, list, tuple)):
        is_map = isinstance(v, dict)
        items = _json_items(v, keep) if is_map else v
        if not items:
            out.append("{}" if is_map else "[]")
            return
        out.append("{" if is_map else "[")
        pad = "\n" + ind * (level + 1) if ind is not None else ""
        for i, item in enumerate(items):
            out.append("," + pad if i else pad)
            if is_map:
                out.append(_json_str(str(item[0])) + (": " if ind is not None else ":"))
                item = item[1]
            _json_enc(item, out, keep, ind, level + 1)
        out.append(("\n" + ind * level if ind is not None else "") + ("}" if is_map else "]"))
    else:
        out.append(_json_str(str(v)))


def go_json(v, *, indent: str | None = None, keep_order: bool = False,
            html: bool = False) -> str:
    """Go's ``encoding/json`` output for ``v``: maps (dicts, :class:`Record`) get sorted
    keys, :class:`Struct` keeps its order; ``keep_order`` keeps every dict's order (to
    re-emit a daemon's JSON as is). ``html`` escapes ``<>&`` like Go's default encoder.
    """
    out: list[str] = []
    _json_enc(v, out, keep_order, indent, 0)
    s = "".join(out)
    return s.translate(_HTML_TABLE) if html else s


def _truth(v) -> bool:
    if v is None or v is MISSING:
        return False
    if isinstance(v, (Record, Struct)):
        return True
    if isinstance(v, (bool, int, float, str, list, tuple, dict)):
        return bool(v)
    return True


# --------------------------------------------------------------------------- exec

_KIND_NAMES = {"s": "string", "i": "int", "l": "[]string"}


class _Exec:
    """Go's ``exec.go`` state: walks the tree, tracks the node for error messages."""

    __slots__ = ("src", "funcs", "node", "vars", "out")

    def __init__(self, src: str, funcs: dict, out: list) -> None:
        self.src, self.funcs, self.out = src, funcs, out
        self.node = None
        self.vars: list[list] = []

    def errorf(self, msg: str):
        if self.node is None:
            raise _GoError(f"template: : {msg}")
        before = self.src[:self.node.pos]
        nl = before.rfind("\n")
        col = len((before if nl < 0 else before[nl + 1:]).encode())
        ctx = str(self.node)
        if len(ctx.encode()) > 20:
            ctx = ctx[:20] + "..."
        raise _GoError(f'template: :{1 + before.count(chr(10))}:{col}: '
                       f'executing "" at <{ctx}>: {msg}')

    # variables
    def var_value(self, name: str):
        for var in reversed(self.vars):
            if var[0] == name:
                return var[1]
        self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value) -> None:
        for var in reversed(self.vars):
            if var[0] == name:
                var[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    # walking
    def walk_list(self, dot, nodes) -> None:
        for node in nodes:
            self.walk(dot, node)

    def walk(self, dot, node) -> None:
        self.node = node
        if type(node) is _Text:
            self.out.append(node.text)
        elif type(node) is _Action:
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                if callable(val):
                    self.errorf(f"can't print {node} of type func")
                self.out.append(go_print(val))
        elif node.kind == "range":
            self.walk_range(dot, node)
        elif node.kind == "break":
            raise _Break
        elif node.kind == "continue":
            raise _Continue
        else:
            self.walk_if_or_with(dot, node)

    def walk_if_or_with(self, dot, node: _Control) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            if _truth(val):
                self.walk_list(val if node.kind == "with" else dot, node.list)
            elif node.else_list is not None:
                self.walk_list(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot, r: _Control) -> None:
        self.node = r
        mark0 = len(self.vars)
        try:
            val = self.eval_pipeline(dot, r.pipe)
            ndecl = len(r.pipe.decl)
            pairs = self.range_pairs(val, ndecl)
            if not pairs:
                if r.else_list is not None:
                    self.walk_list(dot, r.else_list)
                return
            mark = len(self.vars)
            for index, elem in pairs:
                if ndecl:  # the last declared variable gets the element, the first the key
                    self.vars[mark - 1][1] = elem
                if ndecl > 1:
                    self.vars[mark - 2][1] = index
                try:
                    self.walk_list(elem, r.list)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    del self.vars[mark:]
        finally:
            del self.vars[mark0:]

    def range_pairs(self, val, ndecl: int) -> list:
        if isinstance(val, (list, tuple)):
            return list(enumerate(val))
        if isinstance(val, dict) and not isinstance(val, (Struct, Record)):
            return [(k, val[k]) for k in _sorted_keys(val)]
        if type(val) is int:
            if ndecl > 1:
                self.errorf(f"can't use {val} to iterate over more than one variable")
            return [(i, i) for i in range(val)]
        if val is MISSING or val is None:
            return []
        self.errorf(f"range can't iterate over {_fmt_v(val)}")

    # evaluation
    def eval_pipeline(self, dot, pipe: _Pipe):
        self.node = pipe
        value = _NOFINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:  # a nil interface{} becomes Go's invalid value
                value = MISSING
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        return value

    def not_a_function(self, args, final) -> None:
        if (args and len(args) > 1) or final is not _NOFINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, cmd: _Command, final):
        first = cmd.args[0]
        t = type(first)
        if t is _Field:
            return self.eval_field_node(dot, first, cmd.args, final)
        if t is _Chain:
            return self.eval_chain_node(dot, first, cmd.args, final)
        if t is _Ident:
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if t is _Pipe:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if t is _Variable:
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if first.kind == "dot":
            return dot
        if first.kind == "nil":
            self.errorf("nil is not a command")
        return first.value

    def eval_field_node(self, dot, field: _Field, args, final):
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain_node(self, dot, chain: _Chain, args, final):
        self.node = chain
        if isinstance(chain.node, _Literal) and chain.node.kind == "nil":
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable_node(self, dot, var: _Variable, args, final):
        self.node = var
        value = self.var_value(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        for ident in idents[:-1]:
            receiver = self.eval_field(dot, ident, node, None, _NOFINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot, name: str, node, args, final, receiver):
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        nargs = (len(args) - 1 if args else 0) + (final is not _NOFINAL)
        if isinstance(receiver, Record):
            method = receiver.methods.get(name)
            if method is not None:
                fn, nparams = method
                spec = (lambda _st, *a: fn(*a), "s" * nparams, None)
                return self.eval_call(dot, spec, node, name, args, final)
            if name in receiver:
                if nargs:
                    self.errorf(f"wrong number of args for {name}: want 0 got {nargs}")
                return receiver[name]
            if not receiver.strict:
                return MISSING
            self.errorf(f"can't evaluate field {name} in type {receiver.type_name}")
        if isinstance(receiver, Struct):
            if name not in receiver and name not in Struct.zero_fields:
                self.errorf(f"map has no entry for key {_go_quote(name)}")
            if nargs:
                self.errorf(f"{name} has arguments but cannot be invoked as function")
            return receiver.get(name, Struct.zero_fields.get(name))
        if isinstance(receiver, dict):
            if nargs:
                self.errorf(f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        self.errorf(f"can't evaluate field {name} in type {_gotype(receiver)}")

    def eval_function(self, dot, node: _Ident, cmd, args, final):
        self.node = node
        spec = self.funcs.get(node.name)
        if spec is None:
            self.errorf(f"{_go_quote(node.name)} is not a defined function")
        return self.eval_call(dot, spec, cmd, node.name, args, final)

    def eval_call(self, dot, spec, node, name: str, args, final):
        fn, fixed, variadic = spec
        argn = args[1:] if args else []
        num_in, nfixed = len(argn) + (final is not _NOFINAL), len(fixed)
        if variadic is not None:
            if num_in < nfixed:
                self.errorf(f"wrong number of args for {name}: want at least {nfixed} "
                            f"got {len(argn)}")
        elif num_in != nfixed:
            self.errorf(f"wrong number of args for {name}: want {nfixed} got {num_in}")
        if fn is _f_and or fn is _f_or:  # short-circuit, returning the deciding value
            v = MISSING
            for a in argn:
                v = self.eval_arg(dot, "v", a)
                if _truth(v) == (fn is _f_or):
                    return v
            return v if final is _NOFINAL else final
        argv = [self.eval_arg(dot, fixed[i] if i < nfixed else variadic, a)
                for i, a in enumerate(argn)]
        if final is not _NOFINAL:
            i = num_in - 1
            argv.append(self.validate(final, fixed[i] if i < nfixed else variadic))
        try:
            return fn(self, *argv)
        except _CallError as e:
            self.node = node
            self.errorf(f"error calling {name}: {e}")

    def eval_arg(self, dot, kind, n):
        """An argument's value, checked against the parameter kind: "s" string, "i"
        int, "l" []string, "a" interface{}, "v" reflect.Value, None unchecked."""
        self.node = n
        t = type(n)
        if t is _Field:
            return self.validate(self.eval_field_node(dot, n, [n], _NOFINAL), kind)
        if t is _Variable:
            return self.validate(self.eval_variable_node(dot, n, None, _NOFINAL), kind)
        if t is _Pipe:
            return self.validate(self.eval_pipeline(dot, n), kind)
        if t is _Ident:
            return self.validate(self.eval_function(dot, n, n, None, _NOFINAL), kind)
        if t is _Chain:
            return self.validate(self.eval_chain_node(dot, n, None, _NOFINAL), kind)
        if n.kind == "dot":
            return self.validate(dot, kind)
        if n.kind == "nil":
            if kind in _KIND_NAMES and kind != "l":
                self.errorf(f"cannot assign nil to {_KIND_NAMES[kind]}")
            return None
        if kind == "s" and n.kind != "string":
            self.errorf(f"expected string; found {n}")
        if kind == "i":
            if n.kind != "number" or not n.is_int:
                self.errorf(f"expected integer; found {n}")
            return int(n.value)
        if kind == "l":
            self.errorf(f"can't handle {n} for arg of type []string")
        return n.value

    def validate(self, value, kind):
        if kind is None or kind == "v":
            return value
        if value is MISSING:
            if kind == "a":
                return None
            self.errorf(f"invalid value; expected {_KIND_NAMES[kind]}")
        if kind == "a":
            return value
        if kind == "s":
            ok = isinstance(value, str)
        elif kind == "i":
            ok = type(value) is int
        else:
            ok = isinstance(value, (list, tuple)) and all(isinstance(e, str) for e in value)
        if not ok:
            self.errorf(f"wrong type for value; expected {_KIND_NAMES[kind]}; "
                        f"got {_gotype(value)}")
        return value


# --------------------------------------------------------------------------- functions
# Each takes the executor state first; a _CallError becomes "error calling NAME: ...".

def _f_and(st, *args):  # evaluated lazily in eval_call
    return args[-1]


def _f_or(st, *args):  # evaluated lazily in eval_call
    return args[-1]


def _f_not(st, v):
    return not _truth(v)


def _kind(v) -> str:
    if v is None or v is MISSING:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    return {float: "float", str: "string"}.get(type(v), "other")


def _f_eq(st, a, *rest):
    if not rest:
        raise _CallError("missing argument for comparison")
    ka = _kind(a)
    for b in rest:
        kb = _kind(b)
        if ka != kb:
            if "invalid" not in (ka, kb):
                raise _CallError("incompatible types for comparison")
        elif ka == "other" and (isinstance(a, (list, dict)) or isinstance(b, (list, dict))):
            raise _CallError(f"non-comparable type {_fmt_v(a)}: {_gotype(a)}")
        elif a == b or ka == "invalid":
            return True
    return False


def _f_ne(st, a, b):
    return not _f_eq(st, a, b)


def _f_lt(st, a, b):
    ka, kb = _kind(a), _kind(b)
    if ka not in ("int", "float", "string") or kb not in ("int", "float", "string"):
        raise _CallError("invalid type for comparison")
    if ka != kb:
        raise _CallError("incompatible types for comparison")
    return a < b


def _f_le(st, a, b):
    return _f_lt(st, a, b) or _f_eq(st, a, b)


def _f_gt(st, a, b):
    return not _f_le(st, a, b)


def _f_ge(st, a, b):
    return not _f_lt(st, a, b)


def _f_len(st, v):
    if v is None or v is MISSING:
        raise _CallError("len of nil pointer")
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, (list, tuple, dict)) and not isinstance(v, (Struct, Record)):
        return len(v)
    raise _CallError(f"len of type {_gotype(v)}")


def _index_of(i, size: int, what: str = "index") -> int:
    if type(i) is not int:
        raise _CallError(f"cannot index slice/array with type {_gotype(i)}")
    if i < 0 or i >= size:
        raise _CallError(f"{what} out of range: {i}")
    return i


def _f_index(st, item, *indexes):
    v = item
    for i in indexes:
        if v is None or v is MISSING:
            raise _CallError("index of untyped nil")
        if isinstance(v, str):
            v = v.encode()[_index_of(i, len(v.encode()))]
        elif isinstance(v, (list, tuple)):
            v = v[_index_of(i, len(v))]
        elif isinstance(v, dict) and not isinstance(v, (Struct, Record)):
            if not isinstance(i, str):
                raise _CallError(f"value has type {_gotype(i)}; should be string")
            # a missing key gives the zero value: "" for a map[string]string (Labels)
            zero = "" if all(type(e) is str for e in v.values()) else None
            v = v.get(i, zero)
        else:
            raise _CallError(f"can't index item of type {_gotype(v)}")
    return v


def _f_slice(st, item, *indexes):
    if item is None or item is MISSING:
        raise _CallError("slice of untyped nil")
    if not isinstance(item, (str, list, tuple)):
        raise _CallError(f"can't slice item of type {_gotype(item)}")
    if len(indexes) > 3 or (isinstance(item, str) and len(indexes) > 2):
        raise _CallError(f"too many slice indexes: {len(indexes)}")
    seq = item.encode() if isinstance(item, str) else item
    bounds = [_index_of(i, len(seq) + 1, "index") for i in indexes]
    if any(a > b for a, b in zip(bounds, bounds[1:])):
        raise _CallError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    lo = bounds[0] if bounds else 0
    hi = bounds[1] if len(bounds) > 1 else len(seq)
    out = seq[lo:hi]
    return out.decode(errors="replace") if isinstance(item, str) else list(out)


def _f_print(st, *args):
    out, prev_str = [], False
    for i, a in enumerate(args):
        is_str = isinstance(a, str)
        if i and not is_str and not prev_str:
            out.append(" ")
        out.append(_fmt_v(a))
        prev_str = is_str
    return "".join(out)


def _f_println(st, *args):
    return " ".join(_fmt_v(a) for a in args) + "\n"


def _f_printf(st, fmt, *args):
    return _sprintf(fmt, args)


def _text_arg(args) -> str:
    return args[0] if len(args) == 1 and isinstance(args[0], str) else _f_print(None, *args)


def _f_html(st, *args):
    s = _text_arg(args)
    for a, b in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"), (">", "&gt;"),
                 ("\0", "\ufffd")):
        s = s.replace(a, b)
    return s


def _f_js(st, *args):
    out = []
    for ch in _text_arg(args):
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch in "<>&=" or ord(ch) < 0x20 or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _f_urlquery(st, *args):
    from urllib.parse import quote_plus  # rare: keep it off the import path
    return quote_plus(_text_arg(args), safe="")


def _f_call(st, fn, *args):
    if fn is None or fn is MISSING:
        raise _CallError("call of nil")
    if not callable(fn):
        raise _CallError(f"non-function of type {_gotype(fn)}")
    return fn(*args)


def _f_json(st, v):
    return go_json(v, html=isinstance(v, Record))


def _f_split(st, s, sep):
    return list(s) if sep == "" else s.split(sep)


def _f_join(st, elems, sep):
    return sep.join(elems)


def _is_sep(c: str) -> bool:
    if c.isascii():
        return not (c.isalnum() or c == "_")
    return not (c.isalpha() or c.isdecimal()) and c.isspace()


def _f_title(st, s):
    out, prev = [], " "
    for c in s:
        up = c.upper() if _is_sep(prev) else c
        out.append(up if len(up) == 1 else c)
        prev = c
    return "".join(out)


def _f_lower(st, s):
    return s.lower()


def _f_upper(st, s):
    return s.upper()


def _f_pad(st, s, prefix, suffix):
    if prefix < 0 or suffix < 0:
        raise _CallError("strings: negative Repeat count")
    return s and " " * prefix + s + " " * suffix


def _f_truncate(st, s, length):
    if length < 0:
        raise _CallError(f"slice bounds out of range [:{length}]")
    return s if len(s) < length else s[:length]


def _f_header(st, v, *_):
    return v


#: name -> (function, fixed parameter kinds, variadic kind or None); see eval_arg.
BUILTINS = {
    "and": (_f_and, "v", "v"), "or": (_f_or, "v", "v"), "not": (_f_not, "v", None),
    "call": (_f_call, "v", "v"), "html": (_f_html, "", "a"), "js": (_f_js, "", "a"),
    "urlquery": (_f_urlquery, "", "a"), "index": (_f_index, "v", "v"),
    "slice": (_f_slice, "v", "v"), "len": (_f_len, "v", None),
    "print": (_f_print, "", "a"), "printf": (_f_printf, "s", "a"),
    "println": (_f_println, "", "a"), "eq": (_f_eq, "v", "v"), "ne": (_f_ne, "vv", None),
    "lt": (_f_lt, "vv", None), "le": (_f_le, "vv", None), "gt": (_f_gt, "vv", None),
    "ge": (_f_ge, "vv", None),
    # Docker's additions (docker/cli templates.basicFunctions)
    "json": (_f_json, "a", None), "split": (_f_split, "ss", None),
    "join": (_f_join, "ls", None), "title": (_f_title, "s", None),
    "lower": (_f_lower, "s", None), "upper": (_f_upper, "s", None),
    "pad": (_f_pad, "sii", None), "truncate": (_f_truncate, "si", None),
}

#: Docker's ``templates.HeaderFunctions``: rendering a table header keeps column names.
HEADER_FUNCS = {
    **BUILTINS,
    "json": (_f_header, "s", None), "split": (_f_header, "ss", None),
    "join": (_f_header, "ss", None), "title": (_f_header, "s", None),
    "lower": (_f_header, "s", None), "upper": (_f_header, "s", None),
    "truncate": (_f_header, "si", None),
}


# --------------------------------------------------------------------------- printf

def _pad(s: str, width, flags: str, numeric: bool = False) -> str:
    if not width or len(s) >= width:
        return s
    if "-" in flags:
        return s.ljust(width)
    if "0" in flags:
        if numeric and s[:1] in "+- ":
            return s[0] + s[1:].rjust(width - 1, "0")
        return s.rjust(width, "0")
    return s.rjust(width)


def _fmt_int(v: int, verb: str, flags: str, prec):
    sign = "-" if v < 0 else "+" if "+" in flags else " " if " " in flags else ""
    a = abs(v)
    if verb in "dv":
        body = str(a)
    elif verb in "bo":
        body = format(a, verb)
        body = ("0" + body if "#" in flags and verb == "o" else body)
    elif verb == "O":
        body = "0o" + format(a, "o")
    elif verb in "xX":
        body = ("0" + verb if "#" in flags else "") + format(a, verb)
    elif verb == "c":
        return chr(v)
    elif verb == "q":
        return "'" + _go_quote(chr(v))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
    elif verb == "U":
        return f"U+{v:04X}"
    else:
        return None
    if prec is not None:
        body = body.rjust(prec, "0")
    return sign + body


def _fmt_float(v: float, verb: str, flags: str, prec):
    if verb not in "vgGeEfF":
        return None
    if prec is None and verb in "vgG":
        s = _go_float(v)
        s = s.upper() if verb == "G" else s
    else:
        p = 6 if prec is None else prec
        s = format(v, f".{p}{'f' if verb == 'F' else verb}")
        s = s.replace("inf", "Inf").replace("nan", "NaN")
    if s[0] not in "+-" and ("+" in flags or " " in flags) and s != "NaN":
        s = ("+" if "+" in flags else " ") + s
    elif s == "Inf":
        s = "+Inf"
    return s


def _fmt_arg(a, verb: str, flags: str, width, prec) -> str:
    if a is None or a is MISSING:
        return _pad("<nil>", width, flags) if verb in "vT" else f"%!{verb}(<nil>)"
    if verb == "T":
        return _pad(_gotype(a), width, flags)
    numeric = False
    if isinstance(a, bool):
        s = ("true" if a else "false") if verb in "tv" else None
    elif isinstance(a, int):
        s, numeric = _fmt_int(a, verb, flags, prec), True
    elif isinstance(a, float):
        s, numeric = _fmt_float(a, verb, flags, prec), True
    elif isinstance(a, str):
        if verb in "sv":
            s = a if prec is None else a[:prec]
        elif verb == "q":
            s = f"`{a}`" if "#" in flags and "`" not in a else _go_quote(a)
        elif verb in "xX":
            s = a.encode().hex()
            s = s.upper() if verb == "X" else s
        else:
            s = None
    elif isinstance(a, (list, tuple)):
        return "[" + " ".join(_fmt_arg(e, verb, flags, width, prec) for e in a) + "]"
    elif isinstance(a, Struct):
        return "{" + " ".join(_fmt_arg(e, verb, flags, width, prec) for e in a.values()) + "}"
    elif isinstance(a, dict):
        return "map[" + " ".join(
            f"{_fmt_arg(k, verb, flags, width, prec)}:{_fmt_arg(a[k], verb, flags, width, prec)}"
            for k in _sorted_keys(a)) + "]"
    else:
        s = _fmt_v(a) if verb in "sv" else None
    if s is None:
        return f"%!{verb}({_gotype(a)}={_fmt_v(a)})"
    return _pad(s, width, flags, numeric)


def _sprintf(fmt: str, args) -> str:
    """Go's ``fmt.Sprintf`` for the common verbs (%v %s %q %d %x %f %e %g %t %c %T %%),
    with flags, width and precision, and Go's %!verb(...) markers for misuse."""
    out, i, n, argi = [], 0, len(fmt), 0

    def number(i: int, argi: int):
        if i < n and fmt[i] == "*":
            val = args[argi] if argi < len(args) else None
            return (val if type(val) is int else None), i + 1, argi + 1
        j = i
        while j < n and fmt[j].isdigit():
            j += 1
        return (int(fmt[i:j]) if j > i else None), j, argi

    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i, flags = j + 1, ""
        while i < n and fmt[i] in "+-# 0":
            flags, i = flags + fmt[i], i + 1
        width, i, argi = number(i, argi)
        prec = None
        if i < n and fmt[i] == ".":
            prec, i, argi = number(i + 1, argi)
            prec = prec or 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb, i = fmt[i], i + 1
        if verb == "%":
            out.append("%")
        elif argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_fmt_arg(args[argi], verb, flags, width, prec))
            argi += 1
    if argi < len(args):
        out.append("%!(EXTRA " + ", ".join(
            f"{_gotype(a)}={_fmt_v(a)}" for a in args[argi:]) + ")")
    return "".join(out)


# --------------------------------------------------------------------------- API

class Template:
    """A parsed template; :meth:`execute` renders it over one value."""

    __slots__ = ("source", "root")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.root = _Parser(source, BUILTINS).parse()
        except RecursionError:
            raise TemplateError("Template parsing error: template: : nested too deeply",
                                go_error="template: : nested too deeply") from None
        except _GoError as e:
            raise TemplateError(f"Template parsing error: {e}", go_error=str(e)) from None

    def execute(self, data, *, funcs: dict | None = None, partial: bool = False) -> str:
        """Render over ``data`` (``$`` and the initial ``.``).

        ``funcs`` replaces the function table (e.g. :data:`HEADER_FUNCS`); ``partial``
        returns what was rendered before an error instead of raising (as Docker does
        for table headers). Raises :class:`TemplateError`.
        """
        out: list[str] = []
        st = _Exec(self.source, BUILTINS if funcs is None else funcs, out)
        st.vars.append(["$", data])
        try:
            st.walk_list(data, self.root)
        except _GoError as e:
            if not partial:
                raise TemplateError(f"Template parsing error: {e}", go_error=str(e),
                                    output="".join(out)) from None
        except RecursionError:
            if not partial:
                raise TemplateError("Template parsing error: template: : nested too deeply",
                                    go_error="template: : nested too deeply",
                                    output="".join(out)) from None
        return "".join(out)


_CACHE: dict[str, Template] = {}


def compile(template: str) -> Template:  # noqa: A001 - mirrors re.compile
    """Parse ``template`` once (cached); raises :class:`TemplateError` like Go's
    ``template: :1: function "foo" not defined``, prefixed ``Template parsing error: ``."""
    tmpl = _CACHE.get(template)
    if tmpl is None:
        tmpl = Template(template)
        if len(_CACHE) >= 128:
            _CACHE.clear()
        _CACHE[template] = tmpl
    return tmpl


def render(template: str, data) -> str:
    """Render the Go template ``template`` over ``data``."""
    return compile(template).execute(data)

"""Go's ``text/template/parse`` parser for the supported subset, with Go's error messages."""

from __future__ import annotations

from pynet.cli.gotemplate.errors import _GoError
from pynet.cli.gotemplate.lexer import _Lexer
from pynet.cli.gotemplate.nodes import (
    _Action,
    _Chain,
    _Command,
    _Control,
    _Field,
    _Ident,
    _Literal,
    _Marker,
    _Pipe,
    _Text,
    _Variable,
)
from pynet.cli.gotemplate.values import _go_quote


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


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
        e = body[i + 1 : i + 2]
        if e in _ESCAPES and (e not in "'\"" or e == q):
            out.append(_ESCAPES[e])
            i += 2
        elif e in ("x", "u", "U"):
            size = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(body[i + 2 : i + 2 + size], 16)))
            if len(body[i + 2 : i + 2 + size]) != size:
                raise ValueError
            i += 2 + size
        elif e and e in "01234567":
            out.append(chr(int(body[i + 1 : i + 4], 8)))
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
                    extra = extra[len(" in action") :]
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
            if tok[0] in ("bool", "char", "dot", "field", "ident", "num", "str", "rawstr", "var", "(") or tok[:2] == (
                "kw",
                "nil",
            ):
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

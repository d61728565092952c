"""Parse-tree nodes; ``str(node)`` gives Go's ``String()`` form used in error messages."""

from __future__ import annotations


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
        self.pos, self.kind, self.pipe, self.list, self.else_list = pos, kind, pipe, lst, else_list

    def __str__(self):
        return "{{" + self.kind + (" " + str(self.pipe) if self.pipe else "") + "}}"


class _Marker(_Node):
    """``{{else}}`` and ``{{end}}`` while parsing."""

    __slots__ = ("kind",)

    def __init__(self, pos, kind):
        self.pos, self.kind = pos, kind

    def __str__(self):
        return "{{" + self.kind + "}}"

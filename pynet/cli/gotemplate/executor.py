"""Go's ``text/template`` ``exec.go``: walks the parse tree over a value, Go's messages."""

from __future__ import annotations

from pynet.cli.gotemplate.errors import _Break, _CallError, _Continue, _GoError
from pynet.cli.gotemplate.functions import _f_and, _f_or
from pynet.cli.gotemplate.nodes import (
    _Action,
    _Chain,
    _Command,
    _Control,
    _Field,
    _Ident,
    _Literal,
    _Pipe,
    _Text,
    _Variable,
)
from pynet.cli.gotemplate.printing import _fmt_v, go_print
from pynet.cli.gotemplate.values import (
    MISSING,
    Record,
    Struct,
    _go_quote,
    _gotype,
    _sorted_keys,
    _truth,
)


_NOFINAL = object()  # no value piped in from a previous pipeline stage
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
        before = self.src[: self.node.pos]
        nl = before.rfind("\n")
        col = len((before if nl < 0 else before[nl + 1 :]).encode())
        ctx = str(self.node)
        if len(ctx.encode()) > 20:
            ctx = ctx[:20] + "..."
        raise _GoError(f'template: :{1 + before.count(chr(10))}:{col}: executing "" at <{ctx}>: {msg}')

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
                self.errorf(f"wrong number of args for {name}: want at least {nfixed} got {len(argn)}")
        elif num_in != nfixed:
            self.errorf(f"wrong number of args for {name}: want {nfixed} got {num_in}")
        if fn is _f_and or fn is _f_or:  # short-circuit, returning the deciding value
            v = MISSING
            for a in argn:
                v = self.eval_arg(dot, "v", a)
                if _truth(v) == (fn is _f_or):
                    return v
            return v if final is _NOFINAL else final
        argv = [self.eval_arg(dot, fixed[i] if i < nfixed else variadic, a) for i, a in enumerate(argn)]
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
            self.errorf(f"wrong type for value; expected {_KIND_NAMES[kind]}; got {_gotype(value)}")
        return value

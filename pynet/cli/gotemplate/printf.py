"""Go's ``fmt.Sprintf`` for the ``printf`` template function."""

from __future__ import annotations

from pynet.cli.gotemplate.printing import _fmt_v, _go_float
from pynet.cli.gotemplate.values import MISSING, Struct, _go_quote, _gotype, _sorted_keys


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
        body = "0" + body if "#" in flags and verb == "o" else body
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
        return (
            "map["
            + " ".join(
                f"{_fmt_arg(k, verb, flags, width, prec)}:{_fmt_arg(a[k], verb, flags, width, prec)}"
                for k in _sorted_keys(a)
            )
            + "]"
        )
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
        out.append("%!(EXTRA " + ", ".join(f"{_gotype(a)}={_fmt_v(a)}" for a in args[argi:]) + ")")
    return "".join(out)

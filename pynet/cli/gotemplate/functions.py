"""Template functions: Go's built-ins and Docker's additions (``BUILTINS``, ``HEADER_FUNCS``).

Each takes the executor state first; a ``_CallError`` becomes "error calling NAME: ...".
"""

from __future__ import annotations

from pynet.cli.gotemplate.errors import _CallError
from pynet.cli.gotemplate.printf import _sprintf
from pynet.cli.gotemplate.printing import _fmt_v, go_json
from pynet.cli.gotemplate.values import MISSING, Record, Struct, _gotype, _truth


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
    for a, b in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"), (">", "&gt;"), ("\0", "\ufffd")):
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
    "and": (_f_and, "v", "v"),
    "or": (_f_or, "v", "v"),
    "not": (_f_not, "v", None),
    "call": (_f_call, "v", "v"),
    "html": (_f_html, "", "a"),
    "js": (_f_js, "", "a"),
    "urlquery": (_f_urlquery, "", "a"),
    "index": (_f_index, "v", "v"),
    "slice": (_f_slice, "v", "v"),
    "len": (_f_len, "v", None),
    "print": (_f_print, "", "a"),
    "printf": (_f_printf, "s", "a"),
    "println": (_f_println, "", "a"),
    "eq": (_f_eq, "v", "v"),
    "ne": (_f_ne, "vv", None),
    "lt": (_f_lt, "vv", None),
    "le": (_f_le, "vv", None),
    "gt": (_f_gt, "vv", None),
    "ge": (_f_ge, "vv", None),
    # Docker's additions (docker/cli templates.basicFunctions)
    "json": (_f_json, "a", None),
    "split": (_f_split, "ss", None),
    "join": (_f_join, "ls", None),
    "title": (_f_title, "s", None),
    "lower": (_f_lower, "s", None),
    "upper": (_f_upper, "s", None),
    "pad": (_f_pad, "sii", None),
    "truncate": (_f_truncate, "si", None),
}

#: Docker's ``templates.HeaderFunctions``: rendering a table header keeps column names.
HEADER_FUNCS = {
    **BUILTINS,
    "json": (_f_header, "s", None),
    "split": (_f_header, "ss", None),
    "join": (_f_header, "ss", None),
    "title": (_f_header, "s", None),
    "lower": (_f_header, "s", None),
    "upper": (_f_header, "s", None),
    "truncate": (_f_header, "si", None),
}

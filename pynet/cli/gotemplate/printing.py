"""Go's default value formatting (``fmt.Sprint``, ``{{.}}``) and ``encoding/json`` output."""

from __future__ import annotations

from pynet.cli.gotemplate.values import MISSING, Record, Struct, _sorted_keys


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
_JSON_ESC.update(
    {
        '"': '\\"',
        "\\": "\\\\",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
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


def go_json(v, *, indent: str | None = None, keep_order: bool = False, html: bool = False) -> str:
    """Go's ``encoding/json`` output for ``v``: maps (dicts, :class:`Record`) get sorted
    keys, :class:`Struct` keeps its order; ``keep_order`` keeps every dict's order (to
    re-emit a daemon's JSON as is). ``html`` escapes ``<>&`` like Go's default encoder.
    """
    out: list[str] = []
    _json_enc(v, out, keep_order, indent, 0)
    s = "".join(out)
    return s.translate(_HTML_TABLE) if html else s

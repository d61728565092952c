"""Docker-style output for ``ls``/``ps``/``inspect``: tables, ``--format``, ``--filter``.

Standard library only (it runs on the fast read-only paths); every function returns the
full text for stdout. What each part follows in Docker: docs/output.md.
"""

from __future__ import annotations

from pynet.errors import EXIT_USAGE, InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pynet.cli import gotemplate

# pynet.cli.gotemplate is imported only when a template needs it: Docker's default
# tables and plain ``{{.Field}}`` formats take a fast path (same output) without it.

__all__ = [
    "CONTAINER_HEADERS",
    "DEFAULT_CONTAINER_TABLE",
    "DEFAULT_NETWORK_TABLE",
    "NETWORK_HEADERS",
    "FilterFormatError",
    "format_columns",
    "format_inspect",
    "format_list",
    "labels_string",
    "parse_filters",
    "tabulate",
    "tabwrite",
]

#: docker/cli ``network/formatter.go`` and ``formatter/container.go`` default formats.
DEFAULT_NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
DEFAULT_CONTAINER_TABLE = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)

#: Column titles a ``table`` template shows for each field (Docker's header contexts).
NETWORK_HEADERS = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv4": "IPV4",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "CreatedAt": "CREATED AT",
}
CONTAINER_HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Platform": "PLATFORM",
}

_ALL_HEADERS = {**CONTAINER_HEADERS, **NETWORK_HEADERS}

# --------------------------------------------------------------------------- tabwriter


def _format_block(
    lines: list[list[str]],
    widths: list[int],
    line0: int,
    line1: int,
    out: list[str],
    last: int,
    minwidth: int,
    padding: int,
) -> None:
    """Go's ``tabwriter.(*Writer).format``: a column block is a run of consecutive
    lines that have a cell in this column; its width fits the widest such cell."""
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write_lines(lines, widths, line0, this, out, last)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        widths.append(width)
        _format_block(lines, widths, line0, this, out, last, minwidth, padding)
        widths.pop()
        line0 = this
    _write_lines(lines, widths, line0, line1, out, last)


def _write_lines(lines, widths, line0: int, line1: int, out: list[str], last: int) -> None:
    for i in range(line0, line1):
        cells = lines[i]
        for j, cell in enumerate(cells):
            out.append(cell)
            if j < len(widths) and j < len(cells) - 1:
                out.append(" " * (widths[j] - len(cell)))
        if i != last:
            out.append("\n")


def tabwrite(text: str, *, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated ``text`` like Go's tabwriter with ``' '`` padding: a cell is
    text ending in a tab, the text after a line's last tab is not aligned, and a line
    without tabs ends the column blocks above it."""
    lines = [line.split("\t") for line in text.split("\n")]
    uniform = _uniform(lines, minwidth, padding)
    if uniform is not None:
        return uniform
    out: list[str] = []
    start = 0
    for i, cells in enumerate(lines):
        if len(cells) == 1 or i == len(lines) - 1:  # a one-cell line flushes the writer
            _format_block(lines, [], start, i + 1, out, len(lines) - 1, minwidth, padding)
            start = i + 1
    return "".join(out)


def _uniform(lines: list[list[str]], minwidth: int, padding: int) -> str | None:
    """``tabwrite``'s output when every line but a last empty one has the same number of
    cells (a ``ls``/``ps`` table), else None."""
    body = lines[:-1]
    if lines[-1] != [""] or not body:
        return None
    count = len(body[0])
    if count < 2 or any(len(cells) != count for cells in body):
        return None
    return _aligned([list(column) for column in zip(*body)], minwidth, padding)


def _aligned(columns: list[list[str]], minwidth: int, padding: int) -> str:
    """Columns of as many cells each (at least 2 columns), one line per row: every column
    but the last is one block, as wide as its widest cell plus ``padding`` (at least
    ``minwidth``)."""
    widths = [max(minwidth, max(map(len, column)) + padding) for column in columns[:-1]]
    pattern = "".join(f"%-{w}s" for w in widths) + "%s\n"
    return "".join([pattern % row for row in zip(*columns)])


def tabulate(headers: list[str], rows: list[list[str]]) -> str:
    """A Docker table: header row then rows, aligned as ``docker network ls`` does."""
    text = "\t".join(headers) + "\n" + "".join("\t".join(r) + "\n" for r in rows)
    return tabwrite(text)


# --------------------------------------------------------------------------- --format


def labels_string(labels: dict | None) -> str:
    """Docker's ``.Labels`` column: ``k=v`` joined by commas (sorted here for stable
    output; Docker iterates a Go map)."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _record(item: dict, type_name: str) -> gotemplate.Record:
    """The template's view of one item: keys starting with ``__`` are hidden;
    ``__labels__`` (a dict) provides Docker's ``{{.Label "key"}}`` method, ``__extra__``
    (a dict) pynet's own fields, which ``{{json .}}`` leaves out as Docker's methods."""
    from pynet.cli import gotemplate

    labels = item.get("__labels__") or {}
    fields = {k: v for k, v in item.items() if not k.startswith("__")}
    methods = {"Label": (lambda name: labels.get(name, ""), 1)}
    for name, value in (item.get("__extra__") or {}).items():
        methods[name] = (lambda v=value: v, 0)
    return gotemplate.Record(fields, type_name=type_name, methods=methods)


def _header_label(name: str) -> str:
    """``SubHeaderContext.Label``: the last dotted part, ``-``/``_`` become spaces."""
    return name.split(".")[-1].replace("-", " ").replace("_", " ")


def _simple_parts(body: str) -> list[tuple[str, str]] | None:
    """``body`` as (text, field) pairs when it is only text and ``{{.Field}}`` actions
    (the last field is ""), else None."""
    parts, i = [], 0
    while (j := body.find("{{", i)) >= 0:
        k = body.find("}}", j)
        name = body[j + 2 : k].strip(" ") if k > 0 else ""
        if not (name[:1] == "." and name[1:2].isalpha() and name[1:].isidentifier()):
            return None
        parts.append((body[i:j], name[1:]))
        i = k + 2
    parts.append((body[i:], ""))
    return parts


def _render_simple(parts: list[tuple[str, str]], data: dict) -> str:
    return "".join(text + (data.get(field, "<no value>") if field else "") for text, field in parts)


def _simple_rows(parts: list[tuple[str, str]], items: list[dict]) -> list[str] | None:
    """Each item's line when every field ``parts`` names is a str in every item (a
    ``network ls``/``ps`` table of 1000 rows: one ``%`` each), else None."""
    fields = tuple(field for _, field in parts if field)
    pattern = "".join(text.replace("%", "%%") + ("%s" if field else "") for text, field in parts) + "\n"
    out = []
    for it in items:
        values = tuple(map(it.get, fields))
        for value in values:
            if type(value) is not str:
                return None
        out.append(pattern % values)
    return out


def _table_fields(body: str) -> tuple[str, ...] | None:
    """The fields of a ``table`` body made only of tab-separated ``{{.Field}}`` columns
    (Docker's default ``ls``/``ps`` tables), else None."""
    parts = _simple_parts(body)
    if parts is None or len(parts) < 3 or parts[0][0] or parts[-1] != ("", ""):
        return None
    if any(text != "\t" for text, _ in parts[1:-1]):
        return None
    return tuple(field for _, field in parts[:-1])


def _aligned_table(fields: tuple[str, ...], headers: dict[str, str], columns: list[list[str]]) -> str | None:
    """The header and ``columns`` (str cells, one list per field) aligned as ``tabwrite``
    aligns them, without building the text twice; None when a value holds a tab or
    newline (which would make more cells or lines: ``tabwrite`` of the rendered rows is
    right then)."""
    text = _aligned([[headers.get(f, "<no value>"), *c] for f, c in zip(fields, columns)], 10, 3)
    if "\t" in text or text.count("\n") != len(columns[0]) + 1:
        return None
    return text


def _plain_table(body: str, items: list[dict], headers: dict[str, str]) -> str | None:
    """A table of ``_table_fields`` whose values are all str, else None."""
    fields = _table_fields(body)
    if fields is None:
        return None
    columns = [[it.get(field) for it in items] for field in fields]
    if not all(set(map(type, column)) <= {str} for column in columns):
        return None
    return _aligned_table(fields, headers, columns)


def _render_rows(body: str, items: list[dict], type_name: str):
    """(row lines, header renderer) through the fast path or the template engine."""
    parts = _simple_parts(body)
    rows = _simple_rows(parts, items) if parts is not None else None
    if parts is not None and rows is not None:
        return (rows, lambda headers: _render_simple(parts, headers))
    from pynet.cli import gotemplate

    try:
        tmpl = gotemplate.compile(body)
        rows = [tmpl.execute(_record(it, type_name)) + "\n" for it in items]
    except gotemplate.TemplateError as err:
        # docker/cli formatter.Context wraps with errors.Wrap(err, "template parsing error")
        raise gotemplate.TemplateError(f"template parsing error: {err.go_error}", go_error=err.go_error) from None

    def header(headers: dict) -> str:
        data = gotemplate.Record(
            headers, type_name="formatter.SubHeaderContext", methods={"Label": (_header_label, 1)}, strict=False
        )
        # Docker ignores errors while rendering the header (and keeps what was written)
        return tmpl.execute(data, funcs=gotemplate.HEADER_FUNCS, partial=True)

    return rows, header


def format_list(
    items: list[dict],
    fmt: str | None,
    *,
    default_table: str,
    quiet_field: str | None = None,
    quiet: bool = False,
    headers: dict[str, str] | None = None,
    type_name: str = "*network.networkContext",
) -> str:
    """Render ``items`` the way ``docker network ls``/``docker ps`` do.

    ``fmt``: ``None``/``""``/``"table"`` -> ``default_table`` (or, with ``quiet``, one
    ``quiet_field`` value per line — ``{{.ID}}`` when ``quiet_field`` is None);
    ``"json"`` -> ``{{json .}}``, one compact object per line (sorted keys); a format
    starting with ``table`` -> a header row (``headers`` maps a field to its title,
    over Docker's titles of :data:`CONTAINER_HEADERS` and :data:`NETWORK_HEADERS`, ``ID``
    being ``NETWORK ID`` unless given) and aligned rows; anything else -> one rendered
    line per item. A literal ``\\t``/``\\n`` in ``fmt`` means tab/newline. ``quiet``
    does not change an explicit format (as in Docker).

    Each item is a dict of the fields a template sees (Docker's are all strings), e.g.
    ``{"ID": "325db63ba756", "Name": "bridge", "Driver": "bridge", "Scope": "local",
    "IPv6": "false", "Internal": "false", "Labels": "env=dev", "CreatedAt": "..."}``.
    Optional ``"__labels__": {"env": "dev"}`` backs ``{{.Label "env"}}``. An unknown
    field is an error naming ``type_name``, as in Docker.
    Raises :class:`~pynet.cli.gotemplate.TemplateError` (``template parsing error: ...``).
    """
    is_table, body = _template(fmt, default_table, quiet_field, quiet)
    if is_table:
        table = _plain_table(body, items, {**_ALL_HEADERS, **(headers or {})})
        if table is not None:
            return table
    rows, header = _render_rows(body, items, type_name)
    if not is_table:
        return "".join(rows)
    return tabwrite(header({**_ALL_HEADERS, **(headers or {})}) + "\n" + "".join(rows))


def _template(fmt: str | None, default_table: str, quiet_field: str | None, quiet: bool) -> tuple[bool, str]:
    """(is it a table, the template body) of a ``--format`` value (see ``format_list``)."""
    if not fmt or fmt == "table":
        fmt = "{{.%s}}" % (quiet_field or "ID") if quiet else default_table
    is_table = fmt.startswith("table")
    body = fmt[len("table") :] if is_table else "{{json .}}" if fmt == "json" else fmt
    return is_table, body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def format_columns(
    columns: dict[str, Callable[[], list[Any]]],
    fmt: str | None,
    *,
    default_table: str,
    quiet_field: str | None = None,
    quiet: bool = False,
    headers: dict[str, str] | None = None,
    type_name: str = "*network.networkContext",
) -> str:
    """:func:`format_list` of items given as columns: ``columns`` maps each template
    field to a function making its list (one value per item, made only when the format
    uses it); a key ``__extra__.Name`` is one of pynet's own fields (``__extra__`` of an
    item). A default table, ``-q`` or a format of plain ``{{.Field}}`` actions renders
    straight from the columns (``network ls`` of 1000 networks without 1000 dicts); any
    other format gets the items."""
    is_table, body = _template(fmt, default_table, quiet_field, quiet)
    fields = _table_fields(body) if is_table else None
    parts = None if is_table else _simple_parts(body)
    wanted = fields if is_table else tuple(f for _, f in parts or () if f)
    if wanted and all(f in columns for f in wanted):  # (no field: the items tell how many lines)
        made = [columns[f]() for f in wanted]
        if all(set(map(type, column)) <= {str} for column in made):
            if parts is not None:
                pattern = "".join(text.replace("%", "%%") + ("%s" if f else "") for text, f in parts) + "\n"
                return "".join([pattern % values for values in zip(*made)])
            assert fields is not None
            text = _aligned_table(fields, {**_ALL_HEADERS, **(headers or {})}, made)
            if text is not None:
                return text
    items = _items(columns)
    return format_list(
        items,
        fmt,
        default_table=default_table,
        quiet_field=quiet_field,
        quiet=quiet,
        headers=headers,
        type_name=type_name,
    )


def _items(columns: dict[str, Callable[[], list[Any]]]) -> list[dict]:
    """The items (one dict per row, ``__extra__`` holding pynet's own fields) of columns."""
    names = [k for k in columns if not k.startswith("__extra__.")]
    extras = [k for k in columns if k.startswith("__extra__.")]
    items = [dict(zip(names, values)) for values in zip(*(columns[k]() for k in names))]
    if extras:
        labels = [k[len("__extra__.") :] for k in extras]
        for item, values in zip(items, zip(*(columns[k]() for k in extras))):
            item["__extra__"] = dict(zip(labels, values))
    return items


# --------------------------------------------------------------------------- inspect


def format_inspect(objs: list[dict], fmt: str | None) -> str:
    """``inspect`` output for the found objects, in Docker's shapes.

    No ``fmt`` -> a JSON array indented by 4 spaces, keys in the objects' order (``[]``
    when empty); ``"json"`` -> the same array on one line; a template -> one line per
    object, rendered with the objects' structs marked (:func:`gotemplate.as_structs`).
    A template that does not parse raises ``TemplateError`` with exit code 64; objects
    that fail to render are skipped and reported together at the end by a
    ``TemplateError`` whose ``output`` is the text of the others (print it first).
    """
    if not fmt or fmt == "json":
        return _inspect_json(objs, "    " if not fmt else None) + "\n"
    from pynet.cli import gotemplate

    try:
        tmpl = gotemplate.compile(fmt)
    except gotemplate.TemplateError as err:
        raise gotemplate.TemplateError(err.message, go_error=err.go_error, exit_code=64) from None
    out, errors = [], []
    for obj in objs:
        try:
            out.append(tmpl.execute(gotemplate.as_structs(obj)) + "\n")
        except gotemplate.TemplateError as err:
            errors.append(err.message)
    text = "".join(out) or "\n"
    if errors:
        raise gotemplate.TemplateError("\n".join(errors), output=text)
    return text


_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _has_float(obj) -> bool:
    if isinstance(obj, float):
        return True
    if isinstance(obj, dict):
        return any(_has_float(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_float(v) for v in obj)
    return False


def _inspect_json(objs: list[dict], indent: str | None) -> str:
    """The daemon's JSON as Docker's CLI re-emits it: key order kept, ``<>&`` escaped.

    jsonio (json.dumps's output without the json package) writes what Go's does except
    for floats, which go through gotemplate.go_json."""
    if _has_float(objs):
        from pynet.cli import gotemplate

        return gotemplate.go_json(objs, indent=indent, keep_order=True, html=True)
    from pynet import jsonio

    text = jsonio.dumps(objs, indent=indent)
    return text.translate(_GO_JSON_ESCAPES)


# --------------------------------------------------------------------------- filters


class FilterFormatError(InvalidArgument):
    """A ``--filter`` value without ``=``: a flag error (exit 125), printed as is."""

    exit_code = EXIT_USAGE
    from_daemon = False

    def render(self) -> str:
        return self.message


def parse_filters(
    values: list[str], allowed: set[str] | frozenset[str] | None, *, flag: str = "-f, --filter"
) -> dict[str, list[str]]:
    """``--filter`` values to ``{key: [values]}`` (Docker's ``filters.ParseFlag``:
    key lower-cased, both sides stripped, duplicates dropped), then checked against
    ``allowed`` like the daemon does (``None``: any key, as the events filter).

    Raises :class:`FilterFormatError` for ``foo`` (no ``=``): ``invalid argument "foo"
    for "-f, --filter" flag: bad format of filter (expected name=value)``, and
    ``InvalidArgument("Invalid filter 'foo'")`` (Docker 20.10's daemon message) for an
    unknown key.
    """
    filters: dict[str, list[str]] = {}
    for arg in values:
        if not arg:
            continue
        if "=" not in arg:
            raise FilterFormatError(
                f'invalid argument "{arg}" for "{flag}" flag: bad format of filter (expected name=value)'
            )
        key, _, value = arg.partition("=")
        vals = filters.setdefault(key.strip().lower(), [])
        if value.strip() not in vals:
            vals.append(value.strip())
    if allowed is not None:
        from pynet.cnm.listing import check_filter_keys

        check_filter_keys(filters, allowed)
    return filters

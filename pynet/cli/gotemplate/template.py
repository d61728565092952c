"""The API behind the package: :class:`Template`, :func:`compile` (cached) and :func:`render`."""

from __future__ import annotations

from pynet.cli.gotemplate.errors import TemplateError, _GoError
from pynet.cli.gotemplate.executor import _Exec
from pynet.cli.gotemplate.functions import BUILTINS
from pynet.cli.gotemplate.parser import _Parser


class Template:
    """A parsed template; :meth:`execute` renders it over one value."""

    __slots__ = ("source", "root")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.root = _Parser(source, BUILTINS).parse()
        except RecursionError:
            raise TemplateError(
                "Template parsing error: template: : nested too deeply", go_error="template: : nested too deeply"
            ) from None
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
                raise TemplateError(f"Template parsing error: {e}", go_error=str(e), output="".join(out)) from None
        except RecursionError:
            if not partial:
                raise TemplateError(
                    "Template parsing error: template: : nested too deeply",
                    go_error="template: : nested too deeply",
                    output="".join(out),
                ) from None
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

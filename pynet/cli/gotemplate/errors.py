"""Template errors: the public :class:`TemplateError` and the interpreter's internal signals."""

from __future__ import annotations

from pynet.errors import InvalidArgument


class TemplateError(InvalidArgument):
    """A Go template failed to parse or execute.

    ``message`` is what Docker prints (``Template parsing error: template: :1: ...``),
    ``go_error`` the bare Go error (``template: :1: ...``). ``output`` holds text that
    was produced before the failure and that Docker still prints (``inspect``). The
    message is printed as is, without an ``Error:`` prefix, like Docker's CLI does.
    """

    from_daemon = False

    def __init__(
        self, message: str, *, go_error: str | None = None, output: str = "", exit_code: int | None = None
    ) -> None:
        super().__init__(message, from_daemon=False)
        self.go_error = message if go_error is None else go_error
        self.output = output
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        return self.message


class _GoError(Exception):
    pass


class _CallError(Exception):
    pass


class _Break(Exception):
    pass


class _Continue(Exception):
    pass

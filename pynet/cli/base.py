"""What every CLI module shares without importing click: output, exit signals, actions.

Command bodies ("actions") live in click-free modules (``network_actions``,
``container_actions``) so that the fast path (``pynet.cli.fastpath``) can run them
without paying for click's import (~10-15 ms a command); the click commands are thin
wrappers made by :func:`action`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

from pynet.errors import ExitStatus


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print one message (click.echo's contract for text: stdout, or stderr with ``err``)."""
    if err:
        sys.stdout.flush()  # keep the order of the two streams when they share a pipe (2>&1)
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n" if nl else text)
    if err:
        stream.flush()


def load(target: str) -> Callable[..., Any]:
    """The function named by ``"package.module:function"``."""
    module, _, attr = target.partition(":")
    __import__(module)  # not importlib: it loads `warnings` (design.md, "Start-up")
    return getattr(sys.modules[module], attr)  # type: ignore[no-any-return]


def action(target: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a click callback that runs ``target`` with the parsed parameters.

    The decorated function only lends its docstring (click's help text); the body that
    runs is ``target``. The fast path reads ``pynet_action`` to call the same body.
    """

    def decorate(doc_holder: Callable[..., Any]) -> Callable[..., Any]:
        def callback(**params: Any) -> Any:
            return load(target)(**params)

        callback.__doc__ = doc_holder.__doc__
        callback.__name__ = doc_holder.__name__
        callback.pynet_action = target  # type: ignore[attr-defined]
        return callback

    return decorate


def controller():  # type: ignore[no-untyped-def]
    """The core's Controller, ready (built-in networks exist, state restored)."""
    from pynet import wiring

    ctl = wiring.controller()
    ctl.ensure_ready()
    return ctl


def reader(*, documents: bool = False):  # type: ignore[no-untyped-def]
    """A read-only view of the state (no controller unless the state needs repair);
    ``documents``: records as plain attributes, for views (``cnm.reader.open_repo``)."""
    from pynet import wiring

    repo = wiring.open_repo(documents=documents)
    hooks = sys.modules.get("pynet.firewall.hooks")
    if hooks is not None and "pynet.cnm.cluster" in sys.modules:  # a member's sync ran
        for line in dict.fromkeys(hooks.NOTICES):  # e.g. the cluster store did not answer
            echo(line, err=True)
        hooks.NOTICES.clear()
    return repo


def print_notices(ctl) -> None:  # type: ignore[no-untyped-def]
    """Warnings the core collected while the command ran, once each, on stderr."""
    for line in dict.fromkeys(ctl.notices):
        echo(line, err=True)
    ctl.notices.clear()


def print_inspect(found: list, fmt: str | None, missing: list[str], noun: str) -> None:
    """``inspect``'s output: the JSON (or template) of what was found, then one Docker
    line per missing name (``Error: No such <noun>: <name>``) and exit 1 if any."""
    from pynet.cli import formatting

    if not fmt or fmt == "json":  # no template: gotemplate stays unloaded (design.md, "Start-up")
        echo(formatting.format_inspect(found, fmt), nl=False)
    else:
        from pynet.cli import gotemplate

        try:
            echo(formatting.format_inspect(found, fmt), nl=False)
        except gotemplate.TemplateError as exc:
            echo(exc.output, nl=False)
            raise
    for ref in missing:
        echo(f"Error: No such {noun}: {ref}", err=True)
    if missing:
        raise ExitStatus(1)

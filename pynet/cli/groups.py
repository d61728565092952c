"""The click group every pynet command group uses: an unknown subcommand is a type.

click words "No such command" differently across versions (and has no type for it before
8.4); Docker's line (``pynet network: 'x' is not a pynet network command.``) is printed
from :class:`UnknownCommand` in ``pynet.cli.app``.
"""

from __future__ import annotations

import click


class UnknownCommand(click.UsageError):
    """``pynet <name>`` or ``pynet network <name>`` with no such subcommand."""

    def __init__(self, name: str, ctx: click.Context) -> None:
        super().__init__(f"No such command {name!r}.", ctx)
        self.name = name


class Group(click.Group):
    """A command group that raises :class:`UnknownCommand` for a name it does not know."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        name = args[0]
        if not ctx.resilient_parsing and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UnknownCommand(name, ctx)
        return super().resolve_command(ctx, args)

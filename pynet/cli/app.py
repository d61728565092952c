"""The click command tree of ``pynet`` and the mapping of click's usage errors.

Loaded only when the fast path (``pynet.cli.fastpath``) does not take the command:
``--help``, mistakes in flags, and the less frequent commands.
"""

from __future__ import annotations

import importlib
import os

import click

from pynet import __version__
from pynet.cli.base import echo
from pynet.cli.groups import Group, UnknownCommand
from pynet.errors import EXIT_USAGE


class LazyGroup(Group):
    """Imports a command module only when that command runs (keeps --help and ls fast)."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(k for k in self.lazy if not k.startswith("_"))})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, name)


COMMANDS = {
    "network": "pynet.cli.network:network",
    "run": "pynet.cli.container:run",
    "ps": "pynet.cli.container:ps",
    "inspect": "pynet.cli.container:inspect",
    "exec": "pynet.cli.container:exec_",
    "stop": "pynet.cli.container:stop",
    "kill": "pynet.cli.container:kill",
    "rm": "pynet.cli.container:rm",
    "logs": "pynet.cli.container:logs",
    "port": "pynet.cli.container:port",
    "image": "pynet.cli.image:image",
    "system": "pynet.cli.system:system",
    "cluster": "pynet.cli.cluster:cluster",
    "compose": "pynet.cli.compose:compose",
    "link": "pynet.cli.link:link",
    "events": "pynet.cli.events:events",
    "topology": "pynet.cli.topology:topology",
    "info": "pynet.cli.info:info",
    "version": "pynet.cli.info:version",
    "_exited": "pynet.cli.container:exited",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", "-D", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, "--version", "-v", prog_name="pynet", message="pynet version %(version)s")
def cli(debug: bool) -> None:
    """pynet: Docker's container networking on real kernel objects, without a daemon.

    \b
    Examples:
      pynet network create -d bridge mynet
      pynet run -d --name c1 --network mynet sleep 1000
      pynet network inspect mynet | jq '.[0].IPAM'
    """
    if debug:
        os.environ["PYNET_DEBUG"] = "1"


def run_click(args: list[str]) -> int:
    """Parse and run ``args`` with click; click's own errors become Docker's lines here."""
    try:
        cli.main(args=args, prog_name="pynet", standalone_mode=False)
    except click.exceptions.Abort:
        echo("", err=True)
        return 130
    except click.MissingParameter as exc:
        if isinstance(exc.param, click.Option):  # a required flag: a usage error (125)
            return _missing_flag(exc)
        return _wrong_arg_count(exc)
    except click.BadArgumentUsage as exc:
        return _wrong_arg_count(exc)
    except click.UsageError as exc:
        if exc.message.startswith("Got unexpected extra argument"):
            return _wrong_arg_count(exc)  # click's words for too many; cobra's count check
        return _usage_error(exc)
    except click.ClickException as exc:
        echo(f"Error: {exc.format_message()}", err=True)
        return exc.exit_code or 1
    return 0


def _usage_error(exc: click.UsageError) -> int:
    """Docker's wording for flag and command mistakes; a bare group prints its help."""
    cmd = exc.ctx.command_path if exc.ctx else "pynet"
    if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
        echo(exc.ctx.get_help())  # `pynet`, `pynet network`: usage, as Docker (exit 0)
        return 0
    if isinstance(exc, click.NoSuchOption):
        echo(f"unknown flag: {exc.option_name}\nSee '{cmd} --help'.", err=True)
        return EXIT_USAGE
    if isinstance(exc, UnknownCommand):
        echo(f"{cmd}: '{exc.name}' is not a {cmd} command.\nSee '{cmd} --help'.", err=True)
        return 1
    message = exc.format_message()
    echo(f"{cmd}: {message}\nSee '{cmd} --help'.", err=True)
    return EXIT_USAGE


def _missing_flag(exc: click.MissingParameter) -> int:
    """cobra's words for a required flag that was not given; exit 125 as every usage error."""
    cmd = exc.ctx.command_path if exc.ctx else "pynet"
    flag = max(exc.param.opts, key=len).lstrip("-") if exc.param is not None else "?"
    echo(f"{cmd}: required flag(s) \"{flag}\" not set\nSee '{cmd} --help'.", err=True)
    return EXIT_USAGE


def _wrong_arg_count(exc: click.UsageError) -> int:
    """Docker's argument-count checks are plain errors: exit 1 (flag errors are 125)."""
    cmd = exc.ctx.command_path if exc.ctx else "pynet"
    echo(f"\"{cmd}\" {_arg_count(exc.ctx)}.\nSee '{cmd} --help'.", err=True)
    return 1


def _arg_count(ctx: click.Context | None) -> str:
    """Docker's "requires exactly 1 argument" / "requires at least 1 argument" /
    "requires at least 1 and at most 2 arguments" / "accepts no arguments" (docker/cli's
    ExactArgs, RequiresMinArgs, RequiresRangeArgs, NoArgs)."""
    args = [p for p in (ctx.command.params if ctx else []) if isinstance(p, click.Argument)]
    if not args:
        return "accepts no arguments"
    n = max(1, len([p for p in args if p.required]))
    if any(p.nargs == -1 for p in args):
        return f"requires at least {n} {_arguments(n)}"
    if len(args) > n:
        return f"requires at least {n} and at most {len(args)} {_arguments(len(args))}"
    return f"requires exactly {n} {_arguments(n)}"


def _arguments(n: int) -> str:
    return "argument" if n == 1 else "arguments"

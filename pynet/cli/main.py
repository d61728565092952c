"""The ``pynet`` command: click group and THE one error boundary.

Every PynetError becomes one line on stderr (Docker's wording) and an exit code:
1 for errors, 125 for usage errors and for ``run``'s own failures, 126/127 when the
container's command cannot be started, else the command's own code. Tracebacks only
with ``--debug`` (or PYNET_DEBUG=1).
"""

from __future__ import annotations

import os
import sys

import click

from pynet import __version__
from pynet.errors import PynetError

EXIT_USAGE = 125


class RunFailure(Exception):
    """A ``run`` failure: printed as ``pynet: <message>.`` with exit 125/126/127."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ExitCode(Exception):
    """Leave with this code and print nothing more (the container's own code)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LazyGroup(click.Group):
    """Imports a command module only when that command runs (keeps --help and ls fast)."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(k for k in self.lazy if not k.startswith("_"))})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            import importlib

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
    "system": "pynet.cli.system:system",
    "cluster": "pynet.cli.cluster:cluster",
    "_exited": "pynet.cli.container:exited",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", "-D", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, "--version", "-v", prog_name="pynet",
                      message="pynet version %(version)s")
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


def _debug() -> bool:
    return os.environ.get("PYNET_DEBUG") == "1" or "--debug" in sys.argv[1:2] or "-D" in sys.argv[1:2]


def _usage_error(exc: click.UsageError) -> int:
    """Docker's wording for flag and command mistakes; a bare group prints its help."""
    cmd = exc.ctx.command_path if exc.ctx else "pynet"
    if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
        click.echo(exc.ctx.get_help())  # `pynet`, `pynet network`: usage, as Docker (exit 0)
        return 0
    if isinstance(exc, click.NoSuchOption):
        click.echo(f"unknown flag: {exc.option_name}\nSee '{cmd} --help'.", err=True)
        return EXIT_USAGE
    message = exc.format_message()
    if message.startswith("No such command"):
        name = message.split("'")[1] if "'" in message else message
        click.echo(f"{cmd}: '{name}' is not a {cmd} command.\nSee '{cmd} --help'.", err=True)
        return 1
    click.echo(f"{cmd}: {message}\nSee '{cmd} --help'.", err=True)
    return EXIT_USAGE


def _arg_count(ctx: click.Context | None) -> str:
    """Docker's "requires exactly 1 argument" / "requires at least 1 argument"."""
    args = [p for p in (ctx.command.params if ctx else []) if isinstance(p, click.Argument)]
    required = [p for p in args if p.required]
    n = max(1, len(required))
    plural = "argument" if n == 1 else "arguments"
    if any(p.nargs == -1 for p in args):
        return f"at least {n} {plural}"
    return f"exactly {n} {plural}"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI inside the single error boundary."""
    code = 0
    try:
        cli.main(args=argv, prog_name="pynet", standalone_mode=False)
    except ExitCode as exc:
        code = exc.code
    except RunFailure as exc:
        msg = exc.message if exc.message.endswith(".") else exc.message + "."
        click.echo(f"pynet: {msg}", err=True)
        code = exc.exit_code
    except PynetError as exc:
        if _debug():
            import traceback

            traceback.print_exc()
        click.echo(exc.render(), err=True)
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("", err=True)
        code = 130
    except (click.MissingParameter, click.BadArgumentUsage) as exc:
        # Docker's argument-count checks are plain errors: exit 1, flag errors 125.
        cmd = exc.ctx.command_path if exc.ctx else "pynet"
        click.echo(f'"{cmd}" requires {_arg_count(exc.ctx)}.\nSee \'{cmd} --help\'.', err=True)
        code = 1
    except click.UsageError as exc:
        code = _usage_error(exc)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        code = exc.exit_code or 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # noqa: BLE001 - the boundary: no traceback unless --debug
        if _debug():
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        code = 1
    else:
        code = 0
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()

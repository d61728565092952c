"""The ``pynet`` command's entry point and THE one error boundary.

Every PynetError becomes one line on stderr (Docker's wording) and an exit code:
1 for errors, 125 for usage errors and for ``run``'s own failures, 126/127 when the
container's command cannot be started, else the command's own code. Tracebacks only
with ``--debug`` (or PYNET_DEBUG=1).

Dispatch: a well-formed invocation of a frequent command is parsed by the click-free
fast path (``pynet.cli.fastpath``); everything else (help, mistakes, rare commands)
goes to the click tree in ``pynet.cli.app``. Both run the same command bodies.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

from pynet.cli.base import echo
from pynet.errors import PynetError


def _debug() -> bool:
    return os.environ.get("PYNET_DEBUG") == "1" or "--debug" in sys.argv[1:2] or "-D" in sys.argv[1:2]


def _dispatch(args: list[str]) -> int:
    from pynet.cli import fastpath

    call = fastpath.resolve(args)
    if call is not None:
        call()
        return 0
    from pynet.cli.app import run_click

    return run_click(args)


def boundary(body: Callable[[], int]) -> int:
    """Run ``body``; map every way it can end to (message on stderr, exit code)."""
    try:
        return body()
    except PynetError as exc:
        for warning in exc.warnings:  # e.g. what the rollback could not remove
            echo(warning, err=True)
        line = exc.render()
        if line:  # ExitStatus: the command printed what it had to say
            if _debug():
                import traceback

                traceback.print_exc()
            echo(line, err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except PermissionError as exc:
        # pynet's own files (state, runtime dir) refused to a user without root.
        where = f": {exc.filename}" if exc.filename else ""
        echo(f"Error: permission denied{where}: pynet needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)", err=True)
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the boundary: no traceback unless --debug
        if _debug():
            raise
        echo(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass


def main(argv: list[str] | None = None) -> None:
    """Run the CLI inside the single error boundary; leaves through SystemExit."""
    args = sys.argv[1:] if argv is None else list(argv)
    code = boundary(lambda: _dispatch(args))
    _flush()
    sys.exit(code)


def run(args: list[str]) -> int:
    """Run ``pynet ARGS`` inside the error boundary and flush its output; its exit code
    (the console script's body, also run by the warm server's child: pynet.warm)."""
    code = boundary(lambda: _dispatch(args))
    _flush()
    return code


def entry(then: Callable[[], object] | None = None) -> None:
    """Console-script entry: as :func:`main`, then ``then()`` (the warm client's: start a
    server in the run directory the command made), then leave without interpreter teardown.

    Tearing down ~150 modules costs ~8 ms a command and does nothing pynet needs: files
    are closed by their ``with`` blocks, state is on disk, output is flushed here.
    """
    code = run(sys.argv[1:])
    if then is not None:
        then()
    os._exit(code & 0xFF)


if __name__ == "__main__":
    main()

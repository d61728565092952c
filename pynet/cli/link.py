"""``pynet link set/show/clear``: shape a container's link (rate, loss, netem's delay...).

Thin: parse, call one Controller operation (``pynet.cnm.links.LinkControl``), render.
docs/topologies.md, "Link shaping".
"""

from __future__ import annotations

import click

from pynet.cli.base import controller, echo, print_notices, reader
from pynet.cli.groups import Group

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.links import LinkRow
    from pynet.records.links import LinkShape

HEADERS = ["CONTAINER", "NETWORK", "INTERFACE", "RATE", "DELAY", "JITTER", "LOSS", "DUPLICATE", "CORRUPT"]


@click.group(cls=Group)
def link() -> None:
    """Shape containers' links: rate, loss, delay, jitter, duplicate, corrupt."""


@link.command("set")
@click.option(
    "--network", "network", default="", help="The network whose link to shape (may be omitted with one network)"
)
@click.option("--rate", default=None, help="Rate limit in both directions (e.g. 10mbit, 512kbit, 1gbit)")
@click.option("--delay", default=None, help="Delay what the container sends (e.g. 50ms; needs netem)")
@click.option("--jitter", default=None, help="Jitter of the delay (e.g. 5ms; needs netem)")
@click.option("--loss", default=None, help="Share of received packets dropped (e.g. 10%)")
@click.option("--duplicate", default=None, help="Share of sent packets duplicated (e.g. 1%; needs netem)")
@click.option("--corrupt", default=None, help="Share of sent packets corrupted (e.g. 1%; needs netem)")
@click.argument("container")
def set_(container: str, network: str, **settings: str | None) -> None:
    """Shape a running container's link (settings not given are kept).

    \b
    Example:
      pynet link set c1 --network mynet --rate 10mbit --loss 1%
    """
    given = {k: v for k, v in settings.items() if v is not None}
    if not given:
        raise click.UsageError(
            "link set needs at least one of --rate, --delay, --jitter, --loss, --duplicate, --corrupt"
        )
    shape = _parse_flags(given)
    ctl = controller()
    row = ctl.set_link(container, shape, network or None)
    print_notices(ctl)
    echo(_describe(row))


@link.command("clear")
@click.option(
    "--network", "network", default="", help="The network whose link to clear (may be omitted with one network)"
)
@click.argument("container")
def clear(container: str, network: str) -> None:
    """Remove every shaping setting of a container's link.

    \b
    Example:
      pynet link clear c1 --network mynet
    """
    ctl = controller()
    row = ctl.clear_link(container, network or None)
    print_notices(ctl)
    echo(_describe(row))


@link.command("show")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format")
@click.argument("container", required=False)
def show(container: str | None, fmt: str) -> None:
    """List the links of one container (or of every container) and what this host supports.

    \b
    Example:
      pynet link show c1
    """
    import json

    from pynet.cnm.links import link_rows, supported_impairments

    rows = link_rows(reader(), container)
    supported = supported_impairments()
    if fmt == "json":
        echo(json.dumps({"Links": [r.to_json() for r in rows], "Supported": supported}, indent=2))
        return
    from pynet.cli.formatting import tabulate

    echo(tabulate(HEADERS, [_cells(r) for r in rows]), nl=False)
    echo(_supported_line(supported))


def _parse_flags(given: dict[str, str]) -> LinkShape:
    """The shape of the flags; a bad value is Docker's flag error (one line, exit 125)."""
    from pynet.errors import EXIT_USAGE, InvalidArgument
    from pynet.records.links import parse_link_shape

    for name, value in given.items():
        try:
            parse_link_shape({name: value}, partial=True)
        except InvalidArgument as exc:
            detail = exc.message.split(": ", 1)[-1]
            err = InvalidArgument(f'invalid argument "{value}" for "--{name}" flag: {detail}', from_daemon=False)
            err.exit_code = EXIT_USAGE
            raise err from None
    return parse_link_shape(given, partial=True)


def _cells(row: LinkRow) -> list[str]:
    text = row.shape.to_text()
    return [row.container, row.network, row.interface, *(text.get(k, "-") for k in HEADERS_KEYS)]


HEADERS_KEYS = ("rate", "delay", "jitter", "loss", "duplicate", "corrupt")


def _describe(row: LinkRow) -> str:
    text = row.shape.to_text()
    what = "unshaped" if row.shape.is_empty() else " ".join(f"{k} {v}" for k, v in text.items())
    return f"{row.container} {row.network} ({row.interface}): {what}"


def _supported_line(supported: dict[str, bool]) -> str:
    yes = [k for k, ok in supported.items() if ok]
    no = [k for k, ok in supported.items() if not ok]
    line = f"Supported here: {', '.join(yes)}"
    if no:
        line += f" (no netem in this kernel: {', '.join(no)} unavailable)"
    return line

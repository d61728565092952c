"""The body of ``pynet network diagnose`` (click-free): parse the port, ONE core call, render.

Text: one line per hop/check with a mark, then the verdict, the cause and the fix; on a
terminal the marks are coloured with rich (imported only here, only then). JSON: the
Diagnosis as ``{"reachable", "cause", "steps", "probe", "fix"}``. Exit 0 reachable, 1 not,
2 cannot tell (docs/diagnose.md).
"""

from __future__ import annotations

import json
import sys

from pynet.cli.base import echo, reader
from pynet.errors import EXIT_USAGE, ExitStatus, InvalidArgument, Unsupported

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.diagnose.verdict import Diagnosis


class PortFlagError(InvalidArgument):
    """A ``--port`` value that is not PORT[/tcp|udp]: a flag error (exit 125), as Docker's."""

    exit_code = EXIT_USAGE
    from_daemon = False


def parse_port(text: str) -> tuple[int, str]:
    """``PORT[/tcp|udp]`` -> (port, proto); (0, "tcp") for none."""
    if not text:
        return 0, "tcp"
    number, sep, proto = text.partition("/")
    proto = proto.lower() if sep else "tcp"
    if not number.isdigit() or not 0 < int(number) < 65536 or proto not in ("tcp", "udp"):
        raise PortFlagError(f'invalid argument "{text}" for "-p, --port" flag: expected PORT[/tcp|udp], 1-65535')
    return int(number), proto


def check_dst(dst: str) -> None:
    """Refuse a DST that no DNS name or IPv4 address can be (``a b``, ``10.0.0.1/24``,
    ``999.1.1.1``): walked, it ended in a DNS miss and a ``connect --alias`` fix that cannot work."""
    import ipaddress
    import re

    if ":" in dst:
        raise Unsupported(f"{dst}: network diagnose checks IPv4 paths only", from_daemon=False)
    dotted_number = re.fullmatch(r"[0-9.]+", dst) is not None
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", dst) or dotted_number:
        try:
            ipaddress.IPv4Address(dst)
        except ValueError:
            raise InvalidArgument(
                f'invalid DST "{dst}": expected a container, a DNS name, an IPv4 address or "host"', from_daemon=False
            ) from None


def diagnose(src: str, dst: str, port: str | None, fmt: str) -> None:
    from pynet.cnm.controller import require_privileges
    from pynet.cnm.diagnose.walk import diagnose as walk

    number, proto = parse_port(port or "")
    check_dst(dst)
    require_privileges()
    result = walk(reader(), src, dst, number, proto)
    if fmt == "json":
        echo(json.dumps(result.to_json(), indent=2))
    else:
        render_text(result, src, dst, f" ({number}/{proto})" if number else "")
    if result.exit_code:
        raise ExitStatus(result.exit_code)


def text_lines(result: Diagnosis, src: str, dst: str, what: str) -> list[tuple[str, str]]:
    """(mark, line) pairs: the path hop by hop, the probe, then verdict, cause and fix."""
    from pynet.cnm.diagnose.verdict import CAUSES

    lines = [("", f"{src} -> {dst}{what}")]
    width = max([len(s.check) for s in result.steps] + [5])
    for step in result.steps:
        lines.append(("ok" if step.ok else "fail", f"{step.check:<{width}}  {step.detail}"))
    p = result.probe
    probe = f"{p.get('kind')} {p.get('target', '')}".rstrip() + f": {p.get('detail', '')}"
    lines.append(("ok" if p.get("ok") else "fail", f"{'probe':<{width}}  {probe}"))
    verdict = {True: "reachable", False: "NOT reachable", None: "cannot tell"}[result.reachable]
    lines.append(("", f"{verdict}: {result.cause} ({CAUSES.get(result.cause, '')})"))
    if result.fix:
        lines.append(("", f"fix: {result.fix}"))
    return lines


MARKS = {"ok": "✔", "fail": "✘", "": ""}
PLAIN_MARKS = {"ok": "+", "fail": "x", "": ""}


def render_text(result: Diagnosis, src: str, dst: str, what: str) -> None:
    lines = text_lines(result, src, dst, what)
    if sys.stdout.isatty():
        _render_rich(lines)
        return
    marks = MARKS if (sys.stdout.encoding or "").lower().replace("-", "") == "utf8" else PLAIN_MARKS
    for mark, line in lines:
        echo(f"  {marks[mark]} {line}" if mark else line)


def _render_rich(lines: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    style = {"ok": "[green]✔[/green]", "fail": "[bold red]✘[/bold red]"}
    for mark, line in lines:
        console.print(f"  {style[mark]} {escape(line)}" if mark else f"[bold]{escape(line)}[/bold]")

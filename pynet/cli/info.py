"""``pynet info`` and ``pynet version``: Docker's layouts, a rich view on a terminal,
``--format json|TEMPLATE`` for scripts (docs/info.md)."""

from __future__ import annotations

import json
import sys

import click

from pynet.cli.base import echo

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


@click.command("info")
@click.option(
    "-f", "--format", "fmt", metavar="string", help="Format output using a custom template: 'json' or a Go template"
)
def info(fmt: str | None) -> None:
    """Display system-wide information: state, helper, firewall, cluster, counts.

    \b
    Example:
      pynet info --format '{{.Networks}}'
    """
    from pynet import wiring

    data = wiring.system_info()
    if fmt:
        echo(render_format(data, fmt))
        return
    _show(info_lines(data))


@click.command("version")
@click.option(
    "-f", "--format", "fmt", metavar="string", help="Format output using a custom template: 'json' or a Go template"
)
def version(fmt: str | None) -> None:
    """Show the pynet version information (Docker's Client/Server layout).

    \b
    Example:
      pynet version --format json
    """
    from pynet.cnm.info import version_info

    data = version_info()
    if fmt:
        echo(render_format(data, fmt))
        return
    _show(version_lines(data))


def render_format(data: dict[str, Any], fmt: str) -> str:
    """``json``/``{{json .}}``: the JSON; a template sees Go's field names (``APIVersion``)."""
    if fmt.strip() in ("json", "{{json .}}"):
        return json.dumps(data, separators=(",", ":"))
    from pynet.cli import gotemplate

    try:
        tmpl = gotemplate.compile(fmt.replace("\\t", "\t").replace("\\n", "\n"))
    except gotemplate.TemplateError as err:
        raise gotemplate.TemplateError(f"template parsing error: {err.go_error}", go_error=err.go_error) from None
    return tmpl.execute(gotemplate.as_structs(_go_names(data)))


def _go_names(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {("APIVersion" if k == "ApiVersion" else k): _go_names(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_go_names(v) for v in obj]
    return obj


def version_lines(data: dict[str, Any]) -> list[str]:
    c, s = data["Client"], data["Server"]
    engine = s["Components"][0]["Details"]
    return [
        "Client:",
        f" Version:           {c['Version']}",
        f" API version:       {c['ApiVersion']}",
        f" Python version:    {c['PythonVersion']}",
        f" OS/Arch:           {c['Os']}/{c['Arch']}",
        f" Context:           {c['Context']}",
        "",
        f"Server: {s['Platform']['Name']}",
        " Engine:",
        f"  Version:          {s['Version']}",
        f"  API version:      {s['ApiVersion']} (minimum version {s['MinAPIVersion']})",
        f"  Python version:   {engine['PythonVersion']}",
        f"  OS/Arch:          {s['Os']}/{s['Arch']}",
        f"  Kernel version:   {s['KernelVersion']}",
    ]


def info_lines(data: dict[str, Any]) -> list[str]:
    p = data["Pynet"]
    fw, cluster = p["Firewall"], p["Cluster"]
    lines = [
        "Server:",
        f" Containers: {data['Containers']}",
        f"  Running: {data['ContainersRunning']}",
        f"  Paused: {data['ContainersPaused']}",
        f"  Stopped: {data['ContainersStopped']}",
        f" Networks: {data['Networks']}",
        *[f"  {driver}: {n}" for driver, n in data["NetworksByDriver"].items()],
        f" Server Version: {data['ServerVersion']} (daemonless)",
        f" Kernel Version: {data['KernelVersion']}",
        f" OSType: {data['OSType']}",
        f" Architecture: {data['Architecture']}",
        f" CPUs: {data['NCPU']}",
        f" State Dir: {p['StateDir']}",
        f" Run Dir: {p['RunDir']}",
        f" Helper (embedded DNS): {'running' if p['Helper']['Running'] else 'not running'}",
    ]
    if fw["Enabled"]:
        lines.append(f" Firewall: nftables ({fw['Backend']})")
        drops = fw["ForeignForwardDrop"]
        if drops is None:
            lines.append(f"  Docker coexistence: unknown ({fw.get('Warning', '')})")
        else:
            where = ", ".join(drops) if drops else "none"
            lines.append(f"  Docker coexistence: {fw['ForeignFirewall']}; policy-drop forward chains: {where}")
    else:
        lines.append(" Firewall: off (PYNET_FIREWALL=none)")
    if cluster["Member"]:
        lines.append(
            f" Cluster: member {cluster['NodeName']} (advertise {cluster['AdvertiseAddr']}, store {cluster['Store']})"
        )
    else:
        lines.append(" Cluster: inactive")
    impairments = p["LinkImpairments"]
    if impairments is None:
        lines.append(" Link impairments: not available in this pynet")
    else:
        yes = [k for k, v in impairments.items() if v]
        no = [k for k, v in impairments.items() if not v]
        lines.append(
            f" Link impairments: {', '.join(yes) or 'none'}" + (f" (unsupported: {', '.join(no)})" if no else "")
        )
    return lines


def _show(lines: list[str]) -> None:
    """Plain text when piped; on a terminal, the same lines with rich's emphasis."""
    if not sys.stdout.isatty():
        echo("\n".join(lines))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" ") or (sep and not value.strip()):
            console.print(f"[bold]{escape(line)}[/]")
        elif sep:
            console.print(f"[cyan]{escape(key)}:[/]{escape(value)}")
        else:
            console.print(escape(line))

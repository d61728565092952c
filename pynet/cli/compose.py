"""``pynet compose [-f FILE]... [-p PROJECT] up|down|ps|config``: Compose's flags and output.

Thin: each command loads the project, calls ONE operation of ``pynet.compose.operations``
and renders what it returns (pyyaml is loaded by ``pynet.compose`` only).
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from pynet.cli.base import echo
from pynet.cli.groups import Group
from pynet.errors import ExitStatus

PS_TABLE = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
PS_HEADERS = {"Name": "NAME", "Service": "SERVICE", "RunningFor": "CREATED"}


@dataclass
class Options:
    """The group's flags, shared by its commands."""

    files: tuple[str, ...]
    project: str


def _warn(line: str) -> None:
    echo(line, err=True)


@click.group(cls=Group)
@click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    help="Compose configuration file, several merged in order (default: $COMPOSE_FILE, else compose.yaml here)",
)
@click.option("-p", "--project-name", "project", default="", help="Project name (default: the directory's name)")
@click.pass_context
def compose(ctx: click.Context, files: tuple[str, ...], project: str) -> None:
    """Define and run networks and services from a Compose file.

    \b
    Examples:
      pynet compose up -d
      pynet compose up --dry-run
      pynet compose -p demo down
      pynet compose -f compose.yaml -f compose.override.yaml config
    """
    ctx.obj = Options(files=files, project=project)


@compose.command("up")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run containers in the background")
@click.option("--dry-run", is_flag=True, help="Show what would be added, changed and removed; change nothing")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the file")
@click.pass_obj
def up(opts: Options, detach: bool, dry_run: bool, remove_orphans: bool) -> None:
    """Create and start the project's networks and containers (idempotent).

    Without -d, pynet follows the containers' output until all have exited; Ctrl-C stops
    them (they stay, for the next up or down).

    \b
    Example:
      pynet compose up -d
      pynet compose -f lab.yaml up -d --dry-run
    """
    from pynet.compose import operations

    project = operations.load_project(opts.files, opts.project)
    plan, ctl = operations.up(project, dry_run=dry_run, remove_orphans=remove_orphans, report=echo, warn=_warn)
    if plan.empty():
        counted = sum(len(s.container_names(project.name)) for s in project.services)
        echo(f"Nothing to change: project {project.name} is up to date ({counted} containers).")
    echo(plan.summary())
    if dry_run:
        echo("Dry run: nothing was changed.")
    if detach or dry_run or ctl is None:
        return
    _attach(ctl, [name for s in project.services for name in s.container_names(project.name)])


def _attach(ctl, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    from pynet.compose import attach

    try:
        attach.follow(ctl, names, echo)
    except KeyboardInterrupt:
        echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        attach.stop_all(ctl, names)
        for line in dict.fromkeys(ctl.notices):
            _warn(line)
        raise ExitStatus(130) from None


@compose.command("down")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing")
@click.option("--remove-orphans", is_flag=True, help="(always) every container of the project is removed")
@click.option("-t", "--timeout", default=10, type=click.IntRange(0), help="Seconds to wait for containers to stop")
@click.pass_obj
def down(opts: Options, dry_run: bool, remove_orphans: bool, timeout: int) -> None:
    """Stop and remove the project's containers and networks (found by their labels).

    \b
    Example:
      pynet compose down
    """
    from pynet.compose import operations

    name = operations.project_name_only(opts.files, opts.project)
    plan = operations.down(name, dry_run=dry_run, timeout=float(timeout), report=echo)
    echo(plan.summary())
    if dry_run:
        echo("Dry run: nothing was changed.")


@compose.command("ps")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default: running ones)")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@click.option("--services", is_flag=True, help="Display services")
@click.option("--format", "fmt", default=None, help="Format the output: table, json, or a Go template")
@click.pass_obj
def ps(opts: Options, show_all: bool, quiet: bool, services: bool, fmt: str | None) -> None:
    """List the project's containers.

    \b
    Example:
      pynet compose ps --format json
    """
    from pynet.cli import formatting
    from pynet.compose import operations

    name = operations.project_name_only(opts.files, opts.project)
    rows = operations.project_containers(name, all_states=show_all)
    if services:
        for service in dict.fromkeys(r["Service"] for r in rows):
            echo(service)
        return
    out = formatting.format_list(
        rows,
        fmt,
        default_table=PS_TABLE,
        quiet_field="ID",
        quiet=quiet,
        headers=PS_HEADERS,
        type_name="api.ContainerSummary",
    )
    echo(out, nl=False)


@compose.command("config")
@click.option("-q", "--quiet", is_flag=True, help="Only validate the configuration, don't print anything")
@click.option("--services", is_flag=True, help="Print the service names, one per line")
@click.option("--networks", is_flag=True, help="Print the network names, one per line")
@click.pass_obj
def config(opts: Options, quiet: bool, services: bool, networks: bool) -> None:
    """Parse, check and print the file in canonical form (what pynet understood).

    \b
    Example:
      pynet compose -f compose.yaml config
    """
    from pynet.compose import operations

    project = operations.load_project(opts.files, opts.project)
    for line in project.warnings:
        _warn(line)
    if quiet:
        return
    if services or networks:
        for name in [s.name for s in project.services] if services else list(project.networks):
            echo(name)
        return
    echo(operations.config_yaml(project), nl=False)

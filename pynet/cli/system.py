"""``pynet system ...``: reset, firewall-reload, firewall-allow-docker, service (the Engine API)."""

from __future__ import annotations

import click

from pynet.cli.groups import Group
from pynet.errors import ExitStatus


@click.group(cls=Group)
def system() -> None:
    """Manage pynet on this host."""


def _controller():  # type: ignore[no-untyped-def]
    from pynet import wiring

    ctl = wiring.controller()
    ctl.ensure_ready()
    return ctl


@system.command("reset")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
def reset(force: bool) -> None:
    """Remove every container, user network and kernel object pynet made on this host."""
    if not force:
        click.echo("WARNING! This will remove all pynet containers and networks on this host.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    errors = _controller().reset()
    for line in errors:
        click.echo(line, err=True)
    if errors:
        raise ExitStatus(1)


@system.command("firewall-reload")
def firewall_reload() -> None:
    """Re-apply pynet's nftables rules from state (e.g. after `nft flush ruleset` or a dockerd restart)."""
    ctl = _controller()
    ctl.firewall_reload()
    for line in dict.fromkeys(ctl.notices):
        click.echo(line, err=True)


@system.command("firewall-allow-docker")
def firewall_allow_docker() -> None:
    """Add accept rules for pynet's bridges to Docker's DOCKER-USER (or another policy-drop forward chain).

    pynet does this by itself at `network create` unless PYNET_FOREIGN_FIREWALL=manual.
    """
    for line in _controller().firewall_allow_docker():
        click.echo(line)


@system.command("service")
@click.option("-H", "--host", default=None, help="unix:///PATH of the socket (default: $PYNET_RUN_DIR/docker.sock)")
@click.option(
    "-G", "--group", default=None, help='Group for the unix socket (default: "docker" if it exists, else root only)'
)
@click.option("-D", "--debug", is_flag=True, help="Log every request on stderr")
def service(host: str | None, group: str | None, debug: bool) -> None:
    """Serve the Docker Engine API on a unix socket, in the foreground (docs/engine-api.md).

    \b
    Example:
      pynet system service -H unix:///tmp/pynet.sock &
      DOCKER_HOST=unix:///tmp/pynet.sock docker network ls
    """
    from pynet.api import server

    server.serve(host, group, debug=debug)

"""Container commands: run, ps, inspect, exec, stop, kill, rm, logs, port (Docker's flags).

pynet has no images: ``pynet run [OPTIONS] COMMAND [ARG...]`` runs a host command in a
new sandbox (``--rootfs DIR`` chroots into a directory). The flags are declared here; the
bodies are in ``pynet.cli.container_actions`` (click-free, also run by the fast path).
"""

from __future__ import annotations

import click

from pynet.cli.base import action

RUN_CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": False}


@click.command("run", context_settings=RUN_CONTEXT)
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print container ID")
@click.option("--rm", "auto_remove", is_flag=True, help="Automatically remove the container when it exits")
@click.option("--name", default="", help="Assign a name to the container")
@click.option("--network", "--net", "network", multiple=True, help="Connect a container to a network")
@click.option("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
@click.option("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
@click.option("--mac-address", default="", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
@click.option("-h", "--hostname", default="", help="Container host name")
@click.option("--domainname", default="", help="Container NIS domain name")
@click.option(
    "--network-alias", "--net-alias", "aliases", multiple=True, help="Add network-scoped alias for the container"
)
@click.option("--dns", multiple=True, help="Set custom DNS servers")
@click.option("--dns-search", multiple=True, help="Set custom DNS search domains")
@click.option("--dns-option", "--dns-opt", "dns_options", multiple=True, help="Set DNS options")
@click.option("--add-host", multiple=True, help="Add a custom host-to-IP mapping (host:ip)")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables")
@click.option("-w", "--workdir", default="", help="Working directory inside the container")
@click.option("--rootfs", default="", help="Run the command chrooted into this directory")
@click.option("--image", default="", help="Run in this imported image (pynet image import)")
@click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host")
@click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports")
@click.option("--expose", multiple=True, help="Expose a port or a range of ports")
@click.option("-l", "--label", multiple=True, help="Set meta data on a container")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@action("pynet.cli.container_actions:run")
def run() -> None:
    """Run a command in a new container (its own network sandbox).

    \b
    Examples:
      pynet run -d --name c1 --network mynet sleep 1000
      pynet run --rm --network mynet ping -c1 c1
    """


@click.command("_exited", hidden=True)
@click.argument("container_id")
@click.argument("code", type=int)
@action("pynet.cli.container_actions:exited")
def exited() -> None:
    """(internal) record that a detached container exited."""


@click.command("ps")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows just running)")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", default=None, help="Pretty-print containers using a Go template")
@click.option("-n", "--last", default=-1, type=int, help="Show n last created containers")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container")
@action("pynet.cli.container_actions:ps")
def ps() -> None:
    """List containers."""


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using the given Go template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes (ignored)")
@click.option("--type", "kind", default="", help="Return JSON for specified type (container|network)")
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.container_actions:inspect")
def inspect() -> None:
    """Display detailed information on containers (and networks)."""


@click.command("exec", context_settings=RUN_CONTEXT)
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-w", "--workdir", default="", help="Working directory inside the container")
@click.option("-u", "--user", default="", help="(ignored) user")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@action("pynet.cli.container_actions:exec_")
def exec_() -> None:
    """Run a command in a running container."""


@click.command("stop")
@click.option("-t", "--time", "timeout", default=10, type=int, help="Seconds to wait for stop before killing it")
@click.option("-s", "--signal", "sig", default="SIGTERM", help="Signal to send to the container")
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.container_actions:stop")
def stop() -> None:
    """Stop one or more running containers."""


@click.command("kill")
@click.option("-s", "--signal", "sig", default="KILL", help="Signal to send to the container")
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.container_actions:kill")
def kill() -> None:
    """Kill one or more running containers."""


@click.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@click.option("-v", "--volumes", is_flag=True, help="(ignored) remove anonymous volumes")
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.container_actions:rm")
def rm() -> None:
    """Remove one or more containers."""


@click.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
@click.option("-t", "--timestamps", is_flag=True, help="(ignored) show timestamps")
@click.argument("container")
@action("pynet.cli.container_actions:logs")
def logs() -> None:
    """Fetch the output of a detached container."""


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False)
@action("pynet.cli.container_actions:port")
def port() -> None:
    """List port mappings for the container."""

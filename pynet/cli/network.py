"""``pynet network ...``: the flags of create, ls, inspect, rm, prune, connect, disconnect.

Docker's flags are declared here with click; the bodies are in
``pynet.cli.network_actions`` (click-free, also run by the fast path).
"""

from __future__ import annotations

import click

from pynet.cli.base import action, controller, echo
from pynet.cli.groups import Group

ALIASES = {"list": "ls", "remove": "rm"}


class AliasGroup(Group):
    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(name, name))

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        name, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else name), cmd, rest


@click.group(cls=AliasGroup)
def network() -> None:
    """Manage networks."""


# -- create ------------------------------------------------------------------------------
@network.command("create")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Driver to manage the Network")
@click.option("--subnet", multiple=True, help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", multiple=True, help="IPv4 or IPv6 Gateway for the master subnet")
@click.option("--ip-range", multiple=True, help="Allocate container ip from a sub-range")
@click.option("--aux-address", multiple=True, help="Auxiliary IPv4 or IPv6 addresses used by Network driver (name=ip)")
@click.option("--ipv6", is_flag=True, help="Enable IPv6 networking")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment")
@click.option("--ingress", is_flag=True, help="Create swarm routing-mesh network")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options (key=value)")
@click.option("--label", multiple=True, help="Set metadata on a network (key=value)")
@click.option("--ipam-driver", default="default", help="IP Address Management Driver")
@click.option("--ipam-opt", multiple=True, help="Set IPAM driver specific options")
@click.option("--scope", default="", help="Control the network's scope")
@click.option(
    "--ignore", is_flag=True, help="Succeed (print its ID) if a network of that name with these settings exists"
)
@click.argument("name")
@action("pynet.cli.network_actions:create")
def create() -> None:
    """Create a network.

    \b
    Example:
      pynet network create -d bridge --subnet 10.1.0.0/24 mynet
    """


# -- ls ------------------------------------------------------------------------------------
@network.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'driver=bridge')")
@click.option("--format", "fmt", default=None, help="Pretty-print networks using a Go template")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
@action("pynet.cli.network_actions:ls")
def ls() -> None:
    """List networks.

    \b
    Example:
      pynet network ls --filter driver=bridge --format '{{.Name}}'
    """


# -- inspect -------------------------------------------------------------------------------
@network.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using the given Go template")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics")
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.network_actions:inspect")
def inspect() -> None:
    """Display detailed information on one or more networks.

    \b
    Example:
      pynet network inspect -v mynet
    """


# -- rm / prune ----------------------------------------------------------------------------
@network.command("rm")
@click.option(
    "-f", "--force", is_flag=True, help="Disconnect its containers first; do not error if the network does not exist"
)
@click.argument("names", nargs=-1, required=True)
@action("pynet.cli.network_actions:rm")
def rm() -> None:
    """Remove one or more networks (goes on past failures).

    \b
    Example:
      pynet network rm -f mynet
    """


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    from pynet.cli import formatting
    from pynet.cnm import listing

    keep = listing.keep_filter(formatting.parse_filters(list(filters), listing.PRUNE_FILTERS))
    if not force:
        echo("WARNING! This will remove all custom networks not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    removed = controller().prune_networks(keep)
    if removed:
        echo("Deleted Networks:")
        for name in removed:
            echo(name)
        echo("")


# -- update --------------------------------------------------------------------------------
@network.command("update")
@click.option("--label-add", multiple=True, help="Add or change a label (key=value)")
@click.option("--label-rm", multiple=True, help="Remove a label (key)")
@click.option("--internal/--no-internal", default=None, help="Restrict external access to the network (or lift it)")
@click.option("--attachable/--no-attachable", default=None, help="Enable manual container attachment (or not)")
@click.argument("network_ref", metavar="NETWORK")
def update(
    label_add: tuple[str, ...],
    label_rm: tuple[str, ...],
    internal: bool | None,
    attachable: bool | None,
    network_ref: str,
) -> None:
    """Change a network's labels, --internal or --attachable, live (firewall included).

    \b
    Example:
      pynet network update --label-add team=web --internal mynet
    """
    from pynet.cli.base import print_notices
    from pynet.cli.network_actions import kv
    from pynet.cnm.networks import NetworkUpdate

    upd = NetworkUpdate(
        label_add=kv(label_add, "label"), label_rm=list(label_rm), internal=internal, attachable=attachable
    )
    if not (upd.label_add or upd.label_rm or internal is not None or attachable is not None):
        raise click.UsageError(
            "network update needs at least one of --label-add, --label-rm, --internal, --no-internal, --attachable, --no-attachable"
        )
    ctl = controller()
    net = ctl.update_network(network_ref, upd)
    print_notices(ctl)
    echo(net.id)


# -- connect / disconnect ------------------------------------------------------------------
@network.command("connect")
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
@click.option("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
@click.option("--link", multiple=True, help="Add link to another container (ignored: legacy)")
@click.option("--driver-opt", multiple=True, help="driver options for the network")
@click.argument("network_ref", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
@action("pynet.cli.network_actions:connect")
def connect() -> None:
    """Connect a container to a network."""


@network.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("network_ref", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
@action("pynet.cli.network_actions:disconnect")
def disconnect() -> None:
    """Disconnect a container from a network."""


# -- diagnose ------------------------------------------------------------------------------
@network.command("diagnose")
@click.option("-p", "--port", default=None, metavar="PORT[/PROTO]", help="Check a TCP or UDP port (e.g. 80, 53/udp)")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format"
)
@click.argument("src", metavar="SRC")
@click.argument("dst", metavar="DST")
@action("pynet.cli.diagnose:diagnose")
def diagnose() -> None:
    """Explain whether container SRC can reach DST, hop by hop.

    DST is a container, a name as SRC's DNS sees it, an IP address, or "host".
    Exit status: 0 reachable, 1 not reachable, 2 cannot tell.

    \b
    Example:
      pynet network diagnose web db --port 5432
    """

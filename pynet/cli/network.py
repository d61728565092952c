"""``pynet network ...``: create, ls, inspect, rm, prune, connect, disconnect (Docker's flags)."""

from __future__ import annotations


import click

from pynet.cli.main import ExitCode
from pynet.errors import InvalidArgument, PynetError

ALIASES = {"list": "ls", "remove": "rm"}


class AliasGroup(click.Group):
    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(name, name))

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[no-untyped-def]
        name, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd else name), cmd, rest


@click.group(cls=AliasGroup)
def network() -> None:
    """Manage networks."""


def _controller():  # type: ignore[no-untyped-def]
    from pynet.cnm.controller import Controller

    ctl = Controller()
    ctl.ensure_ready()
    return ctl


def _reader():  # type: ignore[no-untyped-def]
    from pynet.cnm.reader import open_repo

    return open_repo()


def _notices(ctl) -> None:  # type: ignore[no-untyped-def]
    for line in dict.fromkeys(ctl.notices):
        click.echo(line, err=True)


def _kv(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if what == "aux-address" and not sep:
            raise InvalidArgument(f"invalid argument \"{item}\" for \"--aux-address\" flag: bad format for aux-address: {item}",
                                  from_daemon=False)
        out[key] = value
    return out


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
@click.argument("name")
def create(name: str, driver: str, subnet: tuple[str, ...], gateway: tuple[str, ...],
           ip_range: tuple[str, ...], aux_address: tuple[str, ...], ipv6: bool, internal: bool,
           attachable: bool, ingress: bool, opt: tuple[str, ...], label: tuple[str, ...],
           ipam_driver: str, ipam_opt: tuple[str, ...], scope: str) -> None:
    """Create a network.

    \b
    Example:
      pynet network create -d bridge --subnet 10.1.0.0/24 mynet
    """
    from pynet.cnm.networks import NetworkCreateRequest

    req = NetworkCreateRequest(
        name=name, driver=driver, subnets=list(subnet), gateways=list(gateway),
        ip_ranges=list(ip_range), aux_addresses=_kv(aux_address, "aux-address"),
        enable_ipv6=ipv6, internal=internal, attachable=attachable, ingress=ingress,
        options=_kv(opt, "opt"), labels=_kv(label, "label"), ipam_driver=ipam_driver,
        ipam_options=_kv(ipam_opt, "ipam-opt"), scope=scope)
    ctl = _controller()
    net = ctl.create_network(req)
    _notices(ctl)
    click.echo(net.id)


# -- ls ------------------------------------------------------------------------------------
NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORK_HEADERS = {"ID": "NETWORK ID", "CreatedAt": "CREATED AT"}
FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}


@network.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'driver=bridge')")
@click.option("--format", "fmt", default=None, help="Pretty-print networks using a Go template")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
def ls(filters: tuple[str, ...], fmt: str | None, no_trunc: bool, quiet: bool) -> None:
    """List networks.

    \b
    Example:
      pynet network ls --filter driver=bridge --format '{{.Name}}'
    """
    from pynet.cli import formatting
    from pynet.cnm import views

    parsed = formatting.parse_filters(list(filters), FILTERS)
    repo = _reader()
    nets = sorted(repo.networks(), key=lambda n: formatting.natural_sort_key(n.name))
    items = []
    for net in nets:
        filter_item = views.network_filter_item(net)
        filter_item["containers"] = len(repo.ipam_state(net.id).get("endpoints") or {})
        if not formatting.match_network_filters(filter_item, parsed):
            continue
        item = views.network_ls_item(net)
        if no_trunc:
            item["ID"] = net.id
        items.append(item)
    out = formatting.format_list(items, fmt, default_table=NETWORK_TABLE, quiet_field="ID",
                                 quiet=quiet, headers=NETWORK_HEADERS)
    click.echo(out, nl=False)


# -- inspect -------------------------------------------------------------------------------
@network.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using the given Go template")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics")
@click.argument("names", nargs=-1, required=True)
def inspect(fmt: str | None, verbose: bool, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""
    from pynet.cli import formatting, gotemplate
    from pynet.cnm import views

    repo = _reader()
    found, missing = [], []
    for ref in names:
        net = repo.find_network(ref)
        if net is None:
            missing.append(ref)
        else:
            found.append(views.network_inspect(net, repo))
    try:
        click.echo(formatting.format_inspect(found, fmt), nl=False)
    except gotemplate.TemplateError as exc:
        click.echo(exc.output, nl=False)
        raise
    for ref in missing:
        click.echo(f"Error: No such network: {ref}", err=True)
    if missing:
        raise ExitCode(1)


# -- rm / prune ----------------------------------------------------------------------------
@network.command("rm")
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist")
@click.argument("names", nargs=-1, required=True)
def rm(force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more networks (goes on past failures)."""
    ctl = _controller()
    failed = False
    for ref in names:
        try:
            ctl.remove_network(ref)
            click.echo(ref)
        except PynetError as exc:
            if force and exc.message.startswith("No such network"):
                continue
            click.echo(exc.render(), err=True)
            failed = True
    if failed:
        raise ExitCode(1)


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    from pynet.cli import formatting
    from pynet.cli.prune import keep_filter

    parsed = formatting.parse_filters(list(filters), {"until", "label", "label!"})
    keep = keep_filter(parsed)
    if not force:
        click.echo("WARNING! This will remove all custom networks not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    removed = _controller().prune_networks(keep)
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)
        click.echo("")


# -- connect / disconnect ------------------------------------------------------------------
@network.command("connect")
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
@click.option("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
@click.option("--link", multiple=True, help="Add link to another container (ignored: legacy)")
@click.option("--driver-opt", multiple=True, help="driver options for the network")
@click.argument("network_ref", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
def connect(alias: tuple[str, ...], ip: str, ip6: str, link: tuple[str, ...],
            driver_opt: tuple[str, ...], network_ref: str, container: str) -> None:
    """Connect a container to a network."""
    from pynet.cnm.endpoints import AttachRequest

    _check_ip(ip, 4)
    _check_ip(ip6, 6)
    req = AttachRequest(ipv4=ip, ipv6=ip6, aliases=list(alias),
                        driver_opts=_kv(driver_opt, "driver-opt") or None)
    ctl = _controller()
    ctl.connect(network_ref, container, req)
    _notices(ctl)


@network.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("network_ref", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
def disconnect(force: bool, network_ref: str, container: str) -> None:
    """Disconnect a container from a network."""
    ctl = _controller()
    ctl.disconnect(network_ref, container, force)
    _notices(ctl)


def _check_ip(value: str, version: int) -> None:
    if not value:
        return
    import ipaddress

    try:
        ok = ipaddress.ip_address(value).version == version
    except ValueError:
        ok = False
    if not ok:
        flag = "--ip" if version == 4 else "--ip6"
        raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: invalid IP address', from_daemon=False)


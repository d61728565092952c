"""``pynet cluster ...``: join, leave, ls, rm (multi-host overlay networks over etcd)."""

from __future__ import annotations

import click

from pynet.cli.groups import Group

NODE_TABLE = "table {{.ID}}\t{{.Hostname}}\t{{.Address}}\t{{.Status}}"
NODE_HEADERS = {
    "ID": "ID",
    "Hostname": "HOSTNAME",
    "Address": "ADDRESS",
    "Status": "STATUS",
    "Name": "NAME",
    "Self": "SELF",
}


@click.group(cls=Group)
def cluster() -> None:
    """Manage this node's membership of a cluster (etcd) for overlay networks.

    \b
    Example (on every host; etcd runs where all hosts reach it):
      pynet cluster join --store etcd://10.0.0.10:2379 --advertise-addr 10.0.0.1
      pynet network create -d overlay --attachable ov1
    """


def _controller():  # type: ignore[no-untyped-def]
    from pynet import wiring

    ctl = wiring.controller()
    ctl.ensure_ready()
    return ctl


def _notices(ctl) -> None:  # type: ignore[no-untyped-def]
    for line in dict.fromkeys(ctl.notices):
        click.echo(line, err=True)


@cluster.command("join")
@click.option("--store", required=True, help="The cluster store: etcd://HOST:PORT")
@click.option("--advertise-addr", required=True, help="This node's address on the underlay (its VXLAN endpoint)")
@click.option("--ttl", default=5, show_default=True, type=int, help="Seconds after which a silent node counts as down")
@click.option("--hostname", default="", help="Name shown for this node (default: the host name)")
def join(store: str, advertise_addr: str, ttl: int, hostname: str) -> None:
    """Join this node to a cluster (again: no change)."""
    from pynet.cnm import cluster as svc

    svc.check_store_url(store)  # a malformed --store is refused before any state is touched
    ctl = _controller()
    message = svc.join(ctl, store=store, advertise_addr=advertise_addr, ttl=ttl, hostname=hostname)
    _notices(ctl)
    click.echo(message)


@cluster.command("leave")
@click.option("-f", "--force", is_flag=True, help="Leave even when the cluster store cannot be reached")
def leave(force: bool) -> None:
    """Leave the cluster (when not a member: nothing to do)."""
    from pynet.cnm import cluster as svc

    ctl = _controller()
    message = svc.leave(ctl, force=force)
    _notices(ctl)
    click.echo(message)


@cluster.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display node IDs")
@click.option("--format", "fmt", default=None, help="Pretty-print nodes using a Go template")
def ls(quiet: bool, fmt: str | None) -> None:
    """List the cluster's nodes: address and status (alive/down); * marks this node."""
    from pynet.cli import formatting
    from pynet.cnm import cluster as svc

    items = []
    for node in svc.nodes(_controller()):
        items.append(
            {
                "ID": node.id + (" *" if node.self and not quiet and not fmt else ""),
                "Name": node.name,
                "Hostname": node.hostname,
                "Address": node.addr,
                "Status": "alive" if node.alive else "down",
                "Self": str(node.self).lower(),
            }
        )
    out = formatting.format_list(
        items, fmt, default_table=NODE_TABLE, quiet=quiet, headers=NODE_HEADERS, type_name="*cluster.nodeContext"
    )
    if out:
        click.echo(out, nl=not out.endswith("\n"))


@cluster.command("rm")
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Remove the node although it may still be alive (its addresses are handed out again)",
)
@click.argument("node")
def rm(force: bool, node: str) -> None:
    """Forget a node that is gone for good (its endpoints and addresses too)."""
    from pynet.cnm import cluster as svc

    removed = svc.remove_node(_controller(), node, force=force)
    click.echo(removed.id)


@cluster.command("_sync", hidden=True)
def sync_() -> None:
    """(internal) Bring this node in line with the cluster store; run by the helper when
    the store no longer knows this node (removed by ``cluster rm`` while it was away)."""
    _notices(_controller())

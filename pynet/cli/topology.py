"""``pynet topology``: networks, their devices, every endpoint's veth pair and the sandboxes,
drawn as a tree (rich on a terminal, plain when piped), Graphviz dot, mermaid or JSON
(docs/topology.md)."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from pynet.cli.base import echo

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    Node = tuple[str, list["Node"]]

FORMATS = ("tree", "dot", "mermaid", "json")


@click.command("topology")
@click.option("--network", "network", metavar="NET", default="", help="Only this network (name or ID)")
@click.option("--format", "fmt", metavar="FORMAT", default="tree", help="tree, dot, mermaid or json")
def topology(network: str, fmt: str) -> None:
    """Draw what pynet built: networks, devices, veth pairs, sandboxes.

    Every device name shown is read from the kernel (`ip link` of the host or of the
    sandbox); one the kernel lacks is marked "absent".

    \b
    Example:
      pynet topology --format dot | dot -Tsvg > net.svg
    """
    from pynet.cli.base import reader
    from pynet.cnm import hostview
    from pynet.errors import InvalidArgument

    if fmt not in FORMATS:
        raise InvalidArgument(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", from_daemon=False)
    model = hostview.topology(reader(), network)
    if fmt == "json":
        echo(json.dumps(model, indent=2))
    elif fmt == "dot":
        echo(to_dot(model))
    elif fmt == "mermaid":
        echo(to_mermaid(model))
    elif sys.stdout.isatty():
        _print_rich(tree_nodes(model))
    else:
        echo(plain_tree(tree_nodes(model)))


# --------------------------------------------------------------------------- tree


def _dev(d: dict[str, Any]) -> str:
    if not d.get("present"):
        return f"{d['name']} (absent)"
    facts = [f"ifindex {d['ifindex']}", d.get("state") or "?"]
    return f"{d['name']} ({', '.join(facts)})"


def _addresses(ep: dict[str, Any]) -> str:
    return " ".join(a for a in (ep["ipv4"], ep["ipv6"]) if a)


def _endpoint_node(ep: dict[str, Any]) -> Node:
    head = f"{ep['container']}  {ep['sandbox']['ifname']} {_addresses(ep)}".rstrip()
    if ep["aliases"]:
        head += f"  aliases {','.join(ep['aliases'])}"
    if ep.get("link"):
        head += "  link " + ", ".join(f"{k}={v}" for k, v in ep["link"].items())
    sandbox = ep["sandbox"]
    inside = _dev({**sandbox, "name": sandbox["ifname"]})
    children: list[Node] = []
    if "host" in ep:
        children.append((f"host: {_dev(ep['host'])} <-> sandbox: {inside}", []))
    else:
        children.append((f"sandbox: {inside}", []))
    children.append((f"netns {sandbox['netns']}", []))
    return head, children


def tree_nodes(model: dict[str, Any]) -> list[Node]:
    """The drawing as (label, children) nodes: one per network, then the containers."""
    nodes: list[Node] = []
    for net in model["networks"]:
        head = f"network {net['name']} ({net['driver']}, {net['scope']}"
        head += ", internal)" if net["internal"] else ")"
        if net["subnets"]:
            head += "  " + " ".join(net["subnets"])
        children: list[Node] = [(f"{d['role']}: {_dev(d)}", []) for d in net["devices"]]
        children += [_endpoint_node(ep) for ep in net["endpoints"]]
        if net.get("nodes"):
            children.append(("cluster nodes", [(f"{n['name']} {n['ip']}", []) for n in net["nodes"]]))
        nodes.append((head, children))
    if model["containers"]:
        rows: list[Node] = []
        for c in model["containers"]:
            label = f"{c['name']} ({c['status']})  hostname {c['hostname']}"
            kids: list[Node] = [(f"netns {c['netns'] or '(the host)'}", [])]
            kids += [(f"port {p}", []) for p in c["ports"]]
            rows.append((label, kids))
        nodes.append(("containers", rows))
    return nodes


def plain_tree(nodes: list[Node]) -> str:
    """The tree in plain text (``├──``/``└──``), for pipes and files."""
    lines: list[str] = []

    def walk(children: list[Node], prefix: str) -> None:
        for i, (label, kids) in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}")
            walk(kids, prefix + ("    " if last else "│   "))

    for label, kids in nodes:
        lines.append(label)
        walk(kids, "")
    return "\n".join(lines)


def _print_rich(nodes: list[Node]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.tree import Tree

    def add(tree: Tree, children: list[Node]) -> None:
        for label, kids in children:
            style = "red" if "(absent)" in label else ""
            add(tree.add(f"[{style}]{escape(label)}[/]" if style else escape(label)), kids)

    console = Console()
    for label, kids in nodes:
        root = Tree(f"[bold]{escape(label)}[/]")
        add(root, kids)
        console.print(root)


# --------------------------------------------------------------------------- graphs


def _gid(*parts: str) -> str:
    return "_".join(p.replace("-", "_").replace(".", "_").replace("/", "_") for p in parts)


@dataclasses.dataclass(frozen=True)
class _Syntax:
    """One graph language's lines (``str.format`` templates) for :func:`_graph`'s walk."""

    head: tuple[str, ...]
    cluster: str  # {id} {title}
    network: str  # {id} {name} {subnets}
    device: str  # {id} {label}
    edge: str  # {a} {b}
    sandbox: str  # {id} {name} {rest}
    link: str  # {a} {b} {host}
    end: str
    tail: tuple[str, ...] = ()
    no_host: str = ""  # a link's label when the host side has no name


_DOT = _Syntax(
    head=("graph pynet {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"),
    cluster='  subgraph cluster_{id} {{ label="{title}";',
    network='    {id} [label="{name}\\n{subnets}", shape=ellipse];',
    device='    {id} [label="{label}"];',
    edge="    {a} -- {b};",
    sandbox='    {id} [label="{name}\\n{rest}", shape=component];',
    link='    {a} -- {b} [label="{host}"];',
    end="  }",
    tail=("}",),
)
_MERMAID = _Syntax(
    head=("flowchart LR",),
    cluster='  subgraph {id}_g["{title}"]',
    network='    {id}(["{name} {subnets}"])',
    device='    {id}["{label}"]',
    edge="    {a} --- {b}",
    sandbox='    {id}[["{name} {rest}"]]',
    link="    {a} ---|{host}| {b}",
    end="  end",
    no_host="link",
)


def _graph(model: dict[str, Any], syntax: _Syntax) -> str:
    """The one walk of the graph: a cluster per network, bridge/VXLAN nodes, veth pairs as
    edges from the bridge (else the network) to each sandbox."""
    out = list(syntax.head)
    for net in model["networks"]:
        nid = _gid("net", net["id"][:12])
        out.append(syntax.cluster.format(id=nid, title=f"{net['name']} ({net['driver']})"))
        out.append(syntax.network.format(id=nid, name=net["name"], subnets=" ".join(net["subnets"])))
        hub = nid
        for d in net["devices"]:
            did = _gid("dev", d["name"])
            out.append(syntax.device.format(id=did, label=f"{d['role']} {d['name']}"))
            out.append(syntax.edge.format(a=nid, b=did))
            hub = did if d["role"] == "bridge" else hub
        for ep in net["endpoints"]:
            sid = _gid("sbx", ep["container_id"][:12])
            rest = f"{ep['sandbox']['ifname']} {_addresses(ep)}"
            out.append(syntax.sandbox.format(id=sid, name=ep["container"], rest=rest))
            host = ep.get("host", {}).get("name", "") or syntax.no_host
            out.append(syntax.link.format(a=hub, b=sid, host=host))
        out.append(syntax.end)
    return "\n".join([*out, *syntax.tail])


def to_dot(model: dict[str, Any]) -> str:
    """Graphviz: a cluster per network, bridge/VXLAN nodes, veth pairs as edges."""
    return _graph(model, _DOT)


def to_mermaid(model: dict[str, Any]) -> str:
    """Mermaid flowchart: the same graph as :func:`to_dot`, for Markdown docs."""
    return _graph(model, _MERMAID)

"""What the kernel holds for pynet's CNM objects: the model behind ``pynet topology`` and
``network inspect -v`` (docs/topology.md).

Records say which devices a network and its endpoints own (the drivers declare them:
``Driver.kernel_devices``, ``Driver.endpoint_host_device``); one link dump per namespace
(``kernel.netlink.links_snapshot``) says what exists, with ifindexes and state. A device
the kernel does not hold is shown with ``"present": false``, never invented.
"""

from __future__ import annotations

import contextlib

from pynet.drivers import get_driver
from pynet.errors import PynetError
from pynet.kernel import netlink

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, Endpoint, Network


_INSPECT_KEYS = {
    "role": "Role",
    "name": "Name",
    "present": "Present",
    "ifindex": "Ifindex",
    "kind": "Kind",
    "state": "State",
    "mtu": "MTU",
    "addresses": "Addresses",
}


class KernelLinks:
    """Link dumps of the host and of sandboxes, each made once (by netns path)."""

    def __init__(self) -> None:
        self._dumps: dict[str, dict[str, dict[str, Any]]] = {}

    def of(self, netns: str = "") -> dict[str, dict[str, Any]]:
        """Links of the host ("") or of the sandbox at ``netns`` ({} when it is gone)."""
        if netns not in self._dumps:
            try:
                self._dumps[netns] = netlink.links_snapshot(netns or None)
            except (PynetError, OSError):
                self._dumps[netns] = {}
        return self._dumps[netns]


def _device(role: str, name: str, links: dict[str, dict[str, Any]]) -> dict[str, Any]:
    link = links.get(name)
    out: dict[str, Any] = {"role": role, "name": name, "present": link is not None}
    if link is not None:
        out.update(ifindex=link["ifindex"], kind=link["kind"], state=link["state"], mtu=link["mtu"])
        if link["addresses"]:
            out["addresses"] = list(link["addresses"])
    return out


def network_devices(net: Network, kernel: KernelLinks) -> list[dict[str, Any]]:
    """The host devices of ``net`` (bridge, VXLAN, macvlan parent), as the kernel has them."""
    declared = get_driver(net.driver).kernel_devices(net)
    return [_device(role, name, kernel.of()) for role, name in declared.items() if name]


def endpoint_view(net: Network, ep: Endpoint, c: Container | None, kernel: KernelLinks) -> dict[str, Any]:
    """One endpoint: both ends of its link (host side, sandbox side), addresses, aliases."""
    netns = c.netns_path if c is not None else ""
    inside = kernel.of(netns).get(ep.ifname) if netns else None
    view: dict[str, Any] = {
        "endpoint_id": ep.id,
        "container_id": ep.container_id,
        "container": ep.name,
        "sandbox": {"netns": netns, "ifname": ep.ifname, "present": inside is not None},
        "ipv4": ep.ipv4,
        "ipv6": ep.ipv6,
        "mac": ep.mac,
        "aliases": list(ep.aliases),
    }
    shaping = getattr(ep, "link", None)  # link shaping (Endpoint.link, branch `link`), when present
    if shaping:
        view["link"] = dict(shaping)
    if inside is not None:
        view["sandbox"].update(ifindex=inside["ifindex"], state=inside["state"], kind=inside["kind"])
    host_dev = get_driver(net.driver).endpoint_host_device(net, ep)
    if host_dev:
        link = kernel.of().get(host_dev)
        host: dict[str, Any] = {"name": host_dev, "present": link is not None}
        if link is not None:
            host.update(ifindex=link["ifindex"], state=link["state"], master=link["master"])
        view["host"] = host
    return view


def container_view(c: Container, repo: Repo) -> dict[str, Any]:
    """A sandbox as topology shows it: who, where, which names and ports."""
    from pynet.records.ports import port_lines

    ports: list[str] = []
    with contextlib.suppress(PynetError):
        ports = port_lines(c) if c.status in ("created", "running") else []
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "network_mode": c.network_mode,
        "hostname": c.hostname,
        "netns": c.netns_path,
        "networks": [n.name for n in (repo.network(i) for i in c.endpoints) if n is not None],
        "ports": ports,
    }


def network_view(net: Network, repo: Repo, kernel: KernelLinks) -> dict[str, Any]:
    """One network: devices, endpoints (both ends), cluster peers."""
    endpoints = []
    for ep in sorted(repo.network_endpoints(net.id), key=lambda e: (e.name, e.id)):
        endpoints.append(endpoint_view(net, ep, repo.container(ep.container_id), kernel))
    view: dict[str, Any] = {
        "id": net.id,
        "name": net.name,
        "driver": net.driver,
        "scope": net.scope,
        "internal": net.internal,
        "subnets": [p.subnet for p in net.ipam_config],
        "gateways": [p.gateway for p in net.ipam_config if p.gateway],
        "devices": network_devices(net, kernel),
        "endpoints": endpoints,
    }
    peers = net.driver_data.get("peers")
    if peers:
        view["nodes"] = [{"name": p.get("Name", ""), "ip": p.get("IP", "")} for p in peers]
    return view


def topology(repo: Repo, network: str = "") -> dict[str, Any]:
    """``pynet topology``: every network (or the one named) with its devices and endpoints,
    and the containers whose sandboxes they reach."""
    from pynet.errors import NotFound

    if network:
        net = repo.find_network(network)
        if net is None:
            raise NotFound(f"network {network} not found")
        nets = [net]
    else:
        nets = sorted(repo.networks(), key=lambda n: (not n.builtin, n.name))
    kernel = KernelLinks()
    networks = [network_view(n, repo, kernel) for n in nets]
    wanted = {ep["container_id"] for n in networks for ep in n["endpoints"]}
    containers = [
        container_view(c, repo)
        for c in sorted(repo.containers(), key=lambda c: c.name)
        if c.id in wanted or (not network and c.status in ("created", "running"))
    ]
    return {"networks": networks, "containers": containers}


def inspect_verbose(net: Network, repo: Repo, view: dict[str, Any]) -> dict[str, Any]:
    """``network inspect -v``: Docker's view of ``net`` plus the kernel side — per endpoint
    (in ``Containers``) the host veth and its ifindex, the sandbox netns and interface; for
    the network its devices and pynet's nftables sets and chains."""
    from pynet.firewall import hooks

    kernel = KernelLinks()
    for ep in repo.network_endpoints(net.id):
        entry = view["Containers"].get(ep.container_id)
        if entry is None:
            continue
        ev = endpoint_view(net, ep, repo.container(ep.container_id), kernel)
        host = ev.get("host") or {}
        sandbox = ev["sandbox"]
        entry["Kernel"] = {
            "HostInterface": host.get("name", ""),
            "HostIfindex": host.get("ifindex", 0),
            "Master": host.get("master", ""),
            "SandboxKey": sandbox["netns"],
            "SandboxInterface": sandbox["ifname"],
            "SandboxIfindex": sandbox.get("ifindex", 0),
        }
    published = []
    for ep in repo.network_endpoints(net.id):
        c = repo.container(ep.container_id)
        if c is not None and c.ports:
            published.append((ep, c.ports))
    view["Kernel"] = {
        "Devices": [{_INSPECT_KEYS[k]: v for k, v in d.items()} for d in network_devices(net, kernel)],
        "Firewall": hooks.network_view(net, published) if get_driver(net.driver).firewalled else None,
    }
    return view

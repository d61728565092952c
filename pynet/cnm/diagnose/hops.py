"""The hops of the path: SRC's route and interface, the bridge/VXLAN ports and DST's end,
the neighbour entry, link shaping, DST's listener (facts from pynet.kernel)."""

from __future__ import annotations

from pynet.cnm.diagnose.base import Target, WalkBase, link_up, names
from pynet.cnm.diagnose.verdict import Step
from pynet.kernel import netlink, probes
from pynet.kernel.vxlan import vxlan_name
from pynet.records.links import parse_link_shape

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.records.model import Container


class HopChecks(WalkBase):
    """Route, links, neighbour, shaping, listener: each records a Step or stops the walk."""

    def _check_route(self, target: Target) -> dict[str, Any]:
        route = netlink.route_to(target.ip, self._src_netns)
        if route is None or route["type"] != "unicast":
            nets = [n for n, _ in self._src_endpoints()]
            if nets and all(n.internal for n in nets):
                self.fail(
                    "route",
                    f"no route to {target.ip}: {names([n.name for n in nets])} internal",
                    "internal-network",
                    f"pynet network connect bridge {self._src_name}",
                )
            self.fail("route", f"no route to {target.ip} in {self._src_name}", "no-route", "")
        for net, ep in self._src_endpoints():
            if ep.ifname == route["dev"]:
                self.net, self.src_ep = net, ep
        link = netlink.link_facts(route["dev"], self._src_netns)
        where = f"{self._src_name} {route['dev']}"
        if link is None or not link["up"] or not link["addresses"]:
            state = "missing" if link is None else ("down" if not link["up"] else "without an address")
            self.fail(
                "SRC interface",
                f"{where} is {state}",
                "link-down",
                link_up(self.src, route["dev"]),
            )
        self.ok("SRC interface", f"{where} up, {', '.join(link['addresses'])}")
        via = f" via {route['gateway']}" if route["gateway"] else ""
        self.ok("route", f"{target.ip} dev {route['dev']}{via}")
        return route

    def _check_ports(self, target: Target, route: dict[str, Any]) -> None:
        if self.net is None or self.src_ep is None or self.src is None:
            return
        bridge = self.net.driver_data.get("bridge")
        hops: list[tuple[Container | None, str, str | None, Any]] = []
        if bridge:
            hops.append((None, self.src_ep.driver_data.get("host_ifname", ""), bridge, (self.src, self.src_ep.ifname)))
            hops.append((None, bridge, None, None))
        if target.kind == "container" and target.ep is not None and target.container is not None:
            peer = (target.container, target.ep.ifname)
            if bridge:
                hops.append((None, target.ep.driver_data.get("host_ifname", ""), bridge, peer))
            hops.append((*peer, None, None))
        if target.kind == "peer" and bridge and "vni" in self.net.driver_data:
            hops.append((None, vxlan_name(int(self.net.driver_data["vni"])), bridge, None))
        for container, name, master, peer in hops:
            if name:
                self._check_link(container, name, master, peer)
        hop = route["gateway"] or target.ip
        state = netlink.neigh_state(route["dev"], hop, self._src_netns)
        if state and "FAILED" in state:
            self.steps.append(Step("neighbour", False, f"{hop} on {route['dev']}: FAILED (no ARP answer yet)"))
        else:
            self.ok("neighbour", f"{hop} on {route['dev']}: " + (state or "no entry yet (ARP on the first packet)"))

    def _check_link(self, container: Container | None, name: str, master: str | None, peer: Any) -> None:
        """One link on the path; a port that does not forward because its peer (the
        container's end of the veth) is down names that end and the fix there."""
        netns = container.netns_path if container is not None else None
        where = f"{container.name} {name}" if container is not None else name
        link = netlink.link_facts(name, netns)
        if link is None or not link["up"]:
            self.fail(
                "link", f"{where} is {'missing' if link is None else 'down'}", "link-down", link_up(container, name)
            )
        if master and link["master"] != master:
            self.fail("link", f"{where} is not a port of {master}", "link-down", "")
        if link["port_state"] not in (None, "forwarding"):
            detail = f"{where}: {master} port {link['port_state']}"
            peer_link = netlink.link_facts(peer[1], peer[0].netns_path) if peer else None
            if peer and (peer_link is None or not peer_link["up"]):
                self.fail(
                    "link",
                    f"{detail}: its peer {peer[0].name} {peer[1]} is down",
                    "link-down",
                    link_up(peer[0], peer[1]),
                )
            self.fail("link", detail, "link-down", link_up(container, name))
        detail = f"{where} up" + (f", {master} port {link['port_state']}" if link["port_state"] else "")
        self.ok("link", detail + ("" if container or link["master"] else f", oper {link['oper'].lower()}"))

    def _check_shaping(self, target: Target) -> None:
        """Link shaping (``pynet link``) on SRC's or DST's endpoint: loss drops what that
        container receives, so either end's loss cuts a round trip."""
        seen = []
        for c, ep in ((self.src, self.src_ep), (target.container, target.ep)):
            if c is None or ep is None or not ep.link:
                continue
            shape = parse_link_shape(ep.link)
            net = self.repo.network(ep.network_id)
            where = f"{c.name} {ep.ifname}"
            if shape.loss >= 100:
                self.fail(
                    "link shaping",
                    f"{where}: {shape.loss:g}% loss",
                    "link-loss",
                    f"pynet link clear {c.name}" + (f" --network {net.name}" if net else ""),
                )
            seen.append(f"{where}: " + ", ".join(f"{k} {v}" for k, v in shape.to_text().items() if v))
        self.ok("link shaping", "; ".join(seen) if seen else "none on the path")

    def _check_listener(self, target: Target) -> None:
        if not self.port or target.kind == "host":
            return
        if target.kind in ("outside", "peer") or target.container is None:
            where = "on another host" if target.kind == "peer" else "outside pynet"
            self.ok("listener", f"{target.ip}:{self.port}/{self.proto}: {where}, not checked")
            return
        self._listener_in(target.container, target.ip, self.port)

    def _listener_in(self, c: Container, ip: str, port: int) -> None:
        held = probes.listeners(c.netns_path, self.proto)
        if held & {(a, port) for a in ("0.0.0.0", "::", ip)}:
            self.ok("listener", f"{c.name} listens on {port}/{self.proto}")
            return
        others = sorted({p for _, p in held})
        hint = f" (it listens on {', '.join(map(str, others))})" if others else ""
        self.fail(
            "listener",
            f"nothing listens on {port}/{self.proto} in {c.name}{hint}",
            "no-listener",
            f"start a server on {port}/{self.proto} in {c.name}",
        )

"""Walk the path from SRC to DST: gather each fact (pynet.kernel) and judge it, in packet order.

The steps, in order: SRC running; where DST is (a container, a name SRC's DNS resolves,
an address, the host); the networks they share; SRC's interface; SRC's route; the bridge
ports and the neighbour entry; the firewall (pynet's own policy from its records, other
tables through ``nftpath``); link shaping; DST's listener. The first failing check gives
the cause and the fix; the probe (``pynet.kernel.probes``) then says what really happens.
docs/diagnose.md.
"""

from __future__ import annotations

import ipaddress

from pynet.cnm.diagnose import nftpath
from pynet.cnm.diagnose.verdict import Diagnosis, Finding, Step, conclude
from pynet.cnm.processes import container_running
from pynet.kernel import netlink, probes
from pynet.kernel.vxlan import vxlan_name
from pynet.records import options as opt
from pynet.records.links import parse_link_shape

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, Endpoint, Network

RESOLVER = "127.0.0.11"
ALLOW_CMD = "pynet system firewall-allow-docker"


class _Stop(Exception):
    """The first failing check: the walk ends here (its Finding is set)."""


class Target:
    """Where DST is: ``kind`` container|host|outside, its address, its container/endpoint."""

    def __init__(self, kind: str, ip: str, container: Container | None = None, ep: Endpoint | None = None) -> None:
        self.kind, self.ip, self.container, self.ep = kind, ip, container, ep


class PathWalk:
    """One ``network diagnose SRC DST [--port]``: call :meth:`run` once."""

    def __init__(self, repo: Repo, src: str, dst: str, port: int = 0, proto: str = "tcp") -> None:
        self.repo, self.src_ref, self.dst_ref, self.port, self.proto = repo, src, dst, port, proto
        self.steps: list[Step] = []
        self.finding = Finding()
        self.src: Container | None = None
        self.net: Network | None = None  # the network SRC's packet leaves through
        self.src_ep: Endpoint | None = None
        self.target: Target | None = None

    # -- bookkeeping ----------------------------------------------------------------
    def ok(self, check: str, detail: str) -> None:
        self.steps.append(Step(check, True, detail))

    def fail(self, check: str, detail: str, cause: str, fix: str) -> None:
        self.steps.append(Step(check, False, detail))
        self.finding = Finding(cause, fix)
        raise _Stop

    def run(self) -> Diagnosis:
        try:
            self._locate()
            assert self.target is not None
            self._check_path(self.target)
        except _Stop:
            pass
        # a probe needs a running SRC and an address: not sent after not-running/name-not-resolved
        ready = self.target is not None and self.finding.cause not in ("not-running", "name-not-resolved")
        probe = self._probe(self.target) if ready and self.target is not None else None
        if probe is not None and probe.get("refused") and self.finding.cause == "ok":
            # a listener pynet could not read (another host, outside): DST itself refused
            self.finding = Finding("no-listener", f"start a server on {self.port}/{self.proto} at {probe['target']}")
        return conclude(self.steps, self.finding, probe)

    # -- SRC and DST -----------------------------------------------------------------
    def _locate(self) -> None:
        src = self.src = self.repo.get_container(self.src_ref)
        if not container_running(src):
            self.fail("SRC running", f"{src.name} is {src.status}", "not-running", _restart(src.name))
        self.ok("SRC running", f"{src.name} (pid {src.pid})")
        self.target = self._target()

    def _target(self) -> Target:
        dst = self.dst_ref
        if dst == "host":
            return self._host_target()
        if _is_ip(dst):
            return self._address_target(dst)
        found = self.repo.find_container(dst)
        if found is not None:
            return self._container_target(found, by_name=not found.id.startswith(dst))
        return self._name_target(dst)

    def _host_target(self) -> Target:
        for net, ep in self._src_endpoints():
            if ep.gateway:
                self.ok("DST", f"host: {ep.gateway}, the gateway of {net.name}")
                return Target("host", ep.gateway)
        self.fail("DST", f"{self._src_name} has no network with a gateway", "no-route", "")
        raise AssertionError("unreachable")

    def _address_target(self, ip: str) -> Target:
        owner = self._endpoint_with(ip)
        if owner is not None:
            c = self.repo.container(owner.container_id)
            if c is not None:
                return self._container_target(c, by_name=False, ip=ip)
        route = netlink.route_to(ip)
        if route is not None and route["type"] == "local":
            self.ok("DST", f"{ip}: an address of the host")
            return Target("host", ip)
        net = self._network_with(ip)
        if net is not None:
            return self._peer_target(net, ip)
        self.ok("DST", f"{ip}: outside pynet's networks" + (f", via {route['dev']}" if route else ""))
        return Target("outside", ip)

    def _peer_target(self, net: Network, ip: str) -> Target:
        """An address in a pynet subnet that no local endpoint holds: a container on another
        host of a cluster-wide network SRC is on, or nobody."""
        if net.scope == "global" and net.id in (self.src.endpoints if self.src else {}):
            self.ok("DST", f"{ip} on {net.name}: not on this host (a cluster peer)")
            return Target("peer", ip)
        self.fail(
            "DST",
            f"no container on {net.name} has {ip}",
            "no-such-address",
            f"pynet network inspect {net.name} (lists the addresses in use)",
        )
        raise AssertionError("unreachable")

    def _name_target(self, name: str) -> Target:
        answers = self._resolve(name)
        ip = answers[0]
        target = self._address_target(ip)
        return target

    def _container_target(self, c: Container, *, by_name: bool, ip: str = "") -> Target:
        if not container_running(c):
            self.fail("DST running", f"{c.name} is {c.status}", "not-running", _restart(c.name))
        self.ok("DST", f"container {c.name}" + (f" ({ip})" if ip else ""))
        shared = [(net, ep) for net, ep in self._src_endpoints() if net.id in c.endpoints]
        if not shared:
            theirs = self._endpoints_of(c)
            addresses = [ep for _, ep in theirs if ep.ipv4]
            if addresses:  # probed all the same: the packet goes to the gateway and is dropped there
                self.target = Target("container", ip or _addr(addresses[0].ipv4), c, addresses[0])
            mine = [n.name for n, _ in self._src_endpoints()]
            self.fail(
                "shared network",
                f"{self._src_name} is on {_names(mine)}, {c.name} on {_names([n.name for n, _ in theirs])}",
                "no-shared-network",
                f"pynet network connect {theirs[0][0].name} {self._src_name}" if theirs else "",
            )
        net, _ = shared[0]
        dst_ep = self.repo.endpoint(c.endpoints[net.id])
        if dst_ep is None or not dst_ep.ipv4:
            self.fail("shared network", f"{c.name} has no IPv4 address on {net.name}", "no-route", "")
        self.ok("shared network", ", ".join(n.name for n, _ in shared))
        if by_name:
            self._resolve(self.dst_ref, expect=_addr(dst_ep.ipv4))
        return Target("container", ip or _addr(dst_ep.ipv4), c, dst_ep)

    def _resolve(self, name: str, expect: str = "") -> list[str]:
        """Ask SRC's 127.0.0.11 for ``name`` from inside SRC, as its resolver would."""
        from pynet.dns import wire

        if not self._uses_embedded_dns():
            if expect:
                self.ok("DNS", f"{self._src_name} has no embedded DNS (default bridge): by address {expect}")
                return [expect]
            self.fail(
                "DNS",
                f"{self._src_name} is only on the default bridge: no DNS names there",
                "name-not-resolved",
                f"pynet network create NET && pynet network connect NET {self._src_name}",
            )
        reply = probes.dns_exchange(self._src_netns, RESOLVER, wire.build_query(name, qid=0x5A5A))
        answers = wire.answer_addresses(reply) if reply else []
        if not answers:
            said = "no answer" if reply is None else f"rcode {wire.rcode_of(reply)}, no address"
            nets = [n.name for n, _ in self._src_endpoints() if not n.builtin]
            self.fail(
                "DNS",
                f"{name} via {RESOLVER} in {self._src_name}: {said}",
                "name-not-resolved",
                f"pynet network connect --alias {name} {nets[0] if nets else 'NETWORK'} CONTAINER "
                "(or use a container name on that network)",
            )
        self.ok("DNS", f"{name} -> {', '.join(answers)} (via {RESOLVER})")
        return answers

    # -- the path ------------------------------------------------------------------
    def _check_path(self, target: Target) -> None:
        route = self._check_route(target)
        self._check_ports(target, route)
        self._check_firewall(target, route)
        self._check_shaping(target)
        self._check_listener(target)

    def _check_route(self, target: Target) -> dict[str, Any]:
        route = netlink.route_to(target.ip, self._src_netns)
        if route is None or route["type"] != "unicast":
            nets = [n for n, _ in self._src_endpoints()]
            if nets and all(n.internal for n in nets):
                self.fail(
                    "route",
                    f"no route to {target.ip}: {_names([n.name for n in nets])} internal",
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
                f"nsenter --net={self._src_netns} ip link set {route['dev']} up",
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
                "link", f"{where} is {'missing' if link is None else 'down'}", "link-down", _link_up(container, name)
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
                    _link_up(peer[0], peer[1]),
                )
            self.fail("link", detail, "link-down", _link_up(container, name))
        detail = f"{where} up" + (f", {master} port {link['port_state']}" if link["port_state"] else "")
        self.ok("link", detail + ("" if container or link["master"] else f", oper {link['oper'].lower()}"))

    # -- firewall ------------------------------------------------------------------
    def _check_firewall(self, target: Target, route: dict[str, Any]) -> None:
        if self.net is None:
            return
        if target.kind in ("container", "peer"):
            self._pynet_same_network()
            if probes.sysctl("net/bridge/bridge-nf-call-iptables") != "1":
                self.ok("firewall (others)", "bridged: br_netfilter off, no forward chain sees it")
                return
            pkt = self._packet("forward", self._bridge, self._bridge, target.ip, self.port)
        elif target.kind == "host":
            published = self._published_target(target) if self.port else None
            if published is not None:
                self._check_published(published)
                return
            self.ok("firewall (pynet)", "to the host: pynet filters nothing on input")
            pkt = self._packet("input", self._bridge, "", target.ip, self.port)
        else:
            self._pynet_outside()
            out = netlink.route_to(target.ip)
            pkt = self._packet("forward", self._bridge, out["dev"] if out else "", target.ip, self.port)
        self._foreign(pkt)

    def _pynet_same_network(self) -> None:
        assert self.net is not None
        if not opt.bool_option(self.net.options, opt.BRIDGE_ENABLE_ICC):
            self.fail(
                "firewall (pynet)",
                f"{self.net.name} has enable_icc=false: containers on it cannot talk",
                "icc-disabled",
                f"pynet network create NET && pynet network connect NET {self._src_name} "
                f"&& pynet network connect NET {self._dst_name}",
            )
        self.ok("firewall (pynet)", f"same network {self.net.name}: allowed")

    def _pynet_outside(self) -> None:
        assert self.net is not None
        if self.net.internal:
            self.fail(
                "firewall (pynet)",
                f"{self.net.name} is internal: nothing is forwarded out",
                "internal-network",
                f"pynet network connect bridge {self._src_name}",
            )
        if probes.sysctl("net/ipv4/ip_forward") != "1":
            self.fail(
                "firewall (pynet)",
                "net.ipv4.ip_forward=0 on the host",
                "forwarding-off",
                "sysctl -w net.ipv4.ip_forward=1",
            )
        self.ok("firewall (pynet)", f"out of {self.net.name}: forwarded and masqueraded")

    def _foreign(self, pkt: nftpath.Packet) -> None:
        verdict = nftpath.judge(probes.ruleset(), pkt)
        if verdict.verdict == "drop":
            self.fail(
                "firewall (others)",
                f"{pkt.hook}: dropped by {verdict.where}",
                "foreign-firewall-drop",
                _foreign_fix(verdict.rule),
            )
        if verdict.doubts:
            self.steps.append(Step("firewall (others)", False, "; ".join(verdict.doubts)))
            self.finding = Finding("foreign-firewall-drop", "", certain=False)
            return
        self.ok("firewall (others)", f"{pkt.hook}: no other table drops it")

    def _packet(self, hook: str, iif: str, oif: str, daddr: str, port: int, *, dnat: bool = False) -> nftpath.Packet:
        assert self.src_ep is not None
        proto = self.proto if port else "icmp"
        return nftpath.Packet(hook, iif, oif, _addr(self.src_ep.ipv4), daddr, proto, port, dnat)

    # -- published ports -------------------------------------------------------------
    def _published_target(self, target: Target) -> tuple[Container, Endpoint, int] | None:
        loopback = ""
        spec = f"{self.port}:PORT" + ("/udp" if self.proto == "udp" else "")
        fix = f"pynet run -d -p {spec} ... (publish the container's PORT on {self.port})"
        for c in self.repo.containers():
            for b in c.ports:
                if b.proto != self.proto or b.host_port != self.port:
                    continue
                if b.host_ip in ("", "0.0.0.0", target.ip) and c.endpoints:
                    ep = self.repo.endpoint(next(iter(c.endpoints.values())))
                    if ep is not None and ep.ipv4:
                        self.ok(
                            "published",
                            f"{target.ip}:{self.port}/{self.proto} -> {c.name} {_addr(ep.ipv4)}:{b.container_port}",
                        )
                        return c, ep, b.container_port
                if b.host_ip.startswith("127."):
                    loopback = f"{c.name} publishes {self.port}/{self.proto} on {b.host_ip} only (loopback)"
                    spec = f"{self.port}:{b.container_port}"
                    fix = f"re-create {c.name} with -p {spec} instead of -p {b.host_ip}:{spec}"
        if probes.listeners(None, self.proto) & {(a, self.port) for a in ("0.0.0.0", "::", target.ip)}:
            self.ok("listener", f"a host process listens on {self.port}/{self.proto}")
            return None  # the input path decides
        self.fail(
            "published",
            loopback or f"no container publishes {self.port}/{self.proto} and no host process listens on it",
            "port-not-published",
            fix,
        )
        return None

    def _check_published(self, published: tuple[Container, Endpoint, int]) -> None:
        c, ep, cport = published
        assert self.net is not None
        if not container_running(c):
            self.fail("DST running", f"{c.name} is {c.status}", "not-running", _restart(c.name))
        dst_net = self.repo.network(ep.network_id)
        dst_bridge = dst_net.driver_data.get("bridge", "") if dst_net else ""
        if self.net.internal and dst_bridge != self._bridge:
            self.fail(
                "firewall (pynet)",
                f"{self.net.name} is internal: nothing is forwarded out",
                "internal-network",
                f"pynet network connect bridge {self._src_name}",
            )
        same = dst_bridge == self._bridge
        if same and not opt.bool_option(self.net.options, opt.BRIDGE_ENABLE_ICC):
            self.fail(
                "firewall (pynet)", f"hairpin on {self.net.name} (enable_icc=false) is dropped", "icc-disabled", ""
            )
        self.ok("firewall (pynet)", f"DNAT to {c.name}: allowed (ct status dnat)")
        self._foreign(self._packet("forward", self._bridge, dst_bridge, _addr(ep.ipv4), cport, dnat=True))
        self._listener_in(c, _addr(ep.ipv4), cport)

    # -- shaping and listeners ----------------------------------------------------------
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

    # -- the probe -------------------------------------------------------------------
    def _probe(self, target: Target) -> dict[str, Any]:
        netns = self._src_netns
        if not self.port:
            return probes.icmp_echo(netns, target.ip)
        if self.proto == "tcp":
            return probes.tcp_connect(netns, target.ip, self.port)
        echo = probes.icmp_echo(netns, target.ip)
        return probes.udp_send(netns, target.ip, self.port) if echo["ok"] else echo

    # -- helpers ---------------------------------------------------------------------
    @property
    def _src_name(self) -> str:
        return self.src.name if self.src else self.src_ref

    @property
    def _dst_name(self) -> str:
        target = getattr(self, "target", None)
        return target.container.name if target is not None and target.container else self.dst_ref

    @property
    def _src_netns(self) -> str:
        assert self.src is not None
        return self.src.netns_path

    @property
    def _bridge(self) -> str:
        return str(self.net.driver_data.get("bridge", "")) if self.net else ""

    def _uses_embedded_dns(self) -> bool:
        return any(not net.builtin for net, _ in self._src_endpoints())

    def _src_endpoints(self) -> list[tuple[Network, Endpoint]]:
        assert self.src is not None
        return self._endpoints_of(self.src)

    def _endpoints_of(self, c: Container) -> list[tuple[Network, Endpoint]]:
        out = []
        for net_id, ep_id in c.endpoints.items():
            net, ep = self.repo.network(net_id), self.repo.endpoint(ep_id)
            if net is not None and ep is not None:
                out.append((net, ep))
        return out

    def _network_with(self, ip: str) -> Network | None:
        addr = ipaddress.ip_address(ip)
        for net in self.repo.networks():
            if any(p.subnet and addr in ipaddress.ip_network(p.subnet, strict=False) for p in net.ipam_config):
                return net
        return None

    def _endpoint_with(self, ip: str) -> Endpoint | None:
        addr = ipaddress.ip_address(ip)
        for net in self.repo.networks():
            if any(p.subnet and addr in ipaddress.ip_network(p.subnet, strict=False) for p in net.ipam_config):
                for ep in self.repo.network_endpoints(net.id):
                    if _addr(ep.ipv4) == ip:
                        return ep
        return None


def diagnose(repo: Repo, src: str, dst: str, port: int = 0, proto: str = "tcp") -> Diagnosis:
    """Walk SRC -> DST (see the module doc) and confirm with a probe from SRC's namespace."""
    return PathWalk(repo, src, dst, port, proto).run()


def _is_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _addr(cidr: str) -> str:
    return cidr.split("/")[0]


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "no network"


def _link_up(container: Container | None, name: str) -> str:
    if container is None:
        return f"ip link set {name} up"
    return f"pynet exec {container.name} ip link set {name} up"


def _restart(name: str) -> str:
    return f"pynet rm {name} && pynet run -d --name {name} ... (pynet has no start)"


def _foreign_fix(rule: dict[str, Any] | None) -> str:
    """A policy drop: pynet's accept rules; a rule: the command that deletes it (the user's call)."""
    if rule is None:
        return ALLOW_CMD
    return f"nft delete rule {rule['family']} {rule['table']} {rule['chain']} handle {rule['handle']} (if that rule is not wanted)"

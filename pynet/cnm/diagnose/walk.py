"""Walk the path from SRC to DST: gather each fact (pynet.kernel) and judge it, in packet order.

The steps, in order: SRC running; where DST is (a container, a name SRC's DNS resolves,
an address, the host); the networks they share; SRC's interface; SRC's route; the bridge
ports and the neighbour entry; the firewall (pynet's own policy from its records, other
tables through ``nftpath``); link shaping; DST's listener. The first failing check gives
the cause and the fix; the probe (``pynet.kernel.probes``) then says what really happens.
docs/diagnose.md.
"""

from __future__ import annotations

from pynet.cnm.diagnose.base import Stop, Target, addr, is_ip, names, restart
from pynet.cnm.diagnose.filtering import FirewallChecks
from pynet.cnm.diagnose.hops import HopChecks
from pynet.cnm.diagnose.verdict import Diagnosis, Finding, conclude
from pynet.cnm.processes import container_running
from pynet.kernel import netlink, probes

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, Network

RESOLVER = "127.0.0.11"


class PathWalk(HopChecks, FirewallChecks):
    """One ``network diagnose SRC DST [--port]``: call :meth:`run` once."""

    def run(self) -> Diagnosis:
        try:
            self._locate()
            assert self.target is not None
            self._check_path(self.target)
        except Stop:
            pass
        # a probe needs a running SRC and an address: not sent after not-running/name-not-resolved
        ready = self.target is not None and self.finding.cause not in ("not-running", "name-not-resolved")
        probe = self._probe(self.target) if ready and self.target is not None else None
        if probe is not None and probe.get("refused") and self.finding.cause == "ok":
            # a listener pynet could not read (another host, outside): DST itself refused
            self.finding = Finding("no-listener", f"start a server on {self.port}/{self.proto} at {probe['target']}")
        return conclude(self.steps, self.finding, probe)

    def _locate(self) -> None:
        src = self.src = self.repo.get_container(self.src_ref)
        if not container_running(src):
            self.fail("SRC running", f"{src.name} is {src.status}", "not-running", restart(src.name))
        self.ok("SRC running", f"{src.name} (pid {src.pid})")
        self.target = self._target()

    def _target(self) -> Target:
        dst = self.dst_ref
        if dst == "host":
            return self._host_target()
        if is_ip(dst):
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
        held = self._networks_with(ip)
        if held:
            return self._peer_target(held[0], ip)
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
            self.fail("DST running", f"{c.name} is {c.status}", "not-running", restart(c.name))
        self.ok("DST", f"container {c.name}" + (f" ({ip})" if ip else ""))
        shared = [(net, ep) for net, ep in self._src_endpoints() if net.id in c.endpoints]
        if not shared:
            theirs = self._endpoints_of(c)
            addresses = [ep for _, ep in theirs if ep.ipv4]
            if addresses:  # probed all the same: the packet goes to the gateway and is dropped there
                self.target = Target("container", ip or addr(addresses[0].ipv4), c, addresses[0])
            mine = [n.name for n, _ in self._src_endpoints()]
            self.fail(
                "shared network",
                f"{self._src_name} is on {names(mine)}, {c.name} on {names([n.name for n, _ in theirs])}",
                "no-shared-network",
                f"pynet network connect {theirs[0][0].name} {self._src_name}" if theirs else "",
            )
        net, _ = shared[0]
        dst_ep = self.repo.endpoint(c.endpoints[net.id])
        if dst_ep is None or not dst_ep.ipv4:
            self.fail("shared network", f"{c.name} has no IPv4 address on {net.name}", "no-route", "")
        self.ok("shared network", ", ".join(n.name for n, _ in shared))
        if by_name:
            self._resolve(self.dst_ref, expect=addr(dst_ep.ipv4))
        return Target("container", ip or addr(dst_ep.ipv4), c, dst_ep)

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

    def _check_path(self, target: Target) -> None:
        route = self._check_route(target)
        self._check_ports(target, route)
        self._check_firewall(target, route)
        self._check_shaping(target)
        self._check_listener(target)

    def _probe(self, target: Target) -> dict[str, Any]:
        netns = self._src_netns
        if not self.port:
            return probes.icmp_echo(netns, target.ip)
        if self.proto == "tcp":
            return probes.tcp_connect(netns, target.ip, self.port)
        echo = probes.icmp_echo(netns, target.ip)
        return probes.udp_send(netns, target.ip, self.port) if echo["ok"] else echo


def diagnose(repo: Repo, src: str, dst: str, port: int = 0, proto: str = "tcp") -> Diagnosis:
    """Walk SRC -> DST (see the module doc) and confirm with a probe from SRC's namespace."""
    return PathWalk(repo, src, dst, port, proto).run()

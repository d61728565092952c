"""The firewall's verdict on the packet: pynet's own policy judged from its records
(isolation, enable_icc, internal networks, published ports, loopback-only publishing) and
every other table's chains through ``nftpath`` (docs/diagnose.md)."""

from __future__ import annotations

from pynet.cnm.diagnose import nftpath
from pynet.cnm.diagnose.base import Target, WalkBase, addr, foreign_fix, restart
from pynet.cnm.diagnose.verdict import Finding, Step
from pynet.cnm.processes import container_running
from pynet.kernel import netlink, probes
from pynet.records import options as opt

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.records.model import Container, Endpoint


class FirewallChecks(WalkBase):
    """pynet's policy and the other tables, for the packet SRC sends to DST."""

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
                foreign_fix(verdict.rule),
            )
        if verdict.doubts:
            self.steps.append(Step("firewall (others)", False, "; ".join(verdict.doubts)))
            self.finding = Finding("foreign-firewall-drop", "", certain=False)
            return
        self.ok("firewall (others)", f"{pkt.hook}: no other table drops it")

    def _packet(self, hook: str, iif: str, oif: str, daddr: str, port: int, *, dnat: bool = False) -> nftpath.Packet:
        assert self.src_ep is not None
        proto = self.proto if port else "icmp"
        return nftpath.Packet(hook, iif, oif, addr(self.src_ep.ipv4), daddr, proto, port, dnat)

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
                            f"{target.ip}:{self.port}/{self.proto} -> {c.name} {addr(ep.ipv4)}:{b.container_port}",
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
            self.fail("DST running", f"{c.name} is {c.status}", "not-running", restart(c.name))
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
        self._foreign(self._packet("forward", self._bridge, dst_bridge, addr(ep.ipv4), cport, dnat=True))
        self._listener_in(c, addr(ep.ipv4), cport)

"""What every step of the path walk shares: the walk's state, its marks, lookups, fix texts.

``PathWalk`` (walk.py) is this plus the hop checks (hops.py) and the firewall checks
(filtering.py); docs/diagnose.md.
"""

from __future__ import annotations

import ipaddress

from pynet.cnm.diagnose.verdict import Finding, Step

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, Endpoint, Network

ALLOW_CMD = "pynet system firewall-allow-docker"


class Stop(Exception):
    """The first failing check: the walk ends here (its Finding is set)."""


class Target:
    """Where DST is: ``kind`` container|peer|host|outside, its address, its container/endpoint."""

    def __init__(self, kind: str, ip: str, container: Container | None = None, ep: Endpoint | None = None) -> None:
        self.kind, self.ip, self.container, self.ep = kind, ip, container, ep


class WalkBase:
    """The state of one walk and the lookups every check uses."""

    def __init__(self, repo: Repo, src: str, dst: str, port: int = 0, proto: str = "tcp") -> None:
        self.repo, self.src_ref, self.dst_ref, self.port, self.proto = repo, src, dst, port, proto
        self.steps: list[Step] = []
        self.finding = Finding()
        self.src: Container | None = None
        self.net: Network | None = None  # the network SRC's packet leaves through
        self.src_ep: Endpoint | None = None
        self.target: Target | None = None

    def ok(self, check: str, detail: str) -> None:
        self.steps.append(Step(check, True, detail))

    def fail(self, check: str, detail: str, cause: str, fix: str) -> None:
        self.steps.append(Step(check, False, detail))
        self.finding = Finding(cause, fix)
        raise Stop

    @property
    def _src_name(self) -> str:
        return self.src.name if self.src else self.src_ref

    @property
    def _dst_name(self) -> str:
        target = self.target
        return target.container.name if target is not None and target.container else self.dst_ref

    @property
    def _src_netns(self) -> str | None:
        """SRC's namespace; None (the host's) for a ``--network host`` container."""
        assert self.src is not None
        return self.src.netns_path or None

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

    def _networks_with(self, ip: str) -> list[Network]:
        """pynet's networks whose subnets hold ``ip``."""
        wanted = ipaddress.ip_address(ip)
        return [
            net
            for net in self.repo.networks()
            if any(p.subnet and wanted in ipaddress.ip_network(p.subnet, strict=False) for p in net.ipam_config)
        ]

    def _endpoint_with(self, ip: str) -> Endpoint | None:
        """The endpoint (of any container on this host) that holds ``ip``."""
        for net in self._networks_with(ip):
            for ep in self.repo.network_endpoints(net.id):
                if addr(ep.ipv4) == ip:
                    return ep
        return None


def is_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def addr(cidr: str) -> str:
    return cidr.split("/")[0]


def names(items: list[str]) -> str:
    return ", ".join(items) if items else "no network"


def link_up(container: Container | None, name: str) -> str:
    if container is None:
        return f"ip link set {name} up"
    return f"pynet exec {container.name} ip link set {name} up"


def restart(name: str) -> str:
    return f"pynet rm {name} && pynet run -d --name {name} ... (pynet has no start)"


def foreign_fix(rule: dict[str, Any] | None) -> str:
    """A policy drop: pynet's accept rules; a rule: the command that deletes it (the user's call)."""
    if rule is None:
        return ALLOW_CMD
    return f"nft delete rule {rule['family']} {rule['table']} {rule['chain']} handle {rule['handle']} (if that rule is not wanted)"

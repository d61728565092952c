"""Endpoint service: join a container's Sandbox to a Network, and take it off again.

``attach`` = IPAM reservation + driver create_endpoint + join (Docker's ``connect``);
``detach`` = leave + delete_endpoint + IPAM release (``disconnect``). Kernel steps are
logged in the undo log before they run; state changes go to the open transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pynet.cnm import events
from pynet.records.model import Container, Endpoint, Network
from pynet.cnm.repo import Repo
from pynet.drivers import driver_class, get_driver, ipam
from pynet.records.undo import UndoLog
from pynet.faults import fault
from pynet.errors import Conflict, Forbidden, InvalidArgument
from pynet.ids import new_id


@dataclass
class AttachRequest:
    """Per-network settings of ``run --network``/``connect``."""

    ipv4: str = ""
    ipv6: str = ""
    aliases: list[str] = field(default_factory=list)
    mac: str = ""
    driver_opts: dict[str, str] | None = None
    #: recorded and shown as asked (the Engine API's Links, IPAMConfig.LinkLocalIPs)
    links: list[str] = field(default_factory=list)
    link_local_ips: list[str] = field(default_factory=list)


class EndpointService:
    def __init__(self, repo: Repo, undo: UndoLog) -> None:
        self.repo = repo
        self.undo = undo

    def attach(self, c: Container, net: Network, req: AttachRequest) -> Endpoint:
        self.validate(c, net, req)
        driver = get_driver(net.driver)
        head = self.repo.ipam_head(net.id)
        count = int(head.get("count") or 0)
        driver.check_capacity(net, count)
        ep = Endpoint(
            id=new_id(),
            network_id=net.id,
            container_id=c.id,
            name=c.name,
            ifname=_next_ifname(self.repo, c),
            aliases=list(req.aliases),
            driver_opts=req.driver_opts,
            ipam_request={k: v for k, v in (("IPv4Address", req.ipv4), ("IPv6Address", req.ipv6)) if v},
        )
        space = ipam.AddressSpace.from_dict(head.get("space"), net.ipam_config)
        ipam.ipam_for(net, driver, space).assign(net, ep, req.ipv4, req.ipv6, self.undo)
        fault("ipam_reserve")
        ep.mac = req.mac or (ipam.mac_from_ipv4(ep.ipv4.split("/")[0]) if ep.ipv4 else _random_mac())
        if not driver.network_present(net):
            driver.restore_network(net)  # bridge lost (reboot, manual delete): make it again
        driver.create_endpoint(net, ep, self.undo)
        driver.join(net, ep, c.sandbox(default_gateway=_is_gateway_endpoint(self.repo, c, net)), self.undo)
        self.repo.put_ipam_space(net.id, space.to_compact(), count + 1)
        self.repo.put_member(net.id, ep.id, c.id, [a for a in (ep.ipv4, ep.ipv6) if a])
        self.repo.put_endpoint(ep)
        c.endpoints[net.id] = ep.id
        self.repo.emit(events.network_event("connect", net, container=c.id))
        return ep

    def validate(self, c: Container, net: Network, req: AttachRequest) -> None:
        """Refuse, before any work, what Docker refuses for this container on this network."""
        self.validate_join(c, net)
        self.validate_settings(net, req)

    def validate_join(self, c: Container, net: Network) -> None:
        """Whether ``c`` may join ``net`` at all (the Engine API's create checks only this:
        dockerd checks the addresses and aliases asked for when the container starts)."""
        refusal = driver_class(net.driver).attach_refusal
        if refusal:
            raise Forbidden(refusal)
        if net.id in c.endpoints:
            raise Conflict(f"endpoint with name {c.name} already exists in network {net.name}")

    def validate_settings(self, net: Network, req: AttachRequest) -> None:
        """The addresses and aliases asked for, against what ``net`` can give."""
        user_net = not net.builtin
        if (req.ipv4 or req.ipv6) and not user_net:
            raise InvalidArgument("user specified IP address is supported on user defined networks only")
        if req.aliases and not user_net:
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        if req.ipv4 and not any(p.user_configured and not p.is_ipv6 for p in net.ipam_config):
            raise InvalidArgument(
                "user specified IP address is supported only when connecting to networks with user configured subnets"
            )
        if req.ipv6 and not any(p.user_configured and p.is_ipv6 for p in net.ipam_config):
            raise InvalidArgument(
                "user specified IP address is supported only when connecting to networks with user configured subnets"
            )

    def detach(self, c: Container, net: Network) -> None:
        """Leave and delete the endpoint of ``c`` on ``net``; goes on when objects are gone."""
        ep_id = c.endpoints.pop(net.id, None)
        if ep_id:
            self.repo.emit(events.network_event("disconnect", net, container=c.id))
        ep = self.repo.endpoint(ep_id) if ep_id else None
        if ep is not None:
            driver = get_driver(net.driver)
            driver.leave(net, ep, c.sandbox())
            driver.delete_endpoint(net, ep)
            ipam.ipam_for(net, driver).release_endpoint(net, ep)
            self.repo.delete_endpoint(ep.id)
        self._release(net, ep_id)

    def _release(self, net: Network, ep_id: str | None) -> None:
        if not ep_id:
            return
        member = self.repo.member(net.id, ep_id)
        if member is None:
            return  # released already (idempotent teardown)
        head = self.repo.ipam_head(net.id)
        space = ipam.AddressSpace.from_dict(head.get("space"), net.ipam_config)
        ipam.LocalIPAM(space).release_addresses(net, member.get("addresses", []))
        self.repo.put_ipam_space(net.id, space.to_compact(), max(0, int(head.get("count") or 0) - 1))
        self.repo.delete_member(net.id, ep_id)


def _random_mac() -> str:
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02  # unicast, locally administered
    return ":".join(f"{b:02x}" for b in raw)


def _next_ifname(repo: Repo, c: Container) -> str:
    used = set()
    for ep_id in c.endpoints.values():
        ep = repo.endpoint(ep_id)
        if ep is not None:
            used.add(ep.ifname)
    n = 0
    while f"eth{n}" in used:
        n += 1
    return f"eth{n}"


def _is_gateway_endpoint(repo: Repo, c: Container, net: Network) -> bool:
    """Only the first non-internal network gives the sandbox its default route."""
    if net.internal:
        return False
    for net_id in c.endpoints:
        other = repo.network(net_id)
        if other is not None and not other.internal:
            return False
    return True

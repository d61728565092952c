"""The IPAM interface: where a network's pools and its endpoints' addresses come from.

libnetwork's ``ipamapi.Ipam``, as the core uses it. ``pynet.drivers.ipam.ipam_for`` picks
the implementation for a network: ``local`` (Docker's default IPAM), ``remote`` (an IPAM
plugin, ``--ipam-driver NAME``), ``cluster`` (cluster-wide, in etcd: overlay) or ``NoIPAM``
(host, null). Every ``request``/``assign`` logs its release in the undo log (or leaves it
to the caller's state transaction), so a failed command gives everything back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

    from pynet.records.model import Endpoint, IPAMPool, Network
    from pynet.records.undo import UndoLog


@dataclass
class PoolRequest:
    """What ``network create`` asks of IPAM (the ``--subnet``... flags, as given)."""

    name: str
    ipam_driver: str = "default"
    enable_ipv6: bool = False
    subnets: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    ip_ranges: list[str] = field(default_factory=list)
    aux_addresses: dict[str, str] = field(default_factory=dict)
    #: the subnets of the other networks (read only by an IPAM that needs them)
    used_subnets: Callable[[], list[str]] = list
    #: the same subnets as (version, first, last) integer spans, when the caller keeps them
    #: (the network summary does): see :meth:`used_spans`
    used_subnet_spans: Callable[[], list[tuple[int, int, int]]] | None = None
    #: the host's own routes: what a pool IPAM *chooses* must avoid as well
    host_subnets: Callable[[], list[str]] = list

    def used_spans(self) -> list[tuple[int, int, int]]:
        """The other networks' subnets as spans (what ``pools.check_overlap`` compares):
        the caller's, else parsed from ``used_subnets()``."""
        if self.used_subnet_spans is not None:
            return self.used_subnet_spans()
        from pynet.drivers.ipam.pools import subnet_spans

        return subnet_spans(self.used_subnets())


class IPAM(ABC):
    """Reserve and release a network's pools and its endpoints' addresses."""

    @abstractmethod
    def request_pools(self, req: PoolRequest, net: Network, undo: UndoLog) -> list[IPAMPool]:
        """The network's pools, gateway and aux addresses reserved."""

    @abstractmethod
    def assign(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
        """Set ``ep.ipv4``/``ep.gateway`` (and v6); Conflict/Unavailable as Docker says."""

    @abstractmethod
    def release_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Give the endpoint's addresses back; idempotent."""

    @abstractmethod
    def release_network(self, net: Network) -> None:
        """Give the network's gateway, aux addresses and pools back; idempotent."""


class NoIPAM(IPAM):
    """Networks without addresses of their own (host, null)."""

    def request_pools(self, req: PoolRequest, net: Network, undo: UndoLog) -> list[IPAMPool]:
        return list(net.ipam_config)

    def assign(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str, undo: UndoLog) -> None:
        return None

    def release_endpoint(self, net: Network, ep: Endpoint) -> None:
        return None

    def release_network(self, net: Network) -> None:
        return None

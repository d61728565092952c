"""The Driver interface (libnetwork's driverapi verbs) and the undo log drivers write to.

Drivers receive records (IDs, never user names), touch the kernel only through
``pynet.kernel``, and log every kernel resource BEFORE creating it (``UndoLog.add``)
so a failure — or a kill -9 — can be rolled back by ``pynet.cnm.rollback``.
Delete verbs are idempotent: an object already gone is success.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any, ClassVar

from pynet.errors import Unsupported
from pynet.records.model import Endpoint, Network, Sandbox
from pynet.records.undo import NullUndo, UndoLog


class Driver(ABC):
    """A network type. Subclasses set ``name`` and declare their abilities below.

    The core (``pynet.cnm``) reads only these declarations, never a driver's name: adding
    a driver is one module plus one line in ``pynet.drivers._BUILTIN``.
    """

    name: ClassVar[str]
    scope: ClassVar[str] = "local"
    #: False for drivers without addresses (host, null)
    needs_ipam: ClassVar[bool] = True
    #: True when the host has exactly one network of this driver, the built-in one (host, null)
    singleton: ClassVar[bool] = False
    #: the container's NetworkMode on such a network ("host", "none"); "" = the network's name
    container_mode: ClassVar[str] = ""
    #: Docker's refusal of ``connect`` (and of a second network) for a network of this driver;
    #: "" = containers attach (host, null have no endpoints: the mode is the whole network)
    attach_refusal: ClassVar[str] = ""
    #: True when ``run -p`` maps host ports to its endpoints (DNAT); else -p is ignored
    publishes_ports: ClassVar[bool] = False
    #: True when pynet's nftables rules (isolation, masquerade, DNAT) are made for its networks
    firewalled: ClassVar[bool] = False
    #: True when its networks' kernel objects are made again after a reboot
    restores_on_boot: ClassVar[bool] = False
    #: True when its networks' records live in the cluster store (synced to every member)
    cluster_store: ClassVar[bool] = False
    #: True when containers on its (user-defined) networks get the embedded DNS server;
    #: recorded in each network (``Network.embedded_dns``) for the helper daemon to read
    embedded_dns: ClassVar[bool] = True

    def validate_create(self, net: Network) -> None:
        """Check and normalise options before the kernel is touched (raise InvalidArgument).

        May fill ``net.driver_data`` (device names, MTU). Default: accept.
        """

    @abstractmethod
    def create_network(self, net: Network, undo: UndoLog) -> None:
        """Make the network's kernel objects."""

    @abstractmethod
    def delete_network(self, net: Network) -> None:
        """Remove them; success when already gone."""

    def restore_network(self, net: Network) -> None:
        """Re-create missing kernel objects after a reboot (idempotent). Default: create."""
        self.create_network(net, NullUndo())

    def network_present(self, net: Network) -> bool:
        """True when the network's kernel objects exist (used to detect a reboot)."""
        return True

    def in_use(self, net: Network) -> bool:
        """True when endpoints the local state does not count use ``net`` (other hosts)."""
        return False

    def update_network(self, old: Network, new: Network) -> list[str]:
        """Apply a live change of settings (``network update``); return notices.

        Labels and ``attachable`` are state only. Default: an ``internal`` change is refused
        (a driver whose kernel objects enforce it overrides this).
        """
        if old.internal != new.internal:
            raise Unsupported(f"network driver {self.name} cannot change --internal of an existing network")
        return []

    def check_capacity(self, net: Network, endpoints: int) -> None:
        """Raise Unavailable when ``net`` (holding ``endpoints``) can take no more. Default: no limit."""

    def create_endpoint(self, net: Network, ep: Endpoint, undo: UndoLog) -> None:
        """Prepare an endpoint (may set ``ep.mac`` and ``ep.driver_data``)."""

    def delete_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Remove endpoint resources; success when already gone."""

    def join(self, net: Network, ep: Endpoint, sandbox: Sandbox, undo: UndoLog) -> None:
        """Plumb the endpoint into the sandbox (interface, addresses, routes)."""

    def leave(self, net: Network, ep: Endpoint, sandbox: Sandbox) -> None:
        """Reverse of join; success when the sandbox or interface is already gone."""

    def kernel_devices(self, net: Network) -> dict[str, str]:
        """The host's kernel devices of ``net`` by role (``bridge``, ``vxlan``, ``parent``),
        as ``topology`` and ``network inspect -v`` show them; none by default."""
        return {}

    def endpoint_host_device(self, net: Network, ep: Endpoint) -> str:
        """The host-side device of ``ep`` (a veth's host end); "" when it has none."""
        return str(ep.driver_data.get("host_ifname", ""))

    def undo_resource(self, resource: dict[str, Any]) -> None:
        """Remove a driver-specific resource logged as ``{"kind": "driver", "driver": name, ...}``."""


class AddressAllocator(ABC):
    """Optional ability: a driver that allocates endpoint addresses itself (cluster-wide IPAM).

    A driver that also derives from this class has the core skip the local IPAM for its
    networks.
    """

    @abstractmethod
    def allocate_addresses(self, net: Network, ep: Endpoint, preferred_v4: str, preferred_v6: str) -> None:
        """Set ``ep.ipv4``/``ep.gateway`` (and v6) — raise Conflict/Unavailable as IPAM would."""

    @abstractmethod
    def release_addresses(self, net: Network, ep: Endpoint) -> None:
        """Free what allocate_addresses took; idempotent."""


class ClusterMember(ABC):
    """Optional ability of a ``cluster_store`` driver: this host's share of a global network.

    The core's cluster operations (``pynet.cnm.cluster``) reach the driver only through it.
    """

    @abstractmethod
    def remove_local(self, net: Network) -> None:
        """Remove this host's devices of ``net``; success when they are gone already."""

    @abstractmethod
    def peer_record(self, ep: Endpoint, sandbox: Sandbox, cfg: Any) -> dict[str, Any]:
        """What the other members need to reach (and resolve) ``ep``."""

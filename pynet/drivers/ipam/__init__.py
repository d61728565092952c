"""IPAM: where networks' pools and endpoints' addresses come from, behind one interface.

``base.IPAM`` is the interface (request/release pools, assign/release addresses);
``ipam_for`` is the registry: it gives a network's implementation — ``local.LocalIPAM``
(Docker's default IPAM, no I/O; its pieces are ``consolidate``, ``pools``, ``space``),
``remote.PluginIPAM`` (an IPAM plugin over HTTP), ``cluster.ClusterIPAM`` (cluster-wide, in
etcd, for a driver that is an ``AddressAllocator``) or ``base.NoIPAM``. The core calls only
this package's top level (import-linter keeps it so); see design.md, "CNM objects".
"""

from __future__ import annotations

from pynet.drivers.base import AddressAllocator, Driver
from pynet.drivers.ipam.base import IPAM, NoIPAM, PoolRequest
from pynet.drivers.ipam.local import LocalIPAM
from pynet.drivers.ipam.pools import choose_subnet, mac_from_ipv4, subnet_spans
from pynet.drivers.ipam.space import AddressSpace
from pynet.records.model import Network

__all__ = [
    "IPAM",
    "AddressSpace",
    "LocalIPAM",
    "PoolRequest",
    "choose_subnet",
    "ipam_for",
    "mac_from_ipv4",
    "subnet_spans",
]


def ipam_for(net: Network, driver: Driver, space: AddressSpace | None = None) -> IPAM:
    """The IPAM of ``net`` (``space``: its local allocator state, when the caller loaded it).

    An IPAM plugin named by ``--ipam-driver`` gives the pools; a driver that allocates
    addresses cluster-wide gives the addresses; everything else is Docker's default IPAM.
    """
    if not driver.needs_ipam:
        return NoIPAM()
    plugin = None
    if _names_plugin(net.ipam_driver):
        from pynet.drivers.ipam.remote import PluginIPAM  # the HTTP client only when used

        plugin = PluginIPAM()
    if isinstance(driver, AddressAllocator):
        from pynet.drivers.ipam.cluster import ClusterIPAM

        return ClusterIPAM(driver, plugin)
    return plugin or LocalIPAM(space)


def _names_plugin(ipam_driver: str) -> bool:
    """True when ``--ipam-driver`` names a plugin (not Docker's built-in ``default``)."""
    return ipam_driver not in ("", "default")

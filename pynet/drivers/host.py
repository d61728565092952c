"""The host and null drivers: the built-in ``host`` and ``none`` networks.

``host``: the container shares the host's network stack (no sandbox of its own).
``null``: the sandbox has only ``lo``. Neither makes kernel objects for the network.
"""

from __future__ import annotations

from pynet.records.model import HOST_MODE, NONE_MODE, Network
from pynet.drivers.base import Driver
from pynet.records.undo import UndoLog


class HostDriver(Driver):
    name = "host"
    needs_ipam = False
    singleton = True
    container_mode = HOST_MODE
    embedded_dns = False
    attach_refusal = "container cannot be disconnected from host network or connected to host network"

    def create_network(self, net: Network, undo: UndoLog) -> None:
        pass

    def delete_network(self, net: Network) -> None:
        pass


class NullDriver(Driver):
    name = "null"
    needs_ipam = False
    singleton = True
    container_mode = NONE_MODE
    embedded_dns = False
    attach_refusal = (
        "container cannot be connected to multiple networks with one of the networks in private (none) mode"
    )

    def create_network(self, net: Network, undo: UndoLog) -> None:
        pass

    def delete_network(self, net: Network) -> None:
        pass

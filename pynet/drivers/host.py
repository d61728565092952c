"""The host and null drivers: the built-in ``host`` and ``none`` networks.

``host``: the container shares the host's network stack (no sandbox of its own).
``null``: the sandbox has only ``lo``. Neither makes kernel objects for the network.
"""

from __future__ import annotations

from pynet.records.model import Network
from pynet.drivers.base import Driver, UndoLog


class HostDriver(Driver):
    name = "host"
    needs_ipam = False
    singleton = True

    def create_network(self, net: Network, undo: UndoLog) -> None:
        pass

    def delete_network(self, net: Network) -> None:
        pass


class NullDriver(Driver):
    name = "null"
    needs_ipam = False
    singleton = True

    def create_network(self, net: Network, undo: UndoLog) -> None:
        pass

    def delete_network(self, net: Network) -> None:
        pass

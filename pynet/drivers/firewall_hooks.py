"""Where the bridge driver hands over to the nftables firewall (``pynet.drivers.firewall``).

Kept apart so the driver reads as plain plumbing and the firewall can be swapped or
disabled (``PYNET_FIREWALL=none``) without touching it.
"""

from __future__ import annotations

import os

from pynet.cnm.model import Endpoint, Network
from pynet.drivers.base import UndoLog
from pynet.faults import fault

#: user-facing notices produced while the command ran (printed by the CLI on stderr)
NOTICES: list[str] = []


def enabled() -> bool:
    return os.environ.get("PYNET_FIREWALL", "nftables") != "none"


def network_up(net: Network, undo: UndoLog) -> None:
    if not enabled():
        return
    from pynet.drivers import firewall

    fault("nft_apply")
    NOTICES.extend(firewall.setup_network(net, undo))


def network_down(net: Network) -> None:
    if not enabled():
        return
    from pynet.drivers import firewall

    firewall.teardown_network(net)



def publish(net: Network, ep: Endpoint, bindings: list, in_use: set, undo: UndoLog) -> list:
    """Resolve host ports (random ones, conflicts) and install the DNAT rules."""
    from pynet.drivers import firewall

    resolved = firewall.allocate_host_ports(firewall.effective_bindings(net, bindings), in_use)
    if enabled():
        firewall.publish(net, ep, resolved, undo)
        fault("nft_apply")  # after the DNAT is live: a crash here must not leave it behind
    return resolved


def unpublish(net: Network, ep: Endpoint, bindings: list) -> None:
    if not enabled():
        return
    from pynet.drivers import firewall

    firewall.unpublish(net, ep, bindings)

"""Where the bridge driver hands over to the nftables firewall (``pynet.firewall.policy``).

Kept apart so the driver reads as plain plumbing and the firewall can be swapped or
disabled (``PYNET_FIREWALL=none``) without touching it.
"""

from __future__ import annotations

import os

from pynet.records.model import Endpoint, Network
from pynet.records.undo import UndoLog
from pynet.faults import fault

#: user-facing notices produced while the command ran (printed by the CLI on stderr)
NOTICES: list[str] = []
_healed = False


def enabled() -> bool:
    return os.environ.get("PYNET_FIREWALL", "nftables") != "none"


def network_up(net: Network, undo: UndoLog) -> None:
    if not enabled():
        return
    from pynet.firewall import policy

    fault("nft_apply")
    NOTICES.extend(policy.setup_network(net, undo))


def network_changed(old: Network, new: Network) -> list[str]:
    """``network update``: swap ``old``'s elements for ``new``'s (one transaction)."""
    if not enabled():
        return []
    from pynet.firewall import policy

    fault("nft_apply")
    return policy.update_network(old, new)


def network_down(net: Network) -> None:
    if not enabled():
        return
    from pynet.firewall import policy

    policy.teardown_network(net)


def heal() -> None:
    """Under the lock, before a command's work: put back pynet's accept rules in foreign chains.

    dockerd re-creates its chains when it restarts, and a user may flush them; pynet
    notices at its next command. A failure there is reported, and the command goes on.
    """
    global _healed
    if _healed or not enabled():
        return
    _healed = True  # once per command: `run` takes the lock up to three times
    from pynet.firewall import policy
    from pynet.errors import PynetError

    try:
        NOTICES.extend(policy.heal_foreign())
    except PynetError as exc:  # reported; the user's command does not depend on it
        NOTICES.append(
            f"WARNING: could not restore pynet's accept rules in other tables' "
            f"forward chains: {exc.message}; run `pynet system firewall-reload`"
        )


def publish(net: Network, ep: Endpoint, bindings: list, in_use: set, undo: UndoLog) -> list:
    """Resolve host ports (random ones, conflicts) and install the DNAT rules."""
    from pynet.firewall import policy

    resolved = policy.allocate_host_ports(policy.effective_bindings(net, bindings), in_use)
    if enabled():
        policy.publish(net, ep, resolved, undo)
        fault("nft_apply")  # after the DNAT is live: a crash here must not leave it behind
    return resolved


def unpublish_targets(net: Network, ep: Endpoint) -> None:
    """Drop every published port leading to ``ep`` (its bindings are not known)."""
    if not enabled():
        return
    from pynet.firewall import policy

    policy.unpublish_targets(net, ep)


def network_view(net: Network, published: list) -> dict | None:
    """pynet's nftables sets/maps/chains for ``net`` (``network inspect -v``); None when
    pynet's firewall is off."""
    if not enabled():
        return None
    from pynet.firewall import policy

    return policy.network_view(net, published)


def unpublish(net: Network, ep: Endpoint, bindings: list) -> None:
    if not enabled():
        return
    from pynet.firewall import policy

    policy.unpublish(net, ep, bindings)

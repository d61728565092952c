"""Packet loss on a sandbox's interface with nftables ``numgen random`` (no netem needed).

One table ``inet pynet_link`` in the sandbox namespace, one chain per interface at
prerouting: ``iifname "eth0" numgen random mod 1000000 < N drop`` drops that share of what
the container receives there, silently (no error to any sender), so a round trip counts
the loss once. The sandbox's end removes it; ``clear`` removes it before an interface name
is reused. docs/topologies.md, "Link shaping".
"""

from __future__ import annotations

import os

from pynet.kernel import namespaces, nft

TABLE = "pynet_link"
SCALE = 1_000_000  # loss resolution: 0.0001%


def _chain(ifname: str) -> str:
    return f"inet {TABLE} {ifname}"


def set_loss(netns: str, ifname: str, percent: float) -> None:
    """Drop ``percent`` % of the packets ``ifname`` receives in the sandbox at ``netns``."""
    threshold = round(percent * SCALE / 100)
    verdict = "drop" if threshold >= SCALE else f"numgen random mod {SCALE} < {threshold} drop"
    script = (
        f"add table inet {TABLE}\n"
        f"add chain {_chain(ifname)} {{ type filter hook prerouting priority -300; policy accept; }}\n"
        f"flush chain {_chain(ifname)}\n"
        f'add rule {_chain(ifname)} iifname "{ifname}" {verdict}\n'
    )
    with namespaces.entered_netns(netns):
        nft.run(script)


def clear_loss(netns: str, ifname: str) -> None:
    """Remove the loss rule of ``ifname`` (none there, or the sandbox gone: fine)."""
    if not os.path.exists(netns):
        return
    script = (
        f"add table inet {TABLE}\n"
        f"add chain {_chain(ifname)}\n"
        f"flush chain {_chain(ifname)}\n"
        f"delete chain {_chain(ifname)}\n"
    )
    with namespaces.entered_netns(netns):
        nft.run(script)

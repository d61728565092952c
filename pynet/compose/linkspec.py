"""Checks of ``x-pynet-link`` values (rate, delay, jitter, loss, duplicate, corrupt).

tc's units: a rate is ``<number><bit|kbit|mbit|gbit|bps|kbps|mbps|gbps>``, a time
``<number><us|ms|s>``, a probability ``<number>%`` between 0 and 100.
"""

from __future__ import annotations

import re

_RATE = re.compile(r"^\d+(\.\d+)?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$", re.I)
_TIME = re.compile(r"^\d+(\.\d+)?(us|ms|s)$")
_PERCENT = re.compile(r"^(\d+(\.\d+)?)%$")


def check(key: str, text: str) -> str:
    """ "" when ``text`` is a valid value for ``key``, else what is wrong with it."""
    if key == "rate":
        return "" if _RATE.match(text) else f'invalid rate "{text}" (e.g. 10mbit, 512kbit)'
    if key in ("delay", "jitter"):
        return "" if _TIME.match(text) else f'invalid time "{text}" (e.g. 50ms, 1s)'
    m = _PERCENT.match(text)
    if m is None or float(m.group(1)) > 100:
        return f'invalid percentage "{text}" (e.g. 1%, 0.5%)'
    return ""

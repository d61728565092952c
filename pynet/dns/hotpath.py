"""The UDP hot path: answer from the view's caches, patch the ID, parse nothing.

``udp_reader`` builds the readiness callback the daemon registers for a sandbox's
127.0.0.11:53 UDP socket. Per packet it does one dict lookup on the query minus its ID
(``data[2:]``) and one ``sendto``; a miss looks at the upstream answers the sandbox may
reuse (``answers``, ``pynet.dns.fwdcache``), and only then reaches ``slow`` (the parser in
``pynet.dns.responder``), which fills the caches for next time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pynet.dns.names import View

BATCH = 128  # packets per readiness event, so one busy sandbox cannot starve the rest

Slow = Callable[[View, bytes, Any], None]
#: a view -> the upstream answers its sandbox may use (``pynet.dns.fwdcache.ForwardCache.hot``)
Answers = Callable[[View], "dict[bytes, tuple[float, bytes]]"]
_NONE: dict[bytes, tuple[float, bytes]] = {}


def udp_reader(
    sock: Any, current_view: Callable[[], View | None], slow: Slow, batch: int = BATCH, answers: Answers | None = None
) -> Callable[[int], None]:
    """A callback draining up to ``batch`` queries from ``sock`` per call."""
    recvfrom = sock.recvfrom
    sendto = sock.sendto

    def on_ready(_mask: int) -> None:
        view = current_view()
        if view is None:
            return
        fast = view.fast
        rotating = view.rotating
        answered = None  # looked up on the first miss
        now = 0.0
        for _ in range(batch):
            try:
                data, addr = recvfrom(4096)
            except OSError:  # BlockingIOError: drained; others: nothing to do now
                return
            key = data[2:]
            response = fast.get(key)
            if response is None:
                cycle = rotating.get(key)
                if cycle is not None:
                    response = next(cycle)
                else:
                    if answered is None:
                        answered = answers(view) if answers is not None else _NONE
                        now = time.monotonic()
                    held = answered.get(key)
                    if held is None or held[0] <= now:  # not held, or its TTLs must count down
                        slow(view, data, addr)
                        continue
                    response = held[1]
            try:
                sendto(data[:2] + response, addr)
            except OSError:
                pass

    return on_ready

"""A small single-threaded event loop: epoll via ``selectors`` plus one-shot timers.

No threads on purpose: the daemon moves its (only) thread into sandbox network
namespaces with setns to open sockets there, which must never race with other work.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import time
from collections.abc import Callable

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger("pynetd")

Callback = Callable[[int], None]


class Timer:
    """A pending call; ``cancel`` makes it a no-op."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    """Readiness callbacks (``fn(mask)``) and timers; callbacks never kill the loop."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self.running = True

    def watch(self, fileobj: Any, events: int, callback: Callback) -> None:
        """Call ``callback(mask)`` when ``fileobj`` is ready (re-registers if watched)."""
        try:
            self.selector.modify(fileobj, events, callback)
        except KeyError:
            self.selector.register(fileobj, events, callback)

    def unwatch(self, fileobj: Any) -> None:
        """Stop watching (silently when not watched or already closed)."""
        try:
            self.selector.unregister(fileobj)
        except (KeyError, ValueError, OSError):
            pass

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback()`` once, ``delay`` seconds from now."""
        timer = Timer(time.monotonic() + delay, callback)
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))
        return timer

    def run(self) -> None:
        """Serve until ``running`` turns False."""
        while self.running:
            self.run_once()

    def run_once(self, max_wait: float = 1.0) -> None:
        """One select round plus the timers that are due."""
        timeout = max_wait
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if self._timers:
            timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
        for key, mask in self.selector.select(timeout):
            try:
                key.data(mask)
            except Exception:  # noqa: BLE001 - one bad event must not stop the server
                log.exception("error in event handler")
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except Exception:  # noqa: BLE001
                log.exception("error in timer")

    def close(self) -> None:
        self.selector.close()

"""Named failure points for tests: ``PYNET_FAULT``, ``PYNET_FAULT_KILL``, ``PYNET_FAULT_STOP``.

The points, where each sits and what the three variables do: testing.md, "Fault
injection". Costs one dict lookup when unset.
"""

from __future__ import annotations

import os

#: SIGKILL, SIGSTOP (not from `signal`: importing it costs every command ~0.3 ms)
_SIGKILL, _SIGSTOP = 9, 19


def fault(point: str) -> None:
    """Fail or die at ``point`` when a test asked for it."""
    if os.environ.get("PYNET_FAULT_KILL") == point:
        os.kill(os.getpid(), _SIGKILL)
    if os.environ.get("PYNET_FAULT_STOP") == point:
        os.kill(os.getpid(), _SIGSTOP)
    if os.environ.get("PYNET_FAULT") == point:
        from pynet.errors import KernelError

        raise KernelError(f"injected fault at {point}")

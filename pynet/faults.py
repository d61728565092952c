"""Named failure points for tests (testing.md, "Fault injection").

``PYNET_FAULT=<point>`` raises a KernelError at that point; ``PYNET_FAULT_KILL=<point>``
SIGKILLs pynet itself there; ``PYNET_FAULT_STOP=<point>`` SIGSTOPs it there (a test
does something meanwhile, then sends SIGCONT). Points: ipam_reserve, bridge_add, veth_add,
netns_config, nft_apply, state_commit (before the commit is durable), state_apply (after
the first state file of a commit is written), container_start (between the commit of
``run`` and the start of its process), endpoint_detach and sandbox_delete (teardown:
``rm``, ``network disconnect``, a container's exit), bridge_del (``network rm``, after
its firewall rules went), admin_lock (``system firewall-reload`` and
``firewall-allow-docker``, right before they take the lock), reset_teardown (``system
reset``, after the networks, before it stops the helper). Costs one dict lookup when unset.
"""

from __future__ import annotations

import os
import signal


def fault(point: str) -> None:
    """Fail or die at ``point`` when a test asked for it."""
    if os.environ.get("PYNET_FAULT_KILL") == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("PYNET_FAULT_STOP") == point:
        os.kill(os.getpid(), signal.SIGSTOP)
    if os.environ.get("PYNET_FAULT") == point:
        from pynet.errors import KernelError

        raise KernelError(f"injected fault at {point}")

"""The handlers' way into the core: the composition root's Controller and read-only Repo.

Mutations from concurrent requests run one at a time in this process (:data:`MUTATION`);
across processes (the CLI, other servers) the store's flock orders them as usual. Waiting
(``stop``, ``wait``) happens outside this lock.
"""

from __future__ import annotations

import contextlib
import threading

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Iterator

    from pynet.cnm.controller import Controller
    from pynet.cnm.repo import Repo

MUTATION = threading.RLock()


@contextlib.contextmanager
def controller() -> Iterator[Controller]:
    """A ready Controller, held under :data:`MUTATION` for the block."""
    from pynet import wiring

    with MUTATION:
        ctl = wiring.controller()
        ctl.ensure_ready()
        yield ctl


def waiting_controller() -> Controller:
    """A Controller for operations that wait on a process (stop, kill): not serialized
    here; the store lock orders what they commit."""
    from pynet import wiring

    with MUTATION:
        ctl = wiring.controller()
        ctl.ensure_ready()
    return ctl


def reader() -> Repo:
    """A read-only view of the state (repaired under the lock when it needs it)."""
    from pynet import wiring

    with MUTATION:
        return wiring.open_repo()

"""The read-only entry point: a Repo for ls/inspect/ps without loading the controller.

Read-only commands must stay fast: when the runtime is already restored, no journal is
pending, no container lost its owner (``pynet.state.owners``) and this host is not a
cluster member, they need nothing but the store. Otherwise the full controller runs first
(restore after a reboot, crash recovery, reaping orphans, cluster sync).
"""

from __future__ import annotations

import os

from pynet import paths
from pynet.records.fields import DEFAULT_NETWORK
from pynet.cnm.repo import Repo
from pynet.state import owners
from pynet.state.store import Store

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.notifier import Notifier


def open_repo(notifier: Notifier | None = None, *, documents: bool = False) -> Repo:
    """A read-only view of the state, made consistent first when it needs to be (by a
    Controller given ``notifier``: the helper, see ``pynet.wiring``). ``documents``: its
    records may come as ``records.fields.document``s (attributes, no dataclass), for
    views that only read fields (``network ls``/``inspect``, ``ps``: design.md, "Start-up")."""
    store = Store(paths.state_root())  # str paths: no pathlib on the read path
    if (
        os.path.exists(os.path.join(paths.run_root(), "restored"))
        and not store.has_journal()
        and not os.path.exists(store.file("cluster.json"))
        and DEFAULT_NETWORK in store.names("networks")
        and not owners.any_orphan()
    ):
        return Repo(store, documents=documents)
    from pynet.cnm.controller import Controller

    ctl = Controller(store, notifier=notifier)
    ctl.ensure_ready()
    return ctl.reader()

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
        not store.has_journal()
        and not os.path.exists(store.file("cluster.json"))
        and runtime_ready(store)
        and not owners.any_orphan()
    ):
        return Repo(store, documents=documents)
    from pynet.cnm.controller import Controller

    ctl = Controller(store, notifier=notifier)
    ctl.ensure_ready()
    return ctl.reader()


def restored_marker() -> str:
    """The run dir's ``restored`` marker: the runtime was restored since boot."""
    return os.path.join(paths.run_root(), "restored")


def runtime_ready(store: Store) -> bool:
    """The runtime was restored since boot (the run dir's ``restored`` marker) and the
    default network exists. The marker holds that network's ID (:func:`mark_ready`):
    while its record's file exists, the name index is not read (~0.3 ms at 1000
    networks; a network is never renamed, an ID never reused). A marker without it
    (empty, or of another state dir) is answered from the index, then completed."""
    marker = restored_marker()
    try:
        with open(marker) as f:
            obj_id = f.read()
    except FileNotFoundError:
        return False
    if obj_id.isalnum() and obj_id.isascii() and store.exists("networks", obj_id):
        return True
    obj_id = store.names("networks").get(DEFAULT_NETWORK, "")
    if obj_id:
        mark_ready(store, create=False)
    return bool(obj_id)


def mark_ready(store: Store, *, create: bool = True) -> None:
    """Write the ``restored`` marker with the default network's ID (see
    :func:`runtime_ready`); ``create=False``: only complete an existing marker."""
    marker = restored_marker()
    flags = os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(marker, flags, 0o666)
    except OSError:
        if create:
            raise
        return  # a reader that may not write the run dir goes without
    try:
        os.write(fd, store.names("networks").get(DEFAULT_NETWORK, "").encode())
    finally:
        os.close(fd)

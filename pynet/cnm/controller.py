"""The Controller: a thin facade that sequences the services inside one mutation.

Every mutating operation runs as: take the store lock -> finish/roll back a killed
earlier mutation -> reserve in memory -> kernel steps (each logged for undo) -> commit.
Any exception (or Ctrl-C) in between removes the logged kernel objects and drops the
pending state, so kernel and state stay as they were.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
TYPE_CHECKING = False  # typing costs ~6 ms to import here: annotations only
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest
    from pynet.drivers import runtime

from pynet import paths
from pynet.cnm import networks as netsvc
from pynet.cnm.admin import HostAdmin
from pynet.cnm.processes import ProcessControl
from pynet.cnm.model import Container, Network
from pynet.cnm.networks import NetworkCreateRequest, NetworkService, now_rfc3339
from pynet.cnm.repo import Repo
from pynet.drivers import firewall_hooks, get_driver, hostinfo
from pynet.drivers import undo as undo_mod
from pynet.drivers.base import UndoLog
from pynet.errors import Conflict, NotFound, PynetError
from pynet.state.store import Store, Transaction


class JournalUndo(UndoLog):
    """The UndoLog handed to drivers: every resource goes to the store's journal first."""

    def __init__(self, txn: Transaction) -> None:
        self.txn = txn

    def add(self, resource: dict[str, Any]) -> None:
        self.txn.record_undo(resource)


class Controller(HostAdmin, ProcessControl):
    """Entry point of the core for the CLI. Short-lived: one per command."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store(paths.state_dir())
        self.notices: list[str] = firewall_hooks.NOTICES

    # -- transactions ----------------------------------------------------------------
    @contextlib.contextmanager
    def mutation(self) -> Iterator[tuple[Repo, JournalUndo]]:
        """Lock, recover, yield (repo, undo); commit on success, roll back on any error."""
        with self.store.locked():
            self._recover()
            firewall_hooks.heal()
            txn = self.store.begin()
            undo = JournalUndo(txn)
            try:
                yield Repo(self.store, txn), undo
            except BaseException:
                undo_mod.remove_all(txn.undo)
                txn.abandon()
                raise
            txn.commit()

    def _recover(self) -> None:
        had_journal = self.store.journal_path().exists()
        leftovers = self.store.recover()
        if leftovers:
            undo_mod.remove_all(leftovers)
            self.store.clear_journal()
        if had_journal:
            _sweep_container_dirs(self.store)
            try:
                from pynet.daemon import client

                client.resync()
            except ImportError:
                pass

    def reader(self) -> Repo:
        """A read-only view (files are replaced atomically, so no lock is needed)."""
        return Repo(self.store)

    # -- first use and reboot --------------------------------------------------------
    def ensure_ready(self) -> None:
        """Built-in networks exist; after a reboot, networks are restored from state."""
        marker = paths.run_dir() / "restored"
        journal = self.store.journal_path().exists()
        if marker.exists() and not journal and "bridge" in self.store.names("networks"):
            self._cluster_sync()
            return
        with self.mutation() as (repo, _undo):
            if "bridge" not in repo.network_names():
                for net in netsvc.builtin_networks(hostinfo.host_subnets()):
                    repo.put_network(net)
                    repo.init_ipam(net.id)
            if not marker.exists():
                self._restore(repo)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        self._cluster_sync()

    def _cluster_sync(self) -> None:
        """On a cluster member, bring global (overlay) networks from the cluster store."""
        if not (self.store.root / "cluster.json").exists():
            return
        from pynet.cnm import cluster

        with self.mutation() as (repo, undo):
            cluster.sync(repo, undo)

    def _restore(self, repo: Repo) -> None:
        """As dockerd at start: networks back in the kernel, dead containers exited."""
        for c in repo.containers():
            if c.status in ("created", "running") and not _alive(c):
                svc = _containers().ContainerService(repo, JournalUndo(repo.txn))  # type: ignore[arg-type]
                with contextlib.suppress(Exception):
                    svc.teardown(c)
                c.endpoints.clear()
                svc.mark_exited(c, 255)
                repo.put_container(c)
        for net in repo.networks():
            if net.driver == "bridge" and (not net.builtin or repo.member_count(net.id)):
                with contextlib.suppress(PynetError):
                    get_driver(net.driver).restore_network(net)

    # -- networks --------------------------------------------------------------------
    def create_network(self, req: NetworkCreateRequest) -> Network:
        with self.mutation() as (repo, undo):
            return NetworkService(repo, undo).create(req)

    def remove_network(self, ref: str) -> Network:
        with self.mutation() as (repo, undo):
            return NetworkService(repo, undo).remove(ref)

    def prune_networks(self, keep: Any) -> list[str]:
        """Remove every unused user network for which ``keep(net)`` is False."""
        removed = []
        with self.mutation() as (repo, undo):
            svc = NetworkService(repo, undo)
            for net in sorted(repo.networks(), key=lambda n: n.name):
                if net.builtin or svc.in_use(net) or keep(net):
                    continue
                svc.remove(net.id)
                removed.append(net.name)
        return removed

    def connect(self, network_ref: str, container_ref: str, req: AttachRequest) -> None:
        with self.mutation() as (repo, undo):
            net = repo.find_network(network_ref)
            if net is None:
                raise NotFound(f"network {network_ref} not found")
            c = repo.get_container(container_ref)
            if c.status != "running" or not c.netns_path:
                if c.network_mode == "host":
                    raise Conflict("container cannot be disconnected from host network or connected to host network")
                raise Conflict(f"Container {c.id} is not running")
            if c.network_mode == "none":
                raise Conflict("container cannot be connected to multiple networks with one of the networks in private (none) mode")
            svc = _containers().ContainerService(repo, undo)
            svc.endpoints.attach(c, net, req)
            svc.write_files(c)
            repo.put_container(c)
        self._notify([c.id])

    def disconnect(self, network_ref: str, container_ref: str, force: bool) -> None:
        with self.mutation() as (repo, undo):
            net = repo.find_network(network_ref)
            if net is None:
                raise NotFound(f"network {network_ref} not found")
            c = repo.get_container(container_ref)
            if net.id not in c.endpoints:
                if net.driver == "host" and c.network_mode == "host":
                    raise Conflict("container cannot be disconnected from host network or connected to host network")
                if force:
                    return
                raise Conflict(f"container {c.id} is not connected to network {net.name}")
            svc = _containers().ContainerService(repo, undo)
            ep = repo.endpoint(c.endpoints[net.id])
            if ep is not None and c.ports:
                firewall_hooks.unpublish(net, ep, c.ports)
            svc.endpoints.detach(c, net)
            svc.write_files(c)
            repo.put_container(c)
        self._notify([c.id])

    # -- containers ------------------------------------------------------------------
    def create_container(self, req: RunRequest) -> Container:
        """Sandbox, endpoint, ports and files; committed as "created"."""
        with self.mutation() as (repo, undo):
            net = repo.find_network(req.network)
            if net is None:
                raise NotFound(f"network {req.network} not found")
            c = _containers().ContainerService(repo, undo).create(req, net)
        self._notify([c.id])
        return c

    def launch_spec(self, c: Container, *, env: dict[str, str]) -> runtime.LaunchSpec:
        d = paths.container_dir(c.id)
        binds = {"/etc/hosts": str(d / "hosts"), "/etc/resolv.conf": str(d / "resolv.conf")}
        if c.network_mode != "host":
            binds["/etc/hostname"] = str(d / "hostname")
        from pynet.drivers import runtime

        return runtime.LaunchSpec(
            argv=[c.path, *c.args], env=env, netns_path=c.netns_path,
            new_uts=c.network_mode != "host", hostname=c.hostname, binds=binds,
            workdir=c.workdir, rootfs=c.rootfs)

    def record_started(self, c: Container, pid: int, supervisor_pid: int) -> None:
        with self.mutation() as (repo, _undo):
            current = repo.container(c.id)
            if current is None or current.status == "exited":
                return  # it exited already and its supervisor recorded that first: keep it
            current.status, current.pid = "running", pid
            current.supervisor_pid = supervisor_pid
            current.started_at = now_rfc3339()
            repo.put_container(current)
            c.status, c.pid, c.started_at = current.status, pid, current.started_at

    def container_exited(self, container_id: str, code: int) -> None:
        """Record the exit; tear the sandbox down; remove the container when --rm."""
        with self.mutation() as (repo, undo):
            c = repo.container(container_id)
            if c is None:
                return
            svc = _containers().ContainerService(repo, undo)
            svc.teardown(c)
            if c.auto_remove:
                repo.delete_container(c.id)
            else:
                svc.mark_exited(c, code)
                repo.put_container(c)
        if c.auto_remove:
            _containers().remove_files(c.id)
        self._notify([c.id])

    def launch_failed(self, c: Container, code: int) -> None:
        """The command could not start: undo the sandbox; keep a "created" record as Docker."""
        self.container_exited(c.id, code)
        with contextlib.suppress(PynetError), self.mutation() as (repo, _undo):
            current = repo.container(c.id)
            if current is not None:
                current.status = "created"
                repo.put_container(current)

    def stop(self, ref: str, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> Container:
        c = self.reader().get_container(ref)
        if c.status == "running" and c.pid:
            _signal(c.pid, sig)
            if not _wait_gone(c.pid, timeout):
                _signal(c.pid, signal.SIGKILL)
                _wait_gone(c.pid, 5.0)
            self._wait_recorded(c.id)
        return c

    def kill(self, ref: str, sig: int) -> Container:
        c = self.reader().get_container(ref)
        if c.status != "running" or not c.pid or not hostinfo.pid_alive(c.pid):
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        _signal(c.pid, sig)
        return c

    def remove_container(self, ref: str, *, force: bool) -> Container:
        c = self.reader().get_container(ref)
        if c.status == "running" and c.pid and hostinfo.pid_alive(c.pid):
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {c.id}. Stop the container before "
                    "attempting removal or force remove")
            _signal(c.pid, signal.SIGKILL)
            _wait_gone(c.pid, 5.0)
        with self.mutation() as (repo, undo):
            current = repo.container(c.id)
            if current is not None:
                _containers().ContainerService(repo, undo).remove(current)
        _containers().remove_files(c.id)
        self._notify([c.id])
        return c

    def _wait_recorded(self, container_id: str, timeout: float = 10.0) -> None:
        """Wait for the supervisor to record the exit; do it ourselves if it is gone."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.reader().container(container_id)
            if c is None or c.status != "running":
                return
            if not hostinfo.pid_alive(c.supervisor_pid):
                break
            time.sleep(0.02)
        self.container_exited(container_id, 137)

    # -- helper daemon -----------------------------------------------------------------
    def _notify(self, container_ids: list[str]) -> None:
        """Tell the helper (embedded DNS) what changed; never fails the command."""
        try:
            from pynet.daemon import client
        except ImportError:
            return
        if not client.notify(container_ids):
            self.notices.append("WARNING: the pynet helper (embedded DNS) did not answer; name resolution may lag")

    def reload_helper(self) -> None:
        self._notify([])


def _sweep_container_dirs(store: Store) -> None:
    """Remove per-container directories whose record is gone (a killed ``rm``)."""
    ids = set(store.ids("containers"))
    try:
        entries = list(os.scandir(store.root / "containers"))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir() and entry.name not in ids:
            _containers().remove_files(entry.name)


def _alive(c: Container) -> bool:
    if not hostinfo.pid_alive(c.pid):
        return False
    from pynet.drivers import sandbox

    return not c.netns_path or sandbox.sandbox_exists(c.netns_path)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not hostinfo.pid_alive(pid):
            return True
        time.sleep(0.02)
    return not hostinfo.pid_alive(pid)


def _containers():  # type: ignore[no-untyped-def]
    """``pynet.cnm.containers``, imported when a command touches containers (not network ops)."""
    from pynet.cnm import containers

    return containers

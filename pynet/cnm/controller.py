"""The Controller: a thin facade that sequences the services inside one mutation.

Every mutating operation runs as: take the store lock -> finish/roll back a killed
earlier mutation -> reserve in memory -> kernel steps (each logged for undo) -> commit.
Any exception (or Ctrl-C) in between removes the logged kernel objects and drops the
pending state, so kernel and state stay as they were.
"""

from __future__ import annotations

import contextlib
import os
import _signal
import time

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest
    from pynet.cnm.notifier import Notifier
    from pynet.kernel import runtime

from pynet import paths
from pynet.cnm import events, exits, shared_sandbox
from pynet.cnm import networks as netsvc
from pynet.cnm.admin import HostAdmin
from pynet.cnm import links
from pynet.cnm.lifecycle import ContainerLifecycle, ask, asked, forget
from pynet.cnm.links import LinkControl
from pynet.cnm.processes import ProcessControl
from pynet.records.model import DEFAULT_NETWORK, HOST_MODE, NONE_MODE, Container, Network
from pynet.cnm.networks import NetworkCreateRequest, NetworkService, NetworkUpdate, now_rfc3339
from pynet.cnm.notifier import NullNotifier
from pynet.cnm import rollback
from pynet.cnm.reader import mark_ready, restored_marker, runtime_ready
from pynet.cnm.repo import Repo
from pynet.drivers import driver_class, get_driver
from pynet.firewall import hooks as firewall_hooks
from pynet.records.undo import NullUndo, UndoLog
from pynet.errors import Conflict, Forbidden, NotFound, PynetError, StateCorrupt
from pynet.faults import fault
from pynet.kernel import pids, procnet
from pynet.state import owners
from pynet.state.events import EventLog
from pynet.state.store import Store, Transaction


class JournalUndo(UndoLog):
    """The UndoLog handed to drivers: every resource goes to the store's journal first."""

    def __init__(self, txn: Transaction) -> None:
        self.txn = txn

    def add(self, resource: dict[str, Any]) -> None:
        self.txn.record_undo(resource)

    def confirm(self, resource: dict[str, Any], **facts: Any) -> None:
        resource.update(facts)  # the same dict the journal holds
        self.txn.save_undo()


class Controller(HostAdmin, ProcessControl, ContainerLifecycle, LinkControl):
    """Entry point of the core for the CLI. Short-lived: one per command."""

    def __init__(self, store: Store | None = None, notifier: Notifier | None = None) -> None:
        self.store = store or Store(paths.state_root())
        self.notifier: Notifier = notifier or NullNotifier()  # the helper, given (pynet.wiring)
        self.notices: list[str] = firewall_hooks.NOTICES
        self._owners: dict[str, owners.OwnerLock] = {}

    # -- transactions ----------------------------------------------------------------
    @contextlib.contextmanager
    def mutation(self, *, salvage: bool = False, durable: bool = True) -> Iterator[tuple[Repo, JournalUndo]]:
        """Lock, recover, yield (repo, undo); commit on success, roll back on any error.

        ``salvage``: damaged container/endpoint records are read leniently (``rm -f``).
        ``durable=False``: no fsync (``Transaction.commit``), for what a reboot makes moot."""
        with self.store.locked():
            self._recover()
            firewall_hooks.heal()
            with self._transaction(salvage=salvage, durable=durable) as pair:
                yield pair

    @contextlib.contextmanager
    def _transaction(self, *, salvage: bool = False, durable: bool = True) -> Iterator[tuple[Repo, JournalUndo]]:
        txn = self.store.begin()
        undo = JournalUndo(txn)
        repo = Repo(self.store, txn, salvage=salvage)
        try:
            yield repo, undo
            txn.commit(sync=durable)
        except BaseException as exc:
            # A failed commit too: a command that reports failure changed nothing (a
            # logged teardown excepted: it stays in the journal to be finished).
            if not txn.durable:
                if isinstance(exc, (NotFound, Conflict, Forbidden)):
                    # Refused at a check (e.g. a driver's "has active endpoints"), before
                    # any deletion, as in _finish: nothing for the next command to finish.
                    txn.redo = None
                _report_rollback(exc, rollback.remove_all(txn.undo))
                txn.abandon()
            raise
        self._log_events(repo.events)

    def _log_events(self, events: list[dict[str, Any]]) -> None:
        """Append a committed mutation's events (still under the lock: one writer at a time)."""
        try:
            EventLog(self.store.dir).append(events)
        except OSError as err:  # the change is made and committed: the command stays a success
            self.notices.append(f"WARNING: could not write the events log: {err}")

    def _recover(self) -> None:
        had_journal = self.store.has_journal()
        redo = self.store.pending_redo() if had_journal else None
        leftovers = self.store.recover()
        if leftovers:
            # From disk: removed only where the journal proves pynet made it (rollback.py).
            self.notices.extend(_cleanup_warnings(rollback.remove_all(leftovers, replay=True)))
        if redo is not None:
            self._finish(redo)
        elif had_journal:
            self.store.clear_journal()
        if had_journal:
            _sweep_container_dirs(self.store)
            self.notifier.resync()

    def _finish(self, op: dict[str, Any]) -> None:
        """Complete a teardown that a killed or failed command had started."""
        try:
            with self._transaction() as (repo, undo):
                repo.txn.record_redo(op)  # type: ignore[union-attr]
                self._teardown_op(op, repo, undo)
        except (NotFound, Conflict, Forbidden):
            # It stopped at a check, before deleting anything: nothing to finish.
            self.store.clear_journal()

    def _teardown_op(self, op: dict[str, Any], repo: Repo, undo: JournalUndo) -> None:
        kind = op["op"]
        if kind == "rm_networks":
            svc = NetworkService(repo, undo)
            for net_id in op["ids"]:
                if repo.network(net_id) is not None:
                    svc.remove(net_id)
            return
        c = repo.container(op["container"])
        if c is None:
            return
        if kind == "rm_container":
            _containers().ContainerService(repo, undo).remove(c)
        elif kind == "exited":
            self._record_exit(repo, undo, c, op["code"])
        elif kind == "disconnect":
            net = repo.network(op["network"])
            if net is not None and net.id in c.endpoints:
                self._disconnect(repo, undo, net, c)

    def reader(self) -> Repo:
        """A read-only view (files are replaced atomically, so no lock is needed)."""
        return Repo(self.store)

    # -- first use and reboot --------------------------------------------------------
    def ensure_ready(self) -> None:
        """Built-in networks exist; after a reboot, networks are restored from state.

        Every command that changes networks or containers starts here: without the
        privileges its kernel work needs, it stops here with one line (nothing made)."""
        require_privileges()
        marker = restored_marker()
        journal = self.store.has_journal()
        if not journal and runtime_ready(self.store):
            self._cluster_sync()
            self.reap_orphans()
            return
        with self.mutation() as (repo, _undo):
            if not os.path.exists(marker):
                # After a reboot: what a power cut may have left stale goes (store.py).
                self.store.forget_derived()
            if DEFAULT_NETWORK not in repo.network_names():
                for net in netsvc.builtin_networks(procnet.host_subnets()):
                    repo.put_network(net)
                    repo.init_ipam(net.id)
            if not os.path.exists(marker):
                self._restore(repo)
        os.makedirs(paths.run_root(), exist_ok=True)
        mark_ready(self.store)
        self._cluster_sync()
        self.reap_orphans()

    def _cluster_sync(self) -> None:
        """On a cluster member, bring global (overlay) networks from the cluster store."""
        if not os.path.exists(self.store.file("cluster.json")):
            return
        from pynet.cnm import cluster

        with self.mutation() as (repo, undo):
            cluster.sync(repo, undo, notifier=self.notifier)

    def _restore(self, repo: Repo) -> None:
        """As dockerd at start: networks back in the kernel, dead containers exited."""
        for c in repo.containers():
            if c.status in ("created", "running") and not _alive(c):
                svc = _containers().ContainerService(repo, JournalUndo(repo.txn))  # type: ignore[arg-type]
                if c.status == "running":
                    svc.died(c, 255)
                try:
                    svc.teardown(c)
                except (PynetError, OSError) as exc:  # the restore goes on; the user is told
                    self.notices.append(f"WARNING: container {c.name}: {exc}")
                c.endpoints.clear()
                svc.mark_exited(c, 255)
                repo.put_container(c)
        for net in repo.networks():
            # the default bridge's device is made with its first container, not at boot
            if driver_class(net.driver).restores_on_boot and (not net.builtin or repo.member_count(net.id)):
                with contextlib.suppress(PynetError):
                    get_driver(net.driver).restore_network(net)

    # -- networks --------------------------------------------------------------------
    def create_network(self, req: NetworkCreateRequest) -> Network:
        with self.mutation() as (repo, undo):
            return NetworkService(repo, undo).create(req)

    def remove_network(self, ref: str, *, disconnect: bool = False) -> Network:
        """``network rm``; with ``disconnect`` (``rm -f``) every container is disconnected
        first, each as its own logged teardown (they keep their other networks)."""
        if not disconnect:
            return self._remove_network(ref)
        with self.store.locked():  # re-entrant: no connect slips in between
            net = self.reader().find_network(ref)
            if net is not None and not net.builtin:
                for container_id in sorted(set(self.reader().members(net.id).values())):
                    self._disconnect_member(net.id, container_id)
            return self._remove_network(ref)

    def _disconnect_member(self, network_id: str, container_id: str) -> None:
        with self.mutation() as (repo, undo):
            net, c = repo.network(network_id), repo.container(container_id)
            if net is None or c is None or net.id not in c.endpoints:
                return
            repo.txn.record_redo({"op": "disconnect", "network": net.id, "container": c.id})  # type: ignore[union-attr]
            self._disconnect(repo, undo, net, c)
        self._notify([container_id])

    def _remove_network(self, ref: str) -> Network:
        with self.mutation() as (repo, undo):
            net = repo.find_network(ref)
            if net is not None and not net.builtin and not repo.member_count(net.id):
                repo.txn.record_redo({"op": "rm_networks", "ids": [net.id]})  # type: ignore[union-attr]
            return NetworkService(repo, undo).remove(ref)

    def update_network(self, ref: str, upd: NetworkUpdate) -> Network:
        """``network update``: labels, ``--internal`` (firewall included), ``--attachable``."""
        changed: list[Network] = []  # (old, new) once the driver applied it
        try:
            with self.mutation() as (repo, undo):
                old = NetworkService(repo, undo).get(ref)
                net, notices = NetworkService(repo, undo).update(ref, upd)
                changed += [old, net]
        except BaseException as exc:
            if changed:  # the commit failed: the kernel goes back to what the state says
                _report_rollback(exc, _undo_update(changed[1], changed[0]))
            raise
        self.notices.extend(notices)
        return net

    def prune_networks(self, keep: Any) -> list[str]:
        """Remove every unused user network for which ``keep(net)`` is False."""
        removed = []
        with self.mutation() as (repo, undo):
            svc = NetworkService(repo, undo)
            doomed = [
                net
                for net in sorted(repo.networks(), key=lambda n: n.name)
                if not (net.builtin or svc.in_use(net) or keep(net))
            ]
            if doomed:
                repo.txn.record_redo({"op": "rm_networks", "ids": [n.id for n in doomed]})  # type: ignore[union-attr]
            for net in doomed:
                svc.remove(net.id)
                removed.append(net.name)
            repo.emit(events.network_prune_event())
        return removed

    def connect(self, network_ref: str, container_ref: str, req: AttachRequest) -> None:
        touched: list[str] = []
        with self.store.locked():  # re-entrant: held until the files are put back
            try:
                self._connect(network_ref, container_ref, req, touched)
            except BaseException as exc:
                for cid in touched:
                    self._restore_files(cid, exc)
                raise
        self._notify(touched)

    def _connect(self, network_ref: str, container_ref: str, req: AttachRequest, touched: list[str]) -> None:
        with self.mutation() as (repo, undo):
            net = NetworkService(repo, undo).get(network_ref)
            c = repo.get_container(container_ref)
            if shared_sandbox.is_joiner(c):
                raise Forbidden(shared_sandbox.SHARED_CONNECT)
            if c.status == "created" and not c.netns_path and c.requested_networks:
                self._connect_created(repo, undo, net, c, req)
                return
            # A created container has its sandbox: it may join networks before it starts (Docker).
            if c.status not in ("running", "created") or not c.netns_path:
                if c.network_mode == HOST_MODE:
                    raise Conflict("container cannot be disconnected from host network or connected to host network")
                raise Conflict(f"Container {c.id} is not running")
            if c.network_mode == NONE_MODE:
                raise Conflict(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode"
                )
            svc = _containers().ContainerService(repo, undo)
            svc.endpoints.attach(c, net, req)
            ask(c, net.id, req)  # what was asked is shown as asked (Links, IPAMConfig...)
            touched.append(c.id)
            svc.write_files(c)
            repo.put_container(c)

    def _connect_created(self, repo: Repo, undo: JournalUndo, net: Network, c: Container, req: AttachRequest) -> None:
        """A created container (the API's) only records the network: joined at start."""
        if net.id in asked(c):
            raise Conflict(f"endpoint with name {c.name} already exists in network {net.name}")
        _containers().ContainerService(repo, undo).endpoints.validate(c, net, req)
        ask(c, net.id, req)
        repo.put_container(c)

    def _restore_files(self, container_id: str, exc: BaseException) -> None:
        """A connect that failed (at its commit, too) wrote the container's hosts file
        first: write it again from the committed record, so it names no address it lacks."""
        repo = self.reader()
        c = repo.container(container_id)
        if c is None:
            return
        try:
            _containers().ContainerService(repo, NullUndo()).write_files(c)
        except OSError as err:
            _report_rollback(exc, [f"container {c.name}: rewriting its hosts file: {err}"])

    def disconnect(self, network_ref: str, container_ref: str, force: bool) -> None:
        with self.mutation() as (repo, undo):
            net = NetworkService(repo, undo).get(network_ref)
            c = repo.get_container(container_ref)
            if net.id in asked(c) and net.id not in c.endpoints:
                forget(c, net.id)  # asked for, never joined (not started)
                repo.put_container(c)
                return
            if net.id not in c.endpoints:
                if c.network_mode == HOST_MODE and _containers().network_mode_for(net) == HOST_MODE:
                    raise Conflict("container cannot be disconnected from host network or connected to host network")
                # -f does not make it succeed: Docker says so (exit 1) with or without it.
                raise Conflict(f"container {c.id} is not connected to network {net.name}")
            repo.txn.record_redo({"op": "disconnect", "network": net.id, "container": c.id})  # type: ignore[union-attr]
            self._disconnect(repo, undo, net, c)
        self._notify([c.id])

    def _disconnect(self, repo: Repo, undo: JournalUndo, net: Network, c: Container) -> None:
        svc = _containers().ContainerService(repo, undo)
        ep = repo.endpoint(c.endpoints[net.id])
        if ep is not None and c.ports:
            firewall_hooks.unpublish(net, ep, c.ports)
        fault("endpoint_detach")
        if ep is not None:
            links.remove_for_endpoint(c, ep)
        svc.endpoints.detach(c, net)
        forget(c, net.id)
        svc.write_files(c)
        repo.put_container(c)

    # -- containers ------------------------------------------------------------------
    def create_container(self, req: RunRequest) -> Container:
        """Sandbox, endpoint, ports and files; committed as "created"."""
        svc = None
        try:
            with self.mutation() as (repo, undo):
                svc = _containers().ContainerService(repo, undo)
                target = shared_sandbox.target_ref(req.network)
                if target is not None:
                    shared_sandbox.check_request(req)
                    c = svc.join(req, shared_sandbox.resolve_target(repo, target))
                else:
                    c = svc.create(req, NetworkService(repo, undo).get(req.network))
                # Before the commit: should we die once it is made, the next command reaps it.
                self._owners[c.id] = owners.claim(c.id)
        except BaseException:
            if svc is not None and svc.new_id and self.store.get("containers", svc.new_id) is None:
                _containers().remove_files(svc.new_id)  # nothing of it may stay behind
                if svc.new_id in self._owners:
                    self._owners.pop(svc.new_id).release()
            raise
        self._notify([c.id])
        return c

    def owner_of(self, c: Container) -> owners.OwnerLock:
        """The owner lock this command took when it created ``c``."""
        return self._owners.pop(c.id)

    def launch_spec(self, c: Container, *, env: dict[str, str]) -> runtime.LaunchSpec:
        owner = c  # whose sandbox and /etc files the process gets
        if shared_sandbox.is_joiner(c):
            owner = shared_sandbox.sandbox_owner(self.reader(), c)
        d = paths.container_dir(owner.id)
        binds = {"/etc/hosts": str(d / "hosts"), "/etc/resolv.conf": str(d / "resolv.conf")}
        if c.network_mode != HOST_MODE:
            binds["/etc/hostname"] = str(d / "hostname")
        from pynet.kernel import runtime

        return runtime.LaunchSpec(
            argv=[c.path, *c.args],
            env=env,
            netns_path=owner.netns_path,
            new_uts=c.network_mode != HOST_MODE,
            hostname=c.hostname,
            binds=binds,
            workdir=c.workdir,
            rootfs=c.rootfs,
            layer_dir=str(d / "layer") if c.image_id else "",
            tty=c.tty,
        )

    def record_started(
        self, c: Container, pid: int, supervisor_pid: int, *, pid_start: int = 0, supervisor_start: int = 0
    ) -> None:
        # Not fsynced: after a power cut no process runs, and the restore treats a
        # container recorded "created" or "running" alike (torn down, exited 255).
        with self.mutation(durable=False) as (repo, _undo):
            current = repo.container(c.id)
            if current is None or current.status == "exited":
                return  # it exited already and its supervisor recorded that first: keep it
            current.status, current.pid = "running", pid
            current.supervisor_pid = supervisor_pid
            current.pid_start, current.supervisor_start = pid_start, supervisor_start
            current.started_at = now_rfc3339()
            repo.put_container(current)
            repo.emit(events.container_event("start", current))
            c.status, c.pid, c.started_at = current.status, pid, current.started_at
            c.pid_start = pid_start

    def container_exited(self, container_id: str, code: int) -> None:
        """Record the exit; tear the sandbox down; remove the container when --rm."""
        with self.mutation() as (repo, undo):
            c = repo.container(container_id)
            if c is None:
                return
            repo.txn.record_redo({"op": "exited", "container": c.id, "code": code})  # type: ignore[union-attr]
            if c.auto_remove:  # before the record goes: the API's wait?condition=removed reads it then
                exits.record(c.id, code)
            self._record_exit(repo, undo, c, code)
        if c.auto_remove:
            _containers().remove_files(c.id)
        self._notify([c.id])

    def _record_exit(self, repo: Repo, undo: JournalUndo, c: Container, code: int) -> None:
        svc = _containers().ContainerService(repo, undo)
        if c.status == "running":
            svc.died(c, code)
        svc.teardown(c)
        if c.auto_remove:
            repo.delete_container(c.id)
            repo.emit(events.container_event("destroy", c))
        else:
            svc.mark_exited(c, code)
            repo.put_container(c)

    def launch_failed(self, c: Container, code: int) -> None:
        """The command could not start: undo the sandbox; keep a "created" record as Docker."""
        self.container_exited(c.id, code)
        with contextlib.suppress(PynetError), self.mutation() as (repo, _undo):
            current = repo.container(c.id)
            if current is not None:
                _created_without_sandbox(current)
                repo.put_container(current)

    def stop(self, ref: str, *, timeout: float = 10.0, sig: int = _signal.SIGTERM) -> Container:
        c = self.reader().get_container(ref)
        if c.status == "running" and c.pid:
            if pids.signal_pid(c.pid, c.pid_start, sig) and not _wait_gone(c, timeout):
                pids.signal_pid(c.pid, c.pid_start, _signal.SIGKILL)
                _wait_gone(c, 5.0)
            self._wait_recorded(c.id)
        return c

    def kill(self, ref: str, sig: int) -> Container:
        c = self.reader().get_container(ref)
        if c.status != "running" or not c.pid or not pids.signal_pid(c.pid, c.pid_start, sig):
            if c.status == "running" and not pids.pid_alive(c.supervisor_pid, c.supervisor_start):
                self.container_exited(c.id, 255)  # gone, and nobody left to record it: we do
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        return c

    def remove_container(self, ref: str, *, force: bool) -> Container:
        try:
            c = self.reader().get_container(ref)
        except StateCorrupt:
            if not force:
                raise
            c = self._salvage_container(ref)
        if c.status == "running" and c.pid and pids.pid_alive(c.pid, c.pid_start):
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {c.id}. Stop the container before "
                    "attempting removal or force remove"
                )
            pids.signal_pid(c.pid, c.pid_start, _signal.SIGKILL)
            _wait_gone(c, 5.0)
        with self.mutation(salvage=force) as (repo, undo):
            current = repo.container(c.id)
            if current is not None:
                current.netns_path = current.netns_path or c.netns_path
                repo.txn.record_redo({"op": "rm_container", "container": c.id})  # type: ignore[union-attr]
                _containers().ContainerService(repo, undo).remove(current)
        _containers().remove_files(c.id)
        self._notify([c.id])
        return c

    def _salvage_container(self, ref: str) -> Container:
        """A container whose record is damaged, completed from what the host shows: its
        waiter's argv gives the process, the process gives the sandbox (``rm -f`` only)."""
        c = Repo(self.store, salvage=True).get_container(ref)
        found = procnet.find_waiter(c.id, str(paths.container_dir(c.id)))
        if found is not None:
            c.supervisor_pid, c.pid = found
            c.status = "running"
        elif c.status != "running":
            c.pid = 0  # a pid the damaged record cannot vouch for is not signalled
        if c.pid and pids.pid_alive(c.pid, c.pid_start):
            c.netns_path = c.netns_path or procnet.netns_file_of(c.pid, str(paths.netns_dir()))
        return c

    def _wait_recorded(self, container_id: str, timeout: float = 10.0) -> None:
        """Wait for the supervisor to record the exit; do it ourselves if it is gone."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = self.reader().container(container_id)
            if c is None or c.status != "running":
                return
            if not pids.pid_alive(c.supervisor_pid, c.supervisor_start):
                break
            time.sleep(0.02)
        self.container_exited(container_id, 137)

    # -- containers that lost the pynet answering for them ------------------------------
    def reap_orphans(self) -> None:
        """Record or undo containers whose owner died (``pynet.state.owners``).

        A foreground ``run`` killed while its command ran: once the command has ended it
        is recorded exited (255: the code is lost, as dockerd after a crash) and its
        sandbox, addresses and ports are released. A ``run`` killed between commit and
        start: its process (if any) is killed and the container stays ``Created`` holding
        no network resources, as Docker's created containers.
        """
        found = owners.orphans()
        if not found:
            return
        reaped: list[owners.OwnerLock] = []
        removed: list[str] = []
        try:
            with self.mutation() as (repo, undo):
                svc = _containers().ContainerService(repo, undo)
                for lock in found:
                    if self._reap(repo, svc, lock, removed):
                        reaped.append(lock)
        finally:
            for lock in found:
                if lock in reaped:
                    lock.release()
                else:
                    lock.close()
        for cid in removed:
            _containers().remove_files(cid)
        if reaped:
            self._notify([lock.container_id for lock in reaped])

    def _reap(self, repo: Repo, svc: Any, lock: owners.OwnerLock, removed: list[str]) -> bool:
        """Reap one orphan; False while its command still runs (nothing to do yet)."""
        c = repo.container(lock.container_id)
        if c is None or c.status not in ("created", "running"):
            return True
        if c.status == "running":
            if pids.pid_alive(c.pid, c.pid_start):
                return False
            code = 255
            svc.died(c, code)
        else:
            pid, start = lock.process()
            if pid:
                pids.signal_pid(pid, start, _signal.SIGKILL)
            code = -1
        svc.teardown(c)
        if c.auto_remove:
            repo.delete_container(c.id)
            repo.emit(events.container_event("destroy", c))
            removed.append(c.id)
            return True
        if code < 0:
            _created_without_sandbox(c)
        else:
            svc.mark_exited(c, code)
        repo.put_container(c)
        return True

    # -- helper daemon -----------------------------------------------------------------
    def _notify(self, container_ids: list[str]) -> None:
        """Tell the helper (embedded DNS) what changed; never fails the command."""
        if not self.notifier.notify(container_ids):
            self.notices.append("WARNING: the pynet helper (embedded DNS) did not answer; name resolution may lag")


def _undo_update(current: Network, previous: Network) -> list[str]:
    """Apply ``previous``'s settings again (a failed ``network update`` commit)."""
    try:
        get_driver(current.driver).update_network(current, previous)
    except PynetError as err:
        return [f"network {current.name}: {err.message}"]
    return []


def _cleanup_warnings(errors: list[str]) -> list[str]:
    return [f"WARNING: cleanup: {err}" for err in errors]


def _report_rollback(exc: BaseException, errors: list[str]) -> None:
    """A rollback goes on past a failure; what it could not remove goes with the error."""
    if errors and isinstance(exc, PynetError):
        exc.warnings = (*exc.warnings, *_cleanup_warnings(errors))


NEED_ROOT = (
    "this command needs root: pynet changes the kernel's network objects "
    "(CAP_NET_ADMIN and CAP_SYS_ADMIN); run it as root, e.g. with sudo"
)


def require_privileges() -> None:
    """Forbidden (one line, exit 1; 125 for run) unless this process may do kernel work."""
    if not procnet.can_administer_network():
        raise Forbidden(NEED_ROOT, from_daemon=False)


def _sweep_container_dirs(store: Store) -> None:
    """Remove per-container directories whose record is gone (a killed ``rm``)."""
    ids = set(store.ids("containers"))
    try:
        entries = list(os.scandir(store.file("containers")))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir() and entry.name not in ids:
            _containers().remove_files(entry.name)


def _created_without_sandbox(c: Container) -> None:
    """Back to "created" holding no network resources (its sandbox is gone), as Docker's."""
    from pynet.cnm import sandboxes

    c.status, c.pid, c.pid_start = "created", 0, 0
    sandboxes.forget(c)


def _alive(c: Container) -> bool:
    if not pids.pid_alive(c.pid, c.pid_start):
        return False
    from pynet.cnm import sandboxes

    return not c.netns_path or sandboxes.exists(c)


def _wait_gone(c: Container, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pids.pid_alive(c.pid, c.pid_start):
            return True
        time.sleep(0.02)
    return not pids.pid_alive(c.pid, c.pid_start)


def _containers():  # type: ignore[no-untyped-def]
    """``pynet.cnm.containers``, imported when a command touches containers (not network ops)."""
    from pynet.cnm import containers

    return containers

"""Create now, start later (a mixin of the Controller): the Engine API's container lifecycle.

``pynet run`` makes the sandbox at create time and starts at once. The API's
``create`` only records a "created" container with the networks and settings asked for
(no kernel resource, as Docker); ``start`` then makes the sandbox, endpoints and ports and
starts the process detached. ``connect``/``disconnect`` of a created container change
what it asked for (``Controller.connect``).
"""

from __future__ import annotations

import dataclasses

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest

from pynet.cnm import shared_sandbox
from pynet.errors import Conflict, Forbidden, NotFound, PynetError
from pynet.records.model import ENDPOINTLESS_MODES, NONE_MODE, Container
from pynet.state import owners


def asked(c: Container) -> dict[str, dict[str, Any]]:
    """The networks ``c`` asked for, network ID -> settings, in attach order."""
    return c.asked_networks()


def ask(c: Container, network_id: str, attach: AttachRequest) -> None:
    """Record (or replace) what ``c`` asks for on a network, keeping the order."""
    entry = {**dataclasses.asdict(attach), "network_id": network_id}
    entries = asked(c)
    entries[network_id] = entry
    c.requested_networks = list(entries.values())


def ask_missing(c: Container, name: str, attach: AttachRequest) -> None:
    """Record what ``c`` asks for on a network that does not exist (yet): dockerd takes
    the create and fails the start with ``network NAME not found``."""
    if name not in asked(c):
        c.requested_networks = [
            *c.requested_networks,
            {**dataclasses.asdict(attach), "network_id": name, MISSING: True},
        ]


#: the key of a requested network recorded by the name it was asked by (it did not exist)
MISSING = "unresolved"


def forget(c: Container, network_id: str) -> None:
    c.requested_networks = [e for e in asked(c).values() if e["network_id"] != network_id]


def attach_request(settings: dict[str, Any]) -> AttachRequest:
    from pynet.cnm.endpoints import AttachRequest

    known = {f.name for f in dataclasses.fields(AttachRequest)}
    return AttachRequest(**{k: v for k, v in settings.items() if k in known})


class ContainerLifecycle:
    """``create_stored`` / ``start_stored``: Docker's create and start as two steps."""

    mutation: Any
    start_detached: Any
    _notify: Any
    _owners: dict[str, owners.OwnerLock]
    store: Any

    def create_stored(self, req: RunRequest, more: list[tuple[str, AttachRequest]]) -> Container:
        """Record a "created" container on ``req.network`` and the ``more`` networks.

        Nothing is made in the kernel. A network that does not exist is recorded by its
        name and fails the start (dockerd's create takes it: ``docker run`` then prints the
        start's ``network X not found``, and the docker CLI does not take it for an image
        to pull).
        """
        from pynet.cnm.containers import ContainerService

        with self.mutation() as (repo, undo):
            if req.image:  # dockerd looks the image up first: its 404 is the client's cue to pull
                from pynet.cnm.images import ImageService

                ImageService(repo.store).lookup(req.image)
            target = shared_sandbox.target_ref(req.network)
            if target is not None:
                return self._create_joiner(repo, undo, req, target, more)
            first = repo.find_network(req.network)
            others = [(ref, repo.find_network(ref), attach) for ref, attach in more]
            svc = ContainerService(repo, undo)
            c = svc.new_record(req, first, settings_at_start=True)
            if c.network_mode not in ENDPOINTLESS_MODES:
                for ref, net, attach in [(req.network, first, req.attach), *others]:
                    if net is None:
                        ask_missing(c, ref, attach)
                        continue
                    if net.id in asked(c):
                        continue
                    svc.endpoints.validate_join(c, net)  # addresses, aliases: at start (dockerd)
                    ask(c, net.id, attach)
            elif others:
                raise Conflict(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode"
                    if c.network_mode == NONE_MODE
                    else "container cannot be disconnected from host network or connected to host network"
                )
            elif first is not None and (req.attach.ipv4 or req.attach.ipv6 or req.attach.aliases):
                ask(c, first.id, req.attach)  # kept (and shown) as asked; the start refuses it
            c.port_requests = list(req.ports)
            repo.put_container(c)
        return c

    def _create_joiner(
        self, repo: Any, undo: Any, req: RunRequest, ref: str, more: list[tuple[str, AttachRequest]]
    ) -> Container:
        """A created ``container:ref`` joiner: the target must exist and run at start (a
        missing one is dockerd's 404 there, ``No such container``, not create's)."""
        from pynet.cnm.containers import ContainerService

        shared_sandbox.check_request(req)
        if more:
            raise Forbidden(shared_sandbox.SHARED_CONNECT)
        return ContainerService(repo, undo).join(req, repo.find_container(ref), ref)

    def start_stored(self, ref: str, env: dict[str, str]) -> Container:
        """Make a created (or exited) container's sandbox, endpoints and ports; start it detached.

        A ``container:`` joiner makes none: its target must be running. Raises Conflict when
        it runs already (the API answers 304 before asking).
        """
        try:
            with self.mutation() as (repo, undo):
                c = repo.get_container(ref)
                if c.status == "running":
                    raise Conflict(f"container {c.id} is already running")
                if shared_sandbox.is_joiner(c):
                    shared_sandbox.sandbox_owner(repo, c)
                else:
                    _provision(repo, undo, c)
                c.status, c.exit_code, c.error = "created", 0, ""
                self._owners[c.id] = owners.claim(c.id)
                repo.put_container(c)
        except PynetError as exc:
            self._start_failed(ref, exc)
            raise
        self._notify([c.id])
        self.start_detached(c, env)
        return c

    def _start_failed(self, ref: str, exc: PynetError) -> None:
        """dockerd's record of a start that failed: ``State.Error`` and exit code 128 on a
        container that stays "created" — or, with AutoRemove, the container removed."""
        from pynet.cnm.containers import ContainerService

        with self.mutation() as (repo, undo):
            c = repo.find_container(ref)
            if c is None or c.status == "running":
                return
            if c.auto_remove:
                ContainerService(repo, undo).remove(c)
                return
            c.error, c.exit_code = exc.message, 128
            repo.put_container(c)


def _asked_networks(repo: Any, c: Container) -> list[tuple[Any, dict[str, Any]]]:
    """The networks ``c`` asked for, in order; one asked for by a name that did not exist
    at create must exist now (NotFound in dockerd's words). Its entry gets the network's ID."""
    nets, entries = [], []
    for key, settings in asked(c).items():
        if settings.get(MISSING):
            net = repo.find_network(key)
            if net is None:
                raise NotFound(f"network {key} not found")
            settings = {k: v for k, v in settings.items() if k != MISSING} | {"network_id": net.id}
        else:
            net = repo.network(key)
        entries.append(settings)
        if net is not None:
            nets.append((net, settings))
    c.requested_networks = entries
    return nets


def _provision(repo: Any, undo: Any, c: Container) -> None:
    """The sandbox, endpoints, ports and /etc files of a stored container, as it asked."""
    from pynet.cnm.containers import ContainerService, check_mode_settings

    svc = ContainerService(repo, undo)
    nets = [(net, attach_request(settings)) for net, settings in _asked_networks(repo, c)]
    for _net, attach in nets:
        check_mode_settings(c.network_mode, attach)  # what host/none cannot take, as dockerd's start
    if c.network_mode in ENDPOINTLESS_MODES or not c.requested_networks:
        net = repo.find_network(c.network_mode)
        if net is not None and not nets:
            nets.append((net, attach_request({})))
    ports = c.port_requests or c.ports
    c.endpoints, c.ports = {}, []
    svc.provision(c, nets, ports)
    svc.write_files(c)

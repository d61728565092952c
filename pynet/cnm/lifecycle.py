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
from pynet.cnm.networks import NetworkService
from pynet.errors import Conflict, Forbidden, NotFound
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

        Every network must exist (NoSuchNetwork otherwise); nothing is made in the kernel.
        """
        from pynet.cnm.containers import ContainerService

        with self.mutation() as (repo, undo):
            if req.image:  # dockerd looks the image up first: its 404 is the client's cue to pull
                from pynet.cnm.images import ImageService

                ImageService(repo.store).lookup(req.image)
            target = shared_sandbox.target_ref(req.network)
            if target is not None:
                return self._create_joiner(repo, undo, req, target, more)
            nets = NetworkService(repo, undo)
            first = nets.get(req.network)
            others = [(nets.get(ref), attach) for ref, attach in more]
            svc = ContainerService(repo, undo)
            c = svc.new_record(req, first)
            if c.network_mode not in ENDPOINTLESS_MODES:
                for net, attach in [(first, req.attach), *others]:
                    if net.id in asked(c):
                        continue
                    svc.endpoints.validate(c, net, attach)
                    ask(c, net.id, attach)
            elif others:
                raise Conflict(
                    "container cannot be connected to multiple networks with one of the networks in private (none) mode"
                    if c.network_mode == NONE_MODE
                    else "container cannot be disconnected from host network or connected to host network"
                )
            c.port_requests = list(req.ports)
            repo.put_container(c)
        return c

    def _create_joiner(
        self, repo: Any, undo: Any, req: RunRequest, ref: str, more: list[tuple[str, AttachRequest]]
    ) -> Container:
        """A created ``container:ref`` joiner: the target must exist; it must run at start."""
        from pynet.cnm.containers import ContainerService

        shared_sandbox.check_request(req)
        if more:
            raise Forbidden(shared_sandbox.SHARED_CONNECT)
        target = repo.find_container(ref)
        if target is None:
            raise NotFound(f"No such container: {ref}")
        return ContainerService(repo, undo).join(req, target)

    def start_stored(self, ref: str, env: dict[str, str]) -> Container:
        """Make a created (or exited) container's sandbox, endpoints and ports; start it detached.

        A ``container:`` joiner makes none: its target must be running. Raises Conflict when
        it runs already (the API answers 304 before asking).
        """
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
        self._notify([c.id])
        self.start_detached(c, env)
        return c


def _provision(repo: Any, undo: Any, c: Container) -> None:
    """The sandbox, endpoints, ports and /etc files of a stored container, as it asked."""
    from pynet.cnm.containers import ContainerService

    svc = ContainerService(repo, undo)
    nets = []
    for net_id, settings in asked(c).items():
        net = repo.network(net_id)
        if net is not None:
            nets.append((net, attach_request(settings)))
    if c.network_mode in ENDPOINTLESS_MODES or not c.requested_networks:
        net = repo.find_network(c.network_mode)
        if net is not None and not nets:
            nets.append((net, attach_request({})))
    ports = c.port_requests or c.ports
    c.endpoints, c.ports = {}, []
    svc.provision(c, nets, ports)
    svc.write_files(c)

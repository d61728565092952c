"""``--network container:NAME``: a container that joins another one's Sandbox
(docs/topology.md, "Looking around a sandbox with host tools").

The joiner owns no sandbox and no endpoint: its process enters the target's netns and
sees the target's interfaces, addresses, routes, hostname, ``/etc/hosts`` and
``/etc/resolv.conf`` (the target's files, bind-mounted). Its record keeps Docker's
``NetworkMode`` ``container:<target ID>``; when the target stops, its sandbox goes and the
joiner is left with ``lo``, as in Docker.
"""

from __future__ import annotations

from pynet.errors import Conflict, InvalidArgument, NotFound

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.containers import RunRequest
    from pynet.cnm.repo import Repo
    from pynet.records.model import Container

PREFIX = "container:"
SHARED_CONNECT = (
    "container sharing network namespace with another container or host cannot be connected to any other network"
)


def target_ref(network: str) -> str | None:
    """The NAME of ``container:NAME`` (None for any other network mode)."""
    if not network.startswith(PREFIX):
        return None
    ref = network[len(PREFIX) :]
    if not ref:
        raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
    return ref


def is_joiner(c: Container) -> bool:
    """``c`` runs in another container's sandbox."""
    return c.network_mode.startswith(PREFIX)


def check_request(req: RunRequest) -> None:
    """Docker's refusals of settings a joiner cannot have (its network is not its own), in
    the order dockerd checks them (``validateNetContainerMode``); aliases are the CLI's."""
    if req.attach.aliases:
        raise InvalidArgument("network-scoped aliases are only supported for user-defined networks", from_daemon=False)
    refusals = [
        (req.hostname, "conflicting options: hostname and the network mode"),
        (req.dns, "conflicting options: dns and the network mode"),
        (req.extra_hosts, "conflicting options: custom host-to-IP mapping and the network mode"),
        (req.attach.mac, "conflicting options: mac-address and the network mode"),
        (req.ports or req.publish_all, "conflicting options: port publishing and the container type network mode"),
        (req.exposed, "conflicting options: port exposing and the container type network mode"),
    ]
    for given, message in refusals:
        if given:
            raise InvalidArgument(message)


def resolve_target(repo: Repo, ref: str) -> Container:
    """The running container whose sandbox a ``container:ref`` joiner enters (a joiner's
    own target when ``ref`` names a joiner, as Docker shares one netns)."""
    target = repo.find_container(ref)
    if target is None:
        raise NotFound(f"No such container: {ref}")
    seen = {target.id}
    while is_joiner(target):
        nxt = repo.container(target.network_mode[len(PREFIX) :])
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        target = nxt
    if target.status != "running" or not target.netns_path:
        raise Conflict(f"cannot join network of a non running container: {target.id}")
    return target


def sandbox_owner(repo: Repo, c: Container) -> Container:
    """At start: the container whose sandbox ``c`` joins, still running (else Conflict)."""
    return resolve_target(repo, c.network_mode[len(PREFIX) :])

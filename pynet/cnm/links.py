"""Link shaping service: set, clear and show the shaping of a container's endpoints.

The shape is stored on the Endpoint (``Endpoint.link``, tc's notation) and applied in the
sandbox by ``pynet.kernel.tc`` (rate, netem) and ``pynet.kernel.linkloss`` (loss). It goes
with the endpoint: ``disconnect`` calls :func:`remove_for_endpoint`, a container's end
deletes its sandbox. ``LinkControl`` is the Controller's face (``pynet link``, compose's
``x-pynet-link``; the API is in docs/topologies.md, "Link shaping").
"""

from __future__ import annotations

from dataclasses import dataclass

from pynet.errors import Conflict, InvalidArgument, NotFound, PynetError, Unsupported
from pynet.records.links import NETEM_SETTINGS, SETTINGS, LinkShape, parse_link_shape

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pynet.cnm.repo import Repo
    from pynet.records.model import Container, Endpoint, Network


@dataclass
class LinkRow:
    """One endpoint's shaping, as ``link show`` lists it."""

    container: str  # the container's name
    network: str  # the network's name
    interface: str  # eth0... inside the sandbox
    shape: LinkShape

    def to_json(self) -> dict[str, Any]:
        return {
            "Container": self.container,
            "Network": self.network,
            "Interface": self.interface,
            **_titled(self.shape),
        }


def supported_impairments() -> dict[str, bool]:
    """Which settings this host's kernel can apply: rate and loss always, netem's if present."""
    from pynet.kernel import tc

    netem = tc.netem_supported()
    return {name: netem if name in NETEM_SETTINGS else True for name in SETTINGS}


def stored_shape(ep: Endpoint) -> LinkShape:
    """The shape stored on ``ep`` (an unreadable one counts as none)."""
    try:
        return parse_link_shape(ep.link)
    except InvalidArgument:
        return LinkShape()


def inspect_view(ep: Endpoint) -> dict[str, str]:
    """The ``PynetLink`` key of ``inspect`` (empty: the key is left out)."""
    return _titled(stored_shape(ep))


def _titled(shape: LinkShape) -> dict[str, str]:
    return {k.capitalize(): v for k, v in shape.to_text().items()}


def remove_for_endpoint(c: Container, ep: Endpoint) -> None:
    """Remove ``ep``'s shaping from the sandbox before the endpoint goes (its interface name
    may be reused by the next network the container joins)."""
    if ep.link and c.netns_path:
        from pynet.kernel import linkloss, tc

        tc.unshape(c.netns_path, ep.ifname)
        linkloss.clear_loss(c.netns_path, ep.ifname)


def link_rows(repo: Repo, container_ref: str | None = None) -> list[LinkRow]:
    """``link show``: one container's endpoints, or those of every container, by name."""
    containers = [repo.get_container(container_ref)] if container_ref else repo.containers()
    return LinkService(repo).rows(sorted(containers, key=lambda c: c.name))


class LinkService:
    """Shaping of one container's endpoints inside an open transaction."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def endpoint(self, c: Container, network_ref: str | None) -> tuple[Network, Endpoint]:
        """The endpoint of ``c`` on ``network_ref`` (or on its only network)."""
        if c.status != "running":
            raise Conflict(f"Container {c.id} is not running")
        if not c.endpoints:
            raise Conflict(f"container {c.name} is not connected to any network it could shape")
        if network_ref:
            net = self.repo.find_network(network_ref)
            if net is None:
                raise NotFound(f"network {network_ref} not found")
            if net.id not in c.endpoints:
                raise Conflict(f"container {c.id} is not connected to network {net.name}")
        else:
            if len(c.endpoints) > 1:
                names = sorted(n.name for n in map(self.repo.network, c.endpoints) if n is not None)
                raise InvalidArgument(
                    f"container {c.name} is connected to {len(names)} networks ({', '.join(names)}): name one with --network"
                )
            net = self.repo.network(next(iter(c.endpoints)))
            if net is None:
                raise NotFound(f"network {next(iter(c.endpoints))} not found")
        ep = self.repo.endpoint(c.endpoints[net.id])
        if ep is None:
            raise NotFound(f"endpoint of container {c.name} on network {net.name} not found")
        return net, ep

    def apply(self, c: Container, ep: Endpoint, shape: LinkShape) -> Callable[[], None]:
        """Make ``ep``'s link do exactly ``shape`` (empty: unshaped) and store it; return
        what puts the previous shape back (for a transaction that fails later).

        Refuses (Unsupported, nothing changed) settings the kernel lacks; a kernel failure
        puts the previous shape back before it is raised."""
        _check_supported(shape)
        if c.status != "running" or not c.netns_path:
            raise Conflict(f"Container {c.id} is not running")
        before, netns, ifname = stored_shape(ep), c.netns_path, ep.ifname

        def revert() -> None:
            _apply_kernel(netns, ifname, before)

        try:
            _apply_kernel(netns, ifname, shape)
        except BaseException as exc:
            _revert(revert, exc)
            raise
        ep.link = shape.to_text()
        self.repo.put_endpoint(ep)
        return revert

    def rows(self, containers: list[Container]) -> list[LinkRow]:
        """Every endpoint of ``containers`` with its stored shaping (shaped or not)."""
        out = []
        for c in containers:
            for net_id, ep_id in c.endpoints.items():
                net, ep = self.repo.network(net_id), self.repo.endpoint(ep_id)
                if net is not None and ep is not None:
                    out.append(LinkRow(c.name, net.name, ep.ifname, stored_shape(ep)))
        return out


def _check_supported(shape: LinkShape) -> None:
    from pynet.kernel import tc

    missing = shape.netem_settings()
    if missing and not tc.netem_supported():
        raise Unsupported(
            f"cannot set {', '.join(missing)}: {tc.NO_NETEM}; on this host link shaping supports rate and loss"
        )


def _revert(revert: Callable[[], None], exc: BaseException) -> None:
    """Put the previous shape back; what fails there rides on the error being raised."""
    try:
        revert()
    except (PynetError, OSError) as err:
        if isinstance(exc, PynetError):
            exc.warnings = (*exc.warnings, f"WARNING: link shaping not restored: {err}")


def _apply_kernel(netns: str, ifname: str, shape: LinkShape) -> None:
    from pynet.kernel import linkloss, tc  # imported by the commands that shape only

    tc.shape(netns, ifname, rate_bps=shape.rate_bps, netem=_netem_args(shape))
    if shape.loss:
        linkloss.set_loss(netns, ifname, shape.loss)
    else:
        linkloss.clear_loss(netns, ifname)


def _netem_args(shape: LinkShape) -> dict[str, Any] | None:
    if not shape.needs_netem():
        return None
    args: dict[str, Any] = {"delay": shape.delay_us, "jitter": shape.jitter_us, "duplicate": shape.duplicate}
    if shape.corrupt:
        args["prob_corrupt"] = shape.corrupt
    return args


class LinkControl:
    """The Controller's link-shaping operations (a mixin of ``Controller``)."""

    mutation: Any  # the Controller's
    reader: Any

    def set_link(
        self, container_ref: str, shape: LinkShape, network_ref: str | None = None, *, replace: bool = False
    ) -> LinkRow:
        """Shape the link of a running container on ``network_ref`` (may be omitted when it
        has one network). Settings not in ``shape`` are kept unless ``replace``."""
        revert = None
        try:
            with self.mutation() as (repo, _undo):
                c = repo.get_container(container_ref)
                svc = LinkService(repo)
                net, ep = svc.endpoint(c, network_ref)
                new = shape if replace else stored_shape(ep).merged(shape)
                revert = svc.apply(c, ep, new)
                row = LinkRow(c.name, net.name, ep.ifname, new)
        except BaseException as exc:
            if revert is not None:  # the commit failed: the kernel goes back to the stored shape
                _revert(revert, exc)
            raise
        return row

    def clear_link(self, container_ref: str, network_ref: str | None = None) -> LinkRow:
        """Remove every shaping setting of the container's link on ``network_ref``."""
        return self.set_link(container_ref, LinkShape(), network_ref, replace=True)

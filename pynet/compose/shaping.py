"""``x-pynet-link``: a service's link shaping on one network, through the core's link operation."""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.controller import Controller
    from pynet.compose.model import LinkSpec


def apply(ctl: Controller, container: str, network: str, link: LinkSpec | None) -> None:
    """Make ``container``'s link on ``network`` exactly ``link`` (cleared when None or empty).

    The container must run (the shaping lives in its sandbox): ``up`` shapes right after
    the start. A netem setting on a kernel without netem is refused, one line, nothing set.
    """
    from pynet.records.links import parse_link_shape

    ctl.set_link(container, parse_link_shape(link.settings() if link else {}), network, replace=True)

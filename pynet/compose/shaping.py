"""``x-pynet-link``: a service's link shaping on one network, through pynet's link operation."""

from __future__ import annotations

from pynet.errors import Unsupported

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.controller import Controller
    from pynet.compose.model import LinkSpec


def apply(ctl: Controller, container: str, network: str, link: LinkSpec | None) -> None:
    """Shape ``container``'s link on ``network`` as ``link`` says (clear it when None)."""
    raise Unsupported("x-pynet-link: link shaping (pynet link) is not available in this build", from_daemon=False)


def observer(repo: object) -> None:
    """How ``observe`` reads the shaping in force (None: this build has no link shaping)."""
    return None

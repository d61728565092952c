"""``/images``: list, inspect and remove imported images (pynet has no registry; pulling
is refused by ``pynet.api.system.pull_refused``)."""

from __future__ import annotations

from pynet.api.http import Request, Response, json_response
from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.cnm.images import ImageService

FILTERS = frozenset(("dangling", "reference", "label", "before", "since"))


def _images() -> ImageService:
    from pynet import wiring

    return wiring.images()


def list_images(req: Request) -> Response:
    """``GET /images/json`` (``filters``: reference, dangling)."""
    import fnmatch

    from pynet.cnm import image_views

    filters = req.filters()
    for key in filters:
        if key not in FILTERS:
            raise InvalidArgument(f"Invalid filter '{key}'")
    dangling = filters.get("dangling", [])
    out = []
    for img in _images().images():
        if dangling and (dangling[0] in ("true", "1")) != (not img.repo_tags):
            continue
        refs = filters.get("reference", [])
        if refs and not any(
            fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(tag.rsplit(":", 1)[0], pattern)
            for tag in img.repo_tags
            for pattern in refs
        ):
            continue
        out.append(image_views.image_summary(img))
    return json_response(out)


def inspect(req: Request) -> Response:
    """``GET /images/{name}/json``; 404 ``No such image: NAME:TAG``."""
    from pynet.cnm import image_views

    svc = _images()
    img = svc.lookup(req.params["name"])
    return json_response(image_views.image_inspect(img, str(svc.rootfs(img))))


def remove(req: Request) -> Response:
    """``DELETE /images/{name}`` -> ``[{"Untagged": ...}, {"Deleted": ...}]``."""
    from pynet.api import core

    with core.controller() as ctl:
        from pynet import wiring

        lines = wiring.images(ctl.store).remove(req.params["name"], force=req.flag("force"))
    out = []
    for line in lines:
        key, _, value = line.partition(": ")
        out.append({key: value})
    return json_response(out)

"""The bodies of the image commands: import, ls, rm, inspect (no click here)."""

from __future__ import annotations

import time

from pynet.cli.base import controller, echo, print_inspect
from pynet.errors import ExitStatus, InvalidArgument, PynetError

IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_DIGEST_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_HEADERS = {
    "ID": "IMAGE ID",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}
FILTERS = frozenset(("dangling", "reference", "label", "before", "since"))


def _images(*, mutating: bool = False):  # type: ignore[no-untyped-def]
    """The image service; for a change, on a ready controller's store (privileges
    checked, an interrupted command finished first) as every mutating command."""
    from pynet import wiring

    return wiring.images(controller().store if mutating else None)


def import_(change: tuple[str, ...], message: str, source: str, reference: str | None) -> None:
    """Import a root filesystem as an image; prints its ID (``sha256:...``)."""
    img = _images(mutating=True).import_(source, reference or "", list(change), message)
    echo("sha256:" + img.id)


def ls(
    show_all: bool,
    quiet: bool,
    no_trunc: bool,
    digests: bool,
    filters: tuple[str, ...],
    fmt: str | None,
    reference: str | None,
) -> None:
    """List images (Docker's columns, newest first)."""
    from pynet.cli import formatting
    from pynet.cnm import image_views

    parsed = formatting.parse_filters(list(filters), FILTERS)
    refs = [*parsed.get("reference", []), *([reference] if reference else [])]
    dangling = parsed.get("dangling", [])
    if dangling and dangling[0] not in ("true", "false", "1", "0"):
        raise InvalidArgument(f"Invalid filter 'dangling={dangling[0]}'")
    now = time.time_ns()
    rows = []
    for img in _images().images():
        if dangling and (dangling[0] in ("true", "1")) != (not img.repo_tags):
            continue
        for row in image_views.image_ls_rows(img, now, no_trunc=no_trunc):
            if refs and not any(_ref_match(r, row) for r in refs):
                continue
            rows.append(row)
    table = IMAGE_DIGEST_TABLE if digests else IMAGE_TABLE
    out = formatting.format_list(
        rows,
        fmt,
        default_table=table,
        quiet_field="ID",
        quiet=quiet,
        headers=IMAGE_HEADERS,
        type_name="*formatter.imageContext",
    )
    echo(out, nl=False)


def _ref_match(pattern: str, row: dict[str, str]) -> bool:
    """``reference=`` filter: a shell pattern over ``REPO`` or ``REPO:TAG`` (Docker's)."""
    import fnmatch

    if row["Repository"] == "<none>":
        return False
    full = f"{row['Repository']}:{row['Tag']}"
    return fnmatch.fnmatchcase(full, pattern) or fnmatch.fnmatchcase(row["Repository"], pattern)


def rm(force: bool, no_prune: bool, images: tuple[str, ...]) -> None:
    """Remove images; one error line per image that cannot be removed, exit 1 then."""
    svc = _images(mutating=True)
    failed = False
    for ref in images:
        try:
            for line in svc.remove(ref, force=force):
                echo(line)
        except PynetError as exc:
            echo(exc.render(), err=True)
            failed = True
    if failed:
        raise ExitStatus(1)


def inspect(fmt: str | None, images: tuple[str, ...]) -> None:
    """Images as JSON (Docker's image inspect)."""
    from pynet.cnm import image_views

    svc = _images()
    found, missing = [], []
    for ref in images:
        img = svc.find(ref)
        if img is None:
            missing.append(ref)
        else:
            found.append(image_views.image_inspect(img, str(svc.rootfs(img))))
    print_inspect(found, fmt, missing, "image")

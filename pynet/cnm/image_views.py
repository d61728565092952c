"""Docker's JSON shapes of an image: inspect, the Engine API's list summary, and the
fields ``image ls --format`` templates see (Docker's imageContext)."""

from __future__ import annotations

import calendar
import time

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.records.image import Image

from pynet.cnm.info import goarch
from pynet.ids import short

NONE = "<none>"


def unix_seconds(rfc3339: str) -> int:
    """``2026-12-03T07:00:00.123Z`` -> seconds since the epoch."""
    try:
        return calendar.timegm(time.strptime(rfc3339.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0


def config(img: Image) -> dict[str, Any]:
    """The image's ``Config`` (the run defaults), as dockerd shows it."""
    return {
        "Hostname": "",
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": list(img.env) or None,
        "Cmd": img.cmd,
        "Image": "",
        "Volumes": None,
        "WorkingDir": img.workdir,
        "Entrypoint": img.entrypoint,
        "OnBuild": None,
        "Labels": None,
    }


def image_inspect(img: Image, rootfs: str) -> dict[str, Any]:
    """``image inspect`` / ``GET /images/{name}/json``."""
    return {
        "Id": "sha256:" + img.id,
        "RepoTags": list(img.repo_tags),
        "RepoDigests": [],
        "Parent": "",
        "Comment": img.comment,
        "Created": img.created,
        "DockerVersion": "",
        "Author": "",
        "Config": config(img),
        "Architecture": goarch(),
        "Os": "linux",
        "Size": img.size,
        "GraphDriver": {"Data": {"RootDir": rootfs}, "Name": "pynet"},
        "RootFS": {"Type": "layers", "Layers": ["sha256:" + img.layer_digest]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def image_summary(img: Image, containers: int = -1) -> dict[str, Any]:
    """One entry of ``GET /images/json``."""
    return {
        "Id": "sha256:" + img.id,
        "ParentId": "",
        "RepoTags": list(img.repo_tags),
        "RepoDigests": [],
        "Created": unix_seconds(img.created),
        "Size": img.size,
        "SharedSize": -1,
        "VirtualSize": img.size,
        "Labels": {},
        "Containers": containers,
    }


def image_ls_rows(img: Image, now_ns: int, *, no_trunc: bool = False) -> list[dict[str, str]]:
    """One ``image ls`` row per tag (one ``<none>`` row for an untagged image)."""
    from pynet.cnm.views import _ago

    created = unix_seconds(img.created)
    base = {
        "ID": ("sha256:" + img.id) if no_trunc else short(img.id),
        "CreatedSince": _ago(img.created, now_ns) + " ago",
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "Size": human_size(img.size),
        "VirtualSize": human_size(img.size),
        "SharedSize": "N/A",
        "UniqueSize": "N/A",
        "Containers": "N/A",
        "Digest": NONE,
    }
    tags = [t.rsplit(":", 1) for t in img.repo_tags] or [[NONE, NONE]]
    return [{**base, "Repository": repo, "Tag": tag} for repo, tag in tags]


def human_size(size: float) -> str:
    """go-units' HumanSizeWithPrecision(size, 3): decimal units, ``4.26MB``."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{units[i]}"

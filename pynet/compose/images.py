"""``image:``: the root filesystem of an image pynet knows, or None (the host's is used)."""

from __future__ import annotations


def rootfs(image: str) -> str | None:
    """The directory a service of ``image`` runs in; None while pynet has no such image.

    The seam for pynet's image store (``pynet image import``, issue #14): until this build
    has one, every image is unknown and services run their command from the host."""
    return None

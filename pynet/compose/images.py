"""``image:``: the root filesystem of an image pynet knows, or None (the host's is used)."""

from __future__ import annotations


def rootfs(image: str) -> str | None:
    """The directory a service of ``image`` runs in; None while pynet has no such image."""
    return None

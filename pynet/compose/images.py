"""``image:``: a service runs in an image pynet knows (``pynet image import``), else from the host."""

from __future__ import annotations


def known(image: str) -> bool:
    """True when pynet has ``image`` (NAME[:TAG] or ID); an invalid reference is Docker's error."""
    from pynet import wiring

    return wiring.images().find(image) is not None

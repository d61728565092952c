"""The Image record and Docker's image references (pure: no I/O).

pynet has no registry: an image is a root filesystem directory that ``pynet image import``
registered under one or more ``NAME:TAG`` references, with Docker's run defaults
(``Cmd``, ``Entrypoint``, ``Env``, ``WorkingDir``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pynet.errors import InvalidArgument

DEFAULT_TAG = "latest"
_DOCKER_HUB = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")
# Docker's reference grammar, reduced to what a local name needs: lowercase path
# components (letters, digits, separators), an optional registry host, a tag.
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^(?:{_DOMAIN})?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]{1,64}$")


@dataclass
class Image:
    """One imported root filesystem (``images/<id>/image.json``).

    ``id`` is the 64-hex digest (Docker shows it as ``sha256:<id>``); ``repo_tags`` are
    familiar references (``busybox:latest``); ``size`` is the bytes of its files.
    """

    id: str
    created: str
    size: int = 0
    repo_tags: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    comment: str = ""
    layer_digest: str = ""  # sha256 of the files (Docker's RootFS.Layers)
    schema_version: int = 1


def normalize(ref: str) -> str:
    """``busybox`` -> ``busybox:latest``, ``docker.io/library/alpine:3.10`` -> ``alpine:3.10``.

    Raises InvalidArgument (Docker's ``invalid reference format``) for what is not a name.
    """
    name, tag = split(ref)
    return f"{name}:{tag}"


def split(ref: str) -> tuple[str, str]:
    """(familiar repository name, tag) of a reference; the tag defaults to ``latest``."""
    if "@" in ref:
        raise InvalidArgument("invalid reference format: digests are not supported (pynet has no registry)")
    name, tag = ref, DEFAULT_TAG
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        name, tag = ref[:colon], ref[colon + 1 :]
    for hub in _DOCKER_HUB:
        if name.startswith(hub):
            name = name[len(hub) :]
            break
    if name.startswith("library/") and name.count("/") == 1:
        name = name[len("library/") :]
    if len(name) > 255:  # distribution/reference's NameTotalLengthMax
        raise InvalidArgument("invalid reference format: repository name must not be more than 255 characters")
    first, slash, _rest = name.partition("/")
    remainder = name if not slash or not (first == "localhost" or "." in first or ":" in first) else _rest
    if remainder != remainder.lower():  # a first component is a registry only with "." ":" or localhost
        raise InvalidArgument("invalid reference format: repository name must be lowercase")
    if not name or not _NAME.match(name) or not _TAG.match(tag):
        if name and name.lower() != name and _NAME.match(name.lower()):
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
        raise InvalidArgument("invalid reference format")
    return name, tag


_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


def check_reference(ref: str) -> None:
    """Refuse what Docker's ``reference.ParseAnyReference`` refuses, in its words (the
    client's: ``run`` checks before any work); a 64-hex ID and ``NAME[:TAG]@DIGEST`` pass."""
    if re.fullmatch(r"[0-9a-f]{64}", ref):
        return
    name, at, digest = ref.partition("@")
    if at and not _DIGEST.match(digest):
        raise InvalidArgument("invalid reference format", from_daemon=False)
    try:
        split(name)
    except InvalidArgument as exc:
        raise InvalidArgument(exc.message, from_daemon=False) from None


def looks_like_id(ref: str) -> bool:
    """A (prefix of an) image ID, with or without ``sha256:``."""
    return bool(_HEX.match(ref.removeprefix("sha256:")))

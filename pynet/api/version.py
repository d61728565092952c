"""API version negotiation, as dockerd's version middleware does it.

pynet advertises :data:`API_VERSION` (``API-Version`` on every reply; ``/_ping``,
``/version``). Paths may carry ``/v<major>.<minor>`` from :data:`MIN_API_VERSION` up to it;
unversioned paths mean the advertised version. Older or newer get dockerd's 400 messages.
"""

from __future__ import annotations

import re

from pynet.errors import InvalidArgument

from pynet.cnm.info import API_VERSION, MIN_API_VERSION  # one place for both front doors

_PREFIX = re.compile(r"/v([0-9]+(?:\.[0-9]+)*)(/.*)\Z", re.S)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def before(version: str | None, ref: str) -> bool:
    """Whether a request made at ``version`` (None: unversioned, the advertised one) predates ``ref``."""
    return version is not None and _key(version) < _key(ref)


_split: dict[str, tuple[str | None, str]] = {}  # path -> its accepted split (clients repeat theirs)
_SPLIT_KEPT = 256


def split_version(path: str) -> tuple[str | None, str]:
    """``/v1.41/networks`` -> ``("1.41", "/networks")``; unversioned -> ``(None, path)``.

    Raises InvalidArgument (400) with dockerd's words for a version it would refuse.
    """
    known = _split.get(path)
    if known is not None:
        return known
    split = _checked_split(path)
    if len(_split) >= _SPLIT_KEPT:
        _split.clear()
    _split[path] = split
    return split


def _checked_split(path: str) -> tuple[str | None, str]:
    m = _PREFIX.match(path)
    if m is None:
        return None, path
    version, rest = m.group(1), m.group(2)
    if _key(version) < _key(MIN_API_VERSION):
        raise InvalidArgument(
            f"client version {version} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    if _key(version) > _key(API_VERSION):
        raise InvalidArgument(f"client version {version} is too new. Maximum supported API version is {API_VERSION}")
    return version, rest

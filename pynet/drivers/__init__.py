"""The driver registry: one line per driver."""

from __future__ import annotations

from pynet.drivers.base import Driver
from pynet.errors import NotFound, Unsupported

_BUILTIN = {
    "bridge": "pynet.drivers.bridge:BridgeDriver",
    "host": "pynet.drivers.host:HostDriver",
    "null": "pynet.drivers.host:NullDriver",
}

#: drivers Docker has that this kernel cannot back (no ipvlan module here)
_KERNEL_MISSING = {"ipvlan": "ipvlan"}

_cache: dict[str, Driver] = {}


def get_driver(name: str) -> Driver:
    """The driver called ``name``; Docker's ``plugin "x" not found`` when there is none."""
    if name in _cache:
        return _cache[name]
    target = _BUILTIN.get(name)
    if target is None:
        if name in _KERNEL_MISSING:
            raise Unsupported(f"{name} driver: {_KERNEL_MISSING[name]} is not supported by this kernel")
        raise NotFound(f'plugin "{name}" not found')
    module_name, cls_name = target.split(":")
    import importlib

    driver = getattr(importlib.import_module(module_name), cls_name)()
    _cache[name] = driver
    return driver


def known_driver(name: str) -> bool:
    return name in _BUILTIN

"""The driver registry: one line per driver; other names are looked up as remote plugins."""

from __future__ import annotations

import sys

from pynet.drivers.base import Driver
from pynet.errors import Unsupported

_BUILTIN = {
    "bridge": "pynet.drivers.bridge:BridgeDriver",
    "host": "pynet.drivers.host:HostDriver",
    "null": "pynet.drivers.host:NullDriver",
    "macvlan": "pynet.drivers.macvlan:MacvlanDriver",
    "overlay": "pynet.drivers.overlay:OverlayDriver",
}

#: drivers Docker has that pynet cannot back: name -> the link kind they would need
_KERNEL_MISSING = {"ipvlan": "ipvlan"}

_cache: dict[str, Driver] = {}


def get_driver(name: str) -> Driver:
    """The driver called ``name``: built in, else a remote plugin (Docker's discovery).

    Raises Docker's ``plugin "x" not found`` when no plugin answers to ``name``.
    """
    if name in _cache:
        return _cache[name]
    if name in _BUILTIN:
        driver = driver_class(name)()
    elif name in _KERNEL_MISSING:
        raise _unsupported(name)
    else:
        from pynet.drivers.remote import RemoteDriver

        driver = RemoteDriver(name)
    _cache[name] = driver
    return driver


def driver_class(name: str) -> type[Driver]:
    """The class of driver ``name`` (a remote plugin's proxy for any other name).

    Its class attributes are the driver's abilities: the core reads them without making
    the driver, so asking costs no plugin discovery.
    """
    target = _BUILTIN.get(name)
    if target is None:
        from pynet.drivers.remote import RemoteDriver

        return RemoteDriver
    module_name, cls_name = target.split(":")
    __import__(module_name)  # not importlib: it imports warnings
    return getattr(sys.modules[module_name], cls_name)


def _unsupported(name: str) -> Unsupported:
    from pynet.kernel import netlink

    if netlink.link_kind_supported(_KERNEL_MISSING[name]):
        return Unsupported(f"{name} driver is not implemented by pynet (macvlan is)")
    return Unsupported(f"{name} driver is not supported by this kernel (no {_KERNEL_MISSING[name]} links)")

"""Standard modules that a pynet command imports only when it uses them (design.md, "Start-up").

Stdlib imports cost read-only commands a fifth of their CPU time for nothing they use:
``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``) for one call, made
only for a dataclass without a docstring, and ``pathlib`` imports ``urllib.parse`` (with
``ipaddress``) for ``Path.as_uri``, and ``re`` (with ``enum``, ~5 ms) is imported by
``pathlib`` and ``fnmatch`` for globbing only. :func:`defer` puts a stand-in in ``sys.modules`` that
imports the real module on first attribute use; names a module takes with ``from X import
name`` at its own import get small forwarding functions, so that import stays cheap.
"""

import sys

ModuleType = type(sys)  # not `from types import ModuleType`: one import less per command


_then: dict = {}  # module name -> what to call with the real module once it is imported
_during: dict = {}  # module name -> makes {other module: its stand-in while name is imported}


def _real(name: str) -> ModuleType:
    """The real module, imported now (the stand-in leaves ``sys.modules`` first)."""
    if not isinstance(sys.modules.get(name), DeferredModule):
        __import__(name)  # not importlib: it imports warnings
        return sys.modules[name]
    del sys.modules[name]
    # Stand-ins of deferred modules that ``name`` uses only at its own import, for little
    # (dataclasses compiles one regex): in sys.modules while it is imported, then put back.
    make = _during.pop(name, None)
    during = {k: v for k, v in (make() if make else {}).items() if isinstance(sys.modules.get(k), DeferredModule)}
    kept = {k: sys.modules[k] for k in during}
    sys.modules.update(during)
    try:
        __import__(name)
    finally:
        for k, stand_in in kept.items():
            if sys.modules.get(k) is during[k]:  # (not replaced by the real module meanwhile)
                sys.modules[k] = stand_in
    module = sys.modules[name]
    then = _then.pop(name, None)
    if then is not None:
        then(module)
    return module


class DeferredModule(ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is used."""

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__"):  # the import system probing (`__path__`...): not a use
            raise AttributeError(attr)
        real = _real(self.__name__)
        # Whoever kept the stand-in (``import re`` before the first use) now finds every
        # name directly, without this hook.
        vars(self).update((k, v) for k, v in vars(real).items() if not k.startswith("__"))
        return getattr(real, attr)


def _forwarder(module: str, attr: str) -> object:
    def forward(*args: object, **kwargs: object) -> object:
        return getattr(_real(module), attr)(*args, **kwargs)

    forward.__name__ = attr
    return forward


def defer(name: str, *forwarded: str, then: object = None, during: object = None) -> None:
    """Defer importing ``name`` (unless it is imported already); ``forwarded``: functions
    other modules take from it by name at import (``from name import f``); ``then``: called
    with the real module once it is imported (at once when it is already); ``during``:
    makes {deferred module: its stand-in while ``name`` itself is imported}."""
    if name in sys.modules:
        if then is not None:
            then(sys.modules[name])  # type: ignore[operator]
        return
    if then is not None:
        _then[name] = then
    if during:
        _during[name] = during
    stand_in = DeferredModule(name)
    for attr in forwarded:
        setattr(stand_in, attr, _forwarder(name, attr))
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(__import__(parent), child, stand_in)  # `import a.b; a.b.f()` finds it
    sys.modules[name] = stand_in

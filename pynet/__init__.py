"""pynet: Docker's container networking (CNM) as a daemonless tool on real kernel objects."""

import sys
from types import ModuleType

__version__ = "0.1.0"


class _DeferredModule(ModuleType):
    """Stands in ``sys.modules`` for a stdlib module until one of its attributes is used."""

    def __getattr__(self, attr: str) -> object:
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        return getattr(real, attr)


def _defer_inspect() -> None:
    """Load ``inspect`` only when something uses it (design.md, "Start-up").

    ``dataclasses`` imports it (with ast, dis, tokenize: a third of a read-only command's
    import time) for a single call, ``inspect.signature``, made only for a dataclass
    without a docstring (pynet's records all have one).
    """
    if "inspect" not in sys.modules:
        sys.modules["inspect"] = _DeferredModule("inspect")


_defer_inspect()

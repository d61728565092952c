"""pynet: Docker's container networking (CNM) as a daemonless tool on real kernel objects."""

from pynet._deferred import defer

__version__ = "0.1.0"

defer("inspect")  # dataclasses: only for a dataclass without a docstring
defer("urllib.parse", "quote_from_bytes")  # pathlib: only for Path.as_uri
defer("re")  # pathlib, fnmatch: only for glob patterns
defer("contextlib")  # the store: only to lock or clean up (with collections, functools)

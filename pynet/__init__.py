"""pynet: Docker's container networking (CNM) as a daemonless tool on real kernel objects."""

from pynet._deferred import defer

__version__ = "0.1.0"


def _keep_dataclass_code(dataclasses: object) -> None:
    from pynet import _dccache

    _dccache.install(dataclasses)


def _dataclasses_regex() -> dict:
    from pynet import _dccache

    return {"re": _dccache.re_at_import()}


defer("inspect")  # dataclasses: only for a dataclass without a docstring
defer("copy")  # dataclasses: only for asdict and astuple (records.model.to_dict does without)
# dataclasses: its generated methods compiled once, its one regex without `re` (_dccache)
defer("dataclasses", then=_keep_dataclass_code, during=_dataclasses_regex)
defer("urllib.parse", "quote_from_bytes")  # pathlib: only for Path.as_uri
defer("re")  # pathlib, fnmatch: only for glob patterns
defer("contextlib")  # the store: only to lock or clean up (with collections, functools)

"""IDs as Docker makes them: 64 lowercase hex digits, shown as 12."""

from __future__ import annotations

import os

SHORT_LEN = 12
_HEX = frozenset("0123456789abcdef")


def new_id() -> str:
    """A fresh random 64-hex ID."""
    return os.urandom(32).hex()  # not `secrets`: it drags hmac/_hashlib into every command


def short(full_id: str) -> str:
    """The 12-character form Docker prints in tables."""
    return full_id[:SHORT_LEN]


def is_full_id(value: str) -> bool:
    """True for a complete 64-hex ID."""
    # str methods, not `re` (design.md, "Start-up"); a regex's `$` also took "...\\n"
    return len(value) == 64 and all(c in _HEX for c in value)

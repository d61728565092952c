"""Netlink attributes (TLVs), shared by the raw rtnetlink and nf_tables fast paths.

Private to ``pynet.kernel``: ``kernel/netlink/_rtnl.py`` and ``kernel/nft/_nfnetlink.py``
build and parse their messages' attributes with these few functions.
"""

from __future__ import annotations

import struct


def nla(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def nla_str(kind: int, value: str) -> bytes:
    """A NUL-terminated string attribute."""
    return nla(kind, value.encode() + b"\0")


def attrs(data: bytes, off: int = 0) -> dict[int, bytes]:
    """The attributes (type -> payload; flags such as NLA_F_NESTED masked) from ``off`` on."""
    out = {}
    while off + 4 <= len(data):
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        out[atype & 0x3FFF] = data[off + 4 : off + alen]
        off += (alen + 3) & ~3
    return out

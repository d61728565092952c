"""pynet's element lines <-> nf_tables netlink: the layout of set keys and values.

:func:`parse_script` recognises the few lines pynet's firewall writes for its hot paths
(``add/delete element FAMILY TABLE SET { ELEMENT }``, ``delete table``, ``delete rule ...
handle N``); :func:`batch_messages` lays them out as libnftables does, from the kernel's
own description of each set (:class:`pynet.kernel.nft._nfnetlink.SetInfo`: key and value
datatypes, lengths, interval flag), and :func:`parse_elements` reads dumped elements back
as nft's JSON spells them. Whatever does not fit is :class:`Unencodable`: never guessed at,
the caller hands the script to libnftables instead.
"""

from __future__ import annotations

import _socket
import struct

from pynet.kernel.nft._nfnetlink import (
    FAMILIES,
    NFT_MSG_DELSETELEM,
    NFT_MSG_NEWSETELEM,
    NFT_SET_ELEM_INTERVAL_END,
    NFTA_DATA_VALUE,
    NFTA_LIST_ELEM,
    NFTA_SET_ELEM_DATA,
    NFTA_SET_ELEM_FLAGS,
    NFTA_SET_ELEM_KEY,
    NFTA_SET_ELEM_KEY_END,
    NFTA_SET_ELEM_LIST_ELEMENTS,
    NFTA_SET_ELEM_LIST_SET,
    NFTA_SET_ELEM_LIST_TABLE,
    NLM_F_CREATE,
    Msg,
    SetInfo,
    attrs,
    be32,
    msg_del_rule,
    msg_del_table,
    nest,
    nfgenmsg,
    nla,
    nla_be32,
    nla_str,
    text,
)

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

# nft's datatype ids (nftables src/datatype.h) of the key/data fields pynet's sets use
TYPE_IPADDR, TYPE_IP6ADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, TYPE_IFNAME = 7, 8, 12, 13, 41
TYPE_BITS = 6  # a concatenation packs its field types 6 bits each
_FIELD_LEN = {TYPE_IPADDR: 4, TYPE_IP6ADDR: 16, TYPE_INET_PROTOCOL: 1, TYPE_INET_SERVICE: 2, TYPE_IFNAME: 16}
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
PROTOCOL_NAMES = {v: k for k, v in PROTOCOLS.items()}


def field_types(type_id: int) -> list[int]:
    """nft's concatenated datatype id split into its fields, first field first."""
    fields = []
    while type_id:
        fields.insert(0, type_id & ((1 << TYPE_BITS) - 1))
        type_id >>= TYPE_BITS
    return fields


class Unencodable(ValueError):
    """An element this module does not lay out (the caller falls back to libnftables)."""


def _pad(raw: bytes, concat: bool) -> bytes:
    return raw + b"\0" * (-len(raw) % 4) if concat else raw


def _field(ftype: int, token: str) -> tuple[bytes, bytes, bytes]:
    """(first, last, last + 1) bytes of one field; they differ only for a prefix."""
    if ftype == TYPE_IFNAME:
        if len(token) < 2 or token[0] != '"' or token[-1] != '"':
            raise Unencodable(token)
        name = token[1:-1].encode()
        if not 0 < len(name) < 16 or b"\0" in name or b'"' in name:
            raise Unencodable(token)
        raw = name.ljust(16, b"\0")
        return raw, raw, raw
    if ftype in (TYPE_IPADDR, TYPE_IP6ADDR):
        return _address(ftype, token)
    if ftype == TYPE_INET_PROTOCOL:
        number = PROTOCOLS.get(token, int(token) if token.isdigit() else -1)
        if not 0 <= number <= 255:
            raise Unencodable(token)
        return bytes([number]), bytes([number]), bytes([number])
    if ftype == TYPE_INET_SERVICE:
        if not token.isdigit() or int(token) > 65535:
            raise Unencodable(token)
        raw = struct.pack(">H", int(token))
        return raw, raw, raw
    raise Unencodable(f"datatype {ftype}")


def _address(ftype: int, token: str) -> tuple[bytes, bytes, bytes]:
    fam, size = (_socket.AF_INET, 4) if ftype == TYPE_IPADDR else (_socket.AF_INET6, 16)
    addr, _, plen_text = token.partition("/")
    try:
        raw = _socket.inet_pton(fam, addr)
    except OSError:
        raise Unencodable(token) from None
    bits = size * 8
    plen = int(plen_text) if plen_text.isdigit() else (bits if not plen_text else -1)
    if not 0 <= plen <= bits:
        raise Unencodable(token)
    value = int.from_bytes(raw, "big")
    host = (1 << (bits - plen)) - 1
    if value & host:
        raise Unencodable(token)  # nft refuses host bits in a prefix too
    last = value | host
    after = (last + 1).to_bytes(size, "big") if last + 1 < (1 << bits) else b""
    return raw, last.to_bytes(size, "big"), after


def _value(types: list[int], length: int, textual: str, what: str) -> tuple[bytes, bytes, bytes]:
    tokens = textual.split(" . ")
    if len(tokens) != len(types):
        raise Unencodable(f"{what}: {textual}")
    concat = len(types) > 1
    parts = [_field(t, tok.strip()) for t, tok in zip(types, tokens)]
    first = b"".join(_pad(p[0], concat) for p in parts)
    last = b"".join(_pad(p[1], concat) for p in parts)
    after = b"".join(_pad(p[2], concat) for p in parts) if all(p[2] for p in parts) else b""
    if len(first) != length:
        raise Unencodable(f"{what} length {len(first)} != {length}")
    return first, last, after


def element_attrs(info: SetInfo, body: str, with_data: bool) -> list[bytes]:
    """The NFTA_LIST_ELEM payloads of one element written as nft text (``key`` or ``key : value``)."""
    key_text, sep, data_text = body.partition(" : ")
    if info.is_map and with_data and not sep:
        raise Unencodable(f"map {info.name} needs a value")
    if sep and not info.is_map:
        raise Unencodable(f"set {info.name} has no values")
    types = field_types(info.key_type)
    first, last, after = _value(types, info.key_len, key_text, info.name)
    elem = [nest(NFTA_SET_ELEM_KEY, nla(NFTA_DATA_VALUE, first))]
    if with_data and sep:
        value = _value(field_types(info.data_type), info.data_len, data_text, info.name)[0]
        elem.append(nest(NFTA_SET_ELEM_DATA, nla(NFTA_DATA_VALUE, value)))
    if not info.interval:
        if first != last:
            raise Unencodable(f"a range in set {info.name} without flags interval")
        return [b"".join(elem)]
    if len(types) > 1:  # concatenated ranges (pipapo): the inclusive end
        elem.append(nest(NFTA_SET_ELEM_KEY_END, nla(NFTA_DATA_VALUE, last)))
        return [b"".join(elem)]
    # one field (rbtree): the start, then an "interval end" element one past the last address
    out = [b"".join(elem)]
    if after:
        out.append(
            nest(NFTA_SET_ELEM_KEY, nla(NFTA_DATA_VALUE, after))
            + nla_be32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END)
        )
    return out


# -- decoding dumped elements -----------------------------------------------------------
def _atom(ftype: int, raw: bytes) -> Any:
    if ftype == TYPE_IFNAME:
        return text(raw)
    if ftype == TYPE_IPADDR:
        return _socket.inet_ntop(_socket.AF_INET, raw[:4])
    if ftype == TYPE_IP6ADDR:
        return _socket.inet_ntop(_socket.AF_INET6, raw[:16])
    if ftype == TYPE_INET_PROTOCOL:
        return PROTOCOL_NAMES.get(raw[0], raw[0])
    if ftype == TYPE_INET_SERVICE:
        return struct.unpack(">H", raw[:2])[0]
    return raw.hex()


def atoms(type_id: int, raw: bytes) -> tuple[Any, ...]:
    """A key or value as nft's JSON spells its parts: ('tcp', 8080), ('br-a',), ..."""
    types = field_types(type_id)
    if len(types) == 1:
        return (_atom(types[0], raw),)
    out, off = [], 0
    for t in types:
        size = _FIELD_LEN.get(t, 4)
        out.append(_atom(t, raw[off : off + size]))
        off += size + (-size % 4)
    return tuple(out)


class Element:
    """One dumped element: its key (start of an interval), value, and whether it ends one."""

    __slots__ = ("key", "data", "interval_end")

    def __init__(self, key: tuple[Any, ...], data: tuple[Any, ...] | None = None, interval_end: bool = False) -> None:
        self.key, self.data, self.interval_end = key, data, interval_end

    def __repr__(self) -> str:
        return f"Element({self.key!r}, {self.data!r}{', end' if self.interval_end else ''})"


def parse_elements(info: SetInfo, payload: bytes, limit: int | None = None) -> list[Element]:
    """The elements of one dumped message (interval ends left out), at most ``limit``."""
    out: list[Element] = []
    data, off = attrs(payload, 4).get(NFTA_SET_ELEM_LIST_ELEMENTS, b""), 0
    while off + 4 <= len(data) and (limit is None or len(out) < limit):
        alen = struct.unpack_from("=H", data, off)[0]
        if alen < 4:
            break
        a = attrs(data[off + 4 : off + alen])
        off += (alen + 3) & ~3
        if be32(a.get(NFTA_SET_ELEM_FLAGS)) & NFT_SET_ELEM_INTERVAL_END:
            continue
        key = attrs(a.get(NFTA_SET_ELEM_KEY, b"")).get(NFTA_DATA_VALUE, b"")
        value = attrs(a[NFTA_SET_ELEM_DATA]).get(NFTA_DATA_VALUE) if NFTA_SET_ELEM_DATA in a else None
        out.append(
            Element(
                atoms(info.key_type, key),
                atoms(info.data_type, value) if value is not None and info.data_type else None,
            )
        )
    return out


# -- pynet's element scripts -> one batch -------------------------------------------------
Line = tuple[str, str, str, str, str]  # (op, family, table, set or chain or "", element body or handle)


def _name(word: str) -> bool:
    """A table, set or chain name as pynet writes them (letters, digits, ``_ . -``)."""
    return bool(word) and word.replace("_", "a").replace("-", "a").replace(".", "a").isalnum()


def parse_line(line: str) -> Line | None:
    """One of pynet's element lines, or None:

    ``add|delete element FAMILY TABLE SET { ELEMENT }`` (one element, no ``,``),
    ``delete table FAMILY TABLE``, ``delete rule FAMILY TABLE CHAIN handle N``.
    """
    words = line.split(" ", 5)
    if len(words) < 4 or words[2] not in FAMILIES or not _name(words[3]):
        return None
    if words[1] == "element" and words[0] in ("add", "delete") and len(words) == 6 and _name(words[4]):
        body = words[5]
        inner = body[2:-2].strip() if len(body) > 4 and body[:2] == "{ " and body[-2:] == " }" else ""
        if inner and not any(c in inner for c in "{},\n"):
            return words[0], words[2], words[3], words[4], inner
        return None
    if words[:2] == ["delete", "table"] and len(words) == 4:
        return "delete table", words[2], words[3], "", ""
    if words[:2] == ["delete", "rule"] and len(words) == 6 and _name(words[4]):
        handle = words[5].split(" ")
        if len(handle) == 2 and handle[0] == "handle" and handle[1].isdigit():
            return "delete rule", words[2], words[3], words[4], handle[1]
    return None


def parse_script(script: str) -> list[Line] | None:
    """pynet's element lines, or None when the script holds anything else."""
    out: list[Line] = []
    for raw_line in script.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        parsed = parse_line(line)
        if parsed is None:
            return None
        out.append(parsed)
    return out


def batch_messages(lines: list[Line], sets: dict[tuple[str, str, str], SetInfo]) -> list[Msg]:
    """One message per run of lines with the same operation and set (order kept)."""
    msgs: list[Msg] = []
    run_key: tuple[str, str, str, str] | None = None
    elems: list[bytes] = []

    def flush() -> None:
        if run_key and elems:
            op, family, table, name = run_key
            body = (
                nfgenmsg(FAMILIES[family])
                + nla_str(NFTA_SET_ELEM_LIST_TABLE, table)
                + nla_str(NFTA_SET_ELEM_LIST_SET, name)
                + nest(NFTA_SET_ELEM_LIST_ELEMENTS, *(nest(NFTA_LIST_ELEM, e) for e in elems))
            )
            msgs.append((NFT_MSG_NEWSETELEM, NLM_F_CREATE, body) if op == "add" else (NFT_MSG_DELSETELEM, 0, body))
        elems.clear()

    for op, family, table, name, body in lines:
        if op in ("delete table", "delete rule"):
            flush()
            run_key = None
            msgs.append(
                msg_del_table(family, table) if op == "delete table" else msg_del_rule(family, table, name, int(body))
            )
            continue
        info = sets.get((family, table, name))
        if info is None:
            raise Unencodable(f"set {family} {table} {name} is not known")
        if (op, family, table, name) != run_key:
            flush()
            run_key = (op, family, table, name)
        elems.extend(element_attrs(info, body, with_data=op == "add"))
    flush()
    return msgs

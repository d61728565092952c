"""The raw side of pynet.kernel.nft: one NETLINK_NETFILTER socket, no libnftables.

:class:`Raw` applies pynet's element scripts as one batch and answers the firewall's small
questions at a cost that does not grow with pynet's networks; whatever it cannot encode
or the kernel refuses goes back to libnftables. It skips the skeleton when the kernel's
chains and rules match, byte for byte, a fingerprint, and makes it from a recorded replay
when its tables are gone: firewall.md, "The raw path".
"""

from __future__ import annotations

import os
import struct

from pynet.kernel.nft import _elements as ne
from pynet.kernel._nla import nla_str
from pynet.kernel.nft import _nfnetlink as nf

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

#: the lines of an idempotent, declarative prefix: re-applying it changes nothing when in effect
_DECLARATIVE = ("add table ", "add set ", "add map ", "add chain ", "add rule ", "flush chain ")
_CACHE_ENTRIES = 8  # (a fingerprint and a replay per prefix)
_REPLAY = b"\0replay\0"  # the cache key of a prefix's replay: this + the prefix

#: the attributes that define an object, kept in its replay (nf_tables.h's NFTA_TABLE_*,
#: NFTA_SET_*, NFTA_SET_ELEM_LIST_*, NFTA_CHAIN_*, NFTA_RULE_*); the rest of a dump belongs to
#: the instance (handles, use counts, counters, element counts) and is refused as input
_DEFINING_ATTRS = {
    nf.NFT_MSG_NEWTABLE: frozenset({1, 2, 6}),  # NAME, FLAGS, USERDATA
    # TABLE, NAME, FLAGS, KEY_TYPE, KEY_LEN, DATA_TYPE, DATA_LEN, POLICY, DESC, TIMEOUT,
    # GC_INTERVAL, USERDATA, OBJ_TYPE, EXPR, EXPRESSIONS
    nf.NFT_MSG_NEWSET: frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 17, 18}),
    nf.NFT_MSG_NEWSETELEM: frozenset({1, 2, 3}),  # TABLE, SET, ELEMENTS
    nf.NFT_MSG_NEWCHAIN: frozenset({1, 3, 4, 5, 7, 10, 12}),  # TABLE, NAME, HOOK, POLICY, TYPE, FLAGS, USERDATA
    nf.NFT_MSG_NEWRULE: frozenset({1, 2, 4, 5, 7}),  # TABLE, CHAIN, EXPRESSIONS, COMPAT, USERDATA
}
_NFT_SET_ANONYMOUS = 0x2
_NFTA_SET_ID = 10
_NLM_F_APPEND = 0x800


def split_prefix(script: str) -> tuple[str, str]:
    """(leading declarative lines, the rest) of ``script``."""
    lines = script.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith(_DECLARATIVE)):
        i += 1
    return "".join(lines[:i]), "".join(lines[i:])


def declared_chains(prefix: str) -> list[tuple[str, str, str]]:
    """(family, table, chain) of every ``add chain`` in ``prefix``, in order."""
    out = []
    for line in prefix.splitlines():
        words = line.split(" ", 5)
        if words[:2] == ["add", "chain"] and len(words) >= 5:
            out.append((words[2], words[3], words[4]))
    return out


def declared(prefix: str, kinds: tuple[str, ...]) -> list[tuple[str, ...]]:
    """(family, table[, name]) of every ``add <kind>`` line of ``prefix`` (kinds: table, set...)."""
    out = []
    for line in prefix.splitlines():
        words = line.split(" ", 5)
        if words[0] == "add" and len(words) >= 4 and words[1] in kinds:
            out.append(tuple(words[2:4]) if words[1] == "table" else tuple(words[2:5]))
    return out


def _definition(mtype: int, payload: bytes) -> bytes:
    """A dumped object's payload as the body that makes it again (its defining attributes)."""
    keep, out, off = _DEFINING_ATTRS[mtype], [nf.nfgenmsg(payload[0])], 4
    while off + 4 <= len(payload):
        alen, atype = struct.unpack_from("=HH", payload, off)
        if alen < 4:
            break
        end = off + ((alen + 3) & ~3)
        if atype & 0x3FFF in keep:
            out.append(payload[off:end])
        off = end
    return b"".join(out)


def _pack(msgs: list[nf.Msg]) -> bytes:
    return _blob(*(struct.pack(">HH", mtype, flags) + body for mtype, flags, body in msgs))


def _unpack(data: bytes) -> list[nf.Msg]:
    return [(*struct.unpack_from(">HH", part), part[4:]) for part in _unblob(data)]  # type: ignore[misc]


def _blob(*parts: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def _unblob(data: bytes) -> list[bytes]:
    out, off = [], 0
    while off + 4 <= len(data):
        (n,) = struct.unpack_from(">I", data, off)
        out.append(data[off + 4 : off + 4 + n])
        off += 4 + n
    return out


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class Raw:
    """A raw nf_tables session of one process in one network namespace.

    ``opener`` makes a NETLINK_NETFILTER socket in that namespace: one for the session,
    and a throwaway one per bounded read (a dump abandoned half way must not stay on the
    session's socket, and a fresh socket's first dump message is small: ~4 KiB).
    """

    def __init__(self, opener: Callable[[], Any], cache: str | Path | None = None, sock: Any = None) -> None:
        self.opener = opener
        self.nl = nf.Nfnl(sock if sock is not None else opener())
        self.cache = os.fspath(cache) if cache is not None else None
        self.sets: dict[tuple[str, str, str], nf.SetInfo] = {}

    def close(self) -> None:
        self.nl.close()

    def forget(self) -> None:
        """Set descriptions may have changed (libnftables ran a script)."""
        self.sets.clear()

    # -- writes ----------------------------------------------------------------------------
    def run(self, script: str) -> bool:
        """Apply ``script`` as one transaction if it can go raw; False: use libnftables."""
        prefix, rest = split_prefix(script)
        lines = ne.parse_script(rest)
        if lines is None or (prefix and not (self.in_effect(prefix) or self.replay(prefix))):
            return False
        try:
            self.nl.batch(self._messages(lines))
        except (ne.Unencodable, nf.NfnlError):
            self.forget()
            return False
        return True

    def _messages(self, lines: list[ne.Line]) -> list[nf.Msg]:
        self._learn({(f, t, s) for op, f, t, s, _body in lines if op in ("add", "delete")})
        return ne.batch_messages(lines, self.sets)

    def _learn(self, keys: set[tuple[str, str, str]]) -> None:
        """Fetch the kernel's description of the sets in ``keys`` not known yet (one round trip)."""
        wanted = sorted(k for k in keys if k not in self.sets)
        if not wanted:
            return
        for key, answer in zip(wanted, self.nl.request([nf.msg_get_set(*k) for k in wanted])):
            if not isinstance(answer, nf.NfnlError) and answer:
                self.sets[key] = nf.parse_set(answer[0])

    # -- the skeleton ------------------------------------------------------------------------
    def fingerprint(self, prefix: str) -> bytes | None:
        """The kernel's view of the chains (and their rules) ``prefix`` declares; None if one is missing."""
        chains = declared_chains(prefix)
        if not chains:
            return None
        parts = []
        for answer in self.nl.request([nf.msg_get_chain(*c) for c in chains]):
            if isinstance(answer, nf.NfnlError) or not answer:
                return None
            a = nf.attrs(answer[0], 4)
            parts.append(
                _blob(
                    *(
                        a.get(k, b"")
                        for k in (nf.NFTA_CHAIN_NAME, nf.NFTA_CHAIN_TYPE, nf.NFTA_CHAIN_HOOK, nf.NFTA_CHAIN_POLICY)
                    )
                )
            )
        wanted = {(f, t, c.encode() + b"\0") for f, t, c in chains}
        for family, table in dict.fromkeys((f, t) for f, t, _c in chains):
            for payload in self._dump(nf.NFT_MSG_GETRULE, nf.rules_body(family, table)):
                a = nf.attrs(payload, 4)
                if (family, table, a.get(nf.NFTA_RULE_CHAIN, b"")) in wanted:
                    parts.append(
                        _blob(
                            a.get(nf.NFTA_RULE_CHAIN, b""),
                            a.get(nf.NFTA_RULE_EXPRESSIONS, b""),
                            a.get(nf.NFTA_RULE_USERDATA, b""),
                        )
                    )
        return b"".join(parts)

    def in_effect(self, prefix: str) -> bool:
        """Is the kernel exactly as right after libnftables last applied ``prefix``?"""
        recorded = self._recorded().get(prefix.encode())
        return recorded is not None and recorded == self.fingerprint(prefix)

    def replay(self, prefix: str) -> bool:
        """Make the tables ``prefix`` declares from the replay recorded with its fingerprint,
        when none of them exists (a namespace's first network, also after its last was
        removed); True when the kernel's description of what it made equals the recording.

        False (libnftables then applies ``prefix``): nothing recorded, a table exists, the
        kernel refused the batch (nothing changed), or it made something else.
        """
        replay = self._recorded().get(_REPLAY + prefix.encode())
        if replay is None or any(self.table_exists(f, t) for f, t in declared(prefix, ("table",))):
            return False
        try:
            self.nl.batch(_unpack(replay))
        except nf.NfnlError:
            return False
        made = self.recording(prefix)
        return made is not None and _pack(made) == replay

    def recording(self, prefix: str) -> list[nf.Msg] | None:
        """The messages that make the tables ``prefix`` declares as the kernel has them now:
        tables, sets (without the named ones' elements), anonymous sets' elements, chains,
        rules. None when a table holds a chain or named set ``prefix`` does not declare."""
        sets, chains = set(declared(prefix, ("set", "map"))), set(declared(prefix, ("chain",)))
        msgs: list[nf.Msg] = []
        for family, table in declared(prefix, ("table",)):
            (answer,) = self.nl.request([nf.msg_get_table(family, table)])
            if isinstance(answer, nf.NfnlError) or not answer:
                return None
            msgs.append((nf.NFT_MSG_NEWTABLE, nf.NLM_F_CREATE, _definition(nf.NFT_MSG_NEWTABLE, answer[0])))
            body = nf.nfgenmsg(nf.FAMILIES[family]) + nla_str(nf.NFTA_SET_TABLE, table)
            elements = []
            for payload in self._dump(nf.NFT_MSG_GETSET, body):
                if nf.text(nf.attrs(payload, 4).get(nf.NFTA_SET_TABLE)) != table:
                    continue  # (the kernel filters by table too)
                info = nf.parse_set(payload)
                if not info.flags & _NFT_SET_ANONYMOUS and (family, table, info.name) not in sets:
                    return None
                # NFTA_SET_ID: required of a new set (a transaction's own name for it)
                made = _definition(nf.NFT_MSG_NEWSET, payload) + nf.nla_be32(_NFTA_SET_ID, len(msgs))
                msgs.append((nf.NFT_MSG_NEWSET, nf.NLM_F_CREATE, made))
                if info.flags & _NFT_SET_ANONYMOUS:
                    elements += self._dump(nf.NFT_MSG_GETSETELEM, nf.elements_body(family, table, info.name))
            msgs += [(nf.NFT_MSG_NEWSETELEM, nf.NLM_F_CREATE, _definition(nf.NFT_MSG_NEWSETELEM, e)) for e in elements]
            body = nf.nfgenmsg(nf.FAMILIES[family]) + nla_str(nf.NFTA_CHAIN_TABLE, table)
            for payload in self._dump(nf.NFT_MSG_GETCHAIN, body):
                a = nf.attrs(payload, 4)
                if nf.text(a.get(nf.NFTA_CHAIN_TABLE)) != table:
                    continue
                if (family, table, nf.text(a.get(nf.NFTA_CHAIN_NAME))) not in chains:
                    return None
                msgs.append((nf.NFT_MSG_NEWCHAIN, nf.NLM_F_CREATE, _definition(nf.NFT_MSG_NEWCHAIN, payload)))
            msgs += [
                (nf.NFT_MSG_NEWRULE, nf.NLM_F_CREATE | _NLM_F_APPEND, _definition(nf.NFT_MSG_NEWRULE, payload))
                for payload in self._dump(nf.NFT_MSG_GETRULE, nf.rules_body(family, table))
            ]
        return msgs

    def remember(self, script: str) -> None:
        """After libnftables applied ``script``: record what its declarative prefix produced."""
        prefix = split_prefix(script)[0]
        if not prefix or self.cache is None:
            return
        fp = self.fingerprint(prefix)
        if fp is None:
            return
        entries = self._recorded()
        entries.pop(prefix.encode(), None)
        entries.pop(_REPLAY + prefix.encode(), None)
        entries[prefix.encode()] = fp
        replay = self.recording(prefix)
        if replay is not None:
            entries[_REPLAY + prefix.encode()] = _pack(replay)
        kept = list(entries.items())[-_CACHE_ENTRIES:]
        directory, name = os.path.split(self.cache)
        tmp = os.path.join(directory, f".{name}.{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                f.write(b"".join(_blob(k, v) for k, v in kept))
            os.replace(tmp, self.cache)
        except OSError:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass  # no runtime dir (yet): the next create heals again

    def _recorded(self) -> dict[bytes, bytes]:
        try:
            data = _unblob(_read_bytes(self.cache)) if self.cache else []
        except OSError:
            return {}
        return dict(zip(data[0::2], data[1::2]))

    # -- questions ---------------------------------------------------------------------------
    def _dump(self, mtype: int, body: bytes) -> list[bytes]:
        return self.nl.dump(mtype, body)[0]

    def _bounded_dump(self, mtype: int, body: bytes, enough: Callable[[bytes], bool]) -> None:
        nl = nf.Nfnl.bounded(self.opener())
        try:
            nl.dump(mtype, body, enough)
        finally:
            nl.close()

    def table_exists(self, family: str, name: str) -> bool:
        (answer,) = self.nl.request([nf.msg_get_table(family, name)])
        if isinstance(answer, nf.NfnlError):
            if answer.errno == 2:
                return False
            raise answer
        return True

    def chains(self) -> list[dict[str, Any]]:
        """Every chain of every table, as nft's JSON spells it."""
        return [nf.parse_chain(p) for p in self._dump(nf.NFT_MSG_GETCHAIN, nf.nfgenmsg(0))]

    def chain_rules(self, family: str, table: str, chain: str) -> list[dict[str, Any]] | None:
        """Handle and comment of each rule of one chain; None when the chain does not exist."""
        (answer,) = self.nl.request([nf.msg_get_chain(family, table, chain)])
        if isinstance(answer, nf.NfnlError):
            if answer.errno == 2:
                return None
            raise answer
        return [nf.parse_rule(p) for p in self._dump(nf.NFT_MSG_GETRULE, nf.rules_body(family, table, chain))]

    def elements(self, family: str, table: str, name: str, limit: int | None = None) -> list[ne.Element] | None:
        """Elements of a set or map (interval ends left out); None when it does not exist.

        With ``limit``, reading stops once that many elements are in: the kernel then
        walks the set no further than one small netlink message, whatever its size.
        """
        key = (family, table, name)
        self._learn({key})
        info = self.sets.get(key)
        if info is None:
            return None
        found: list[ne.Element] = []

        def enough(payload: bytes) -> bool:
            found.extend(ne.parse_elements(info, payload, None if limit is None else limit - len(found)))
            return limit is not None and len(found) >= limit

        body = nf.elements_body(family, table, name)
        if limit is None:
            for payload in self._dump(nf.NFT_MSG_GETSETELEM, body):
                enough(payload)
        else:
            self._bounded_dump(nf.NFT_MSG_GETSETELEM, body, enough)
        return found

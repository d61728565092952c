"""Raw nf_tables netlink (NETLINK_NETFILTER), standard library only: the firewall's fast path.

libnftables costs about 1.5 ms per process before its first command (dlopen, context) and,
on every command, fetches a cache of the ruleset: among it the elements of every interval
set a command touches, i.e. O(networks) for pynet's ``subnets``/``masq`` sets. The hot
paths of ``network create/rm`` and ``run -p`` only add and delete set elements, drop a
table and ask a few small questions. This module is the protocol for that:

* :class:`Nfnl`, a socket that sends a batch (one transaction: all or nothing) and answers
  GET requests and dumps (tables, chains, sets, set elements, rules), reading a dump only
  as far as its caller asks;
* the messages those need, and the decoding of sets, chains and rules as nft names them.

How pynet's element lines map onto set keys and values is :mod:`pynet.kernel.nft._elements`;
the session that ties both to the current namespace is :mod:`pynet.kernel.nft._session`.
"""

from __future__ import annotations

import os
import _socket
import struct

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

from pynet.kernel._nla import attrs, nla, nla_str

# -- constants (linux/netlink.h, linux/netfilter/nfnetlink.h, nf_tables.h) ---------------
NETLINK_NETFILTER = 12
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP, NLM_F_CREATE = 0x1, 0x2, 0x4, 0x300, 0x400
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NLA_F_NESTED = 0x8000
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11

(
    NFT_MSG_NEWTABLE,
    NFT_MSG_GETTABLE,
    NFT_MSG_DELTABLE,
    NFT_MSG_NEWCHAIN,
    NFT_MSG_GETCHAIN,
    NFT_MSG_DELCHAIN,
    NFT_MSG_NEWRULE,
    NFT_MSG_GETRULE,
    NFT_MSG_DELRULE,
    NFT_MSG_NEWSET,
    NFT_MSG_GETSET,
    NFT_MSG_DELSET,
    NFT_MSG_NEWSETELEM,
    NFT_MSG_GETSETELEM,
    NFT_MSG_DELSETELEM,
) = range(15)

NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_HOOK, NFTA_CHAIN_POLICY, NFTA_CHAIN_TYPE = 1, 3, 4, 5, 7
NFTA_HOOK_HOOKNUM, NFTA_HOOK_PRIORITY = 1, 2
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_EXPRESSIONS, NFTA_RULE_USERDATA = 1, 2, 3, 4, 7
NFTA_SET_TABLE, NFTA_SET_NAME, NFTA_SET_FLAGS, NFTA_SET_KEY_TYPE, NFTA_SET_KEY_LEN = 1, 2, 3, 4, 5
NFTA_SET_DATA_TYPE, NFTA_SET_DATA_LEN = 6, 7
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_DATA, NFTA_SET_ELEM_FLAGS, NFTA_SET_ELEM_KEY_END = 1, 2, 3, 10
NFTA_LIST_ELEM, NFTA_DATA_VALUE = 1, 1
NFT_SET_INTERVAL, NFT_SET_MAP = 0x4, 0x8
NFT_SET_ELEM_INTERVAL_END = 0x1
NFTNL_UDATA_RULE_COMMENT = 0

FAMILIES = {"ip": 2, "ip6": 10, "inet": 1, "arp": 3, "bridge": 7, "netdev": 5}
FAMILY_NAMES = {v: k for k, v in FAMILIES.items()}
#: hook numbers as nft names them, per family (netfilter_{ipv4,bridge}.h; netdev: ingress/egress)
HOOKS = {0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting", 5: "ingress"}
POLICIES = {0: "drop", 1: "accept"}

#: a dump's messages are at most 32 KiB (the kernel caps its dump skbs there): never truncated
RECV_SIZE = 65536
TIMEOUT = 30.0  # seconds; the kernel answers in microseconds when healthy


class NfnlError(OSError):
    """The kernel refused a request or a batch (``errno``; ``detail``: its extended ack)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, os.strerror(code) + (f" ({detail})" if detail else ""))
        self.detail = detail


# -- attributes --------------------------------------------------------------------------
def nest(kind: int, *payload: bytes) -> bytes:
    return nla(kind | NLA_F_NESTED, b"".join(payload))


def nla_be32(kind: int, value: int) -> bytes:
    return nla(kind, struct.pack(">I", value))


def attr_list(data: bytes) -> list[bytes]:
    """Payloads of a nested list (NFTA_LIST_ELEM...), in order."""
    out, off = [], 0
    while off + 4 <= len(data):
        alen, _atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        out.append(data[off + 4 : off + alen])
        off += (alen + 3) & ~3
    return out


def text(value: bytes | None) -> str:
    return (value or b"").split(b"\0", 1)[0].decode(errors="replace")


def be32(value: bytes | None, default: int = 0) -> int:
    return struct.unpack(">I", value[:4])[0] if value and len(value) >= 4 else default


def nfgenmsg(family: int, res_id: int = 0) -> bytes:
    return struct.pack("=BBH", family, 0, _socket.htons(res_id))


# -- sets: the kernel's description --------------------------------------------------------
class SetInfo:
    """What the kernel says about a set: enough to lay out its keys and values."""

    __slots__ = ("name", "flags", "key_type", "key_len", "data_type", "data_len")

    def __init__(
        self, name: str, flags: int, key_type: int, key_len: int, data_type: int = 0, data_len: int = 0
    ) -> None:
        self.name, self.flags, self.key_type, self.key_len = name, flags, key_type, key_len
        self.data_type, self.data_len = data_type, data_len

    def __repr__(self) -> str:
        return (
            f"SetInfo({self.name!r}, flags={self.flags:#x}, key={self.key_type}/{self.key_len}, "
            f"data={self.data_type}/{self.data_len})"
        )

    @property
    def interval(self) -> bool:
        return bool(self.flags & NFT_SET_INTERVAL)

    @property
    def is_map(self) -> bool:
        return bool(self.flags & NFT_SET_MAP)


def parse_set(payload: bytes) -> SetInfo:
    a = attrs(payload, 4)
    return SetInfo(
        text(a.get(NFTA_SET_NAME)),
        be32(a.get(NFTA_SET_FLAGS)),
        be32(a.get(NFTA_SET_KEY_TYPE)),
        be32(a.get(NFTA_SET_KEY_LEN)),
        be32(a.get(NFTA_SET_DATA_TYPE)),
        be32(a.get(NFTA_SET_DATA_LEN)),
    )


Msg = tuple[int, int, bytes]  # (NFT_MSG_*, extra nlmsg flags, body after the nlmsghdr)


# -- the socket --------------------------------------------------------------------------
def _msg_type(nft_msg: int) -> int:
    return (NFNL_SUBSYS_NFTABLES << 8) | nft_msg


def _header(length: int, mtype: int, flags: int, seq: int) -> bytes:
    return struct.pack("=IHHII", 16 + length, mtype, flags, seq, 0)


def _error(payload: bytes, flags: int) -> tuple[int, str]:
    code = -struct.unpack_from("=i", payload)[0]
    detail = ""
    if flags & NLM_F_ACK_TLVS:
        detail = text(attrs(payload, 4 + 16).get(NLMSGERR_ATTR_MSG))
    return code, detail


def _messages(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    off = 0
    while off + 16 <= len(data):
        length, mtype, flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            return
        yield mtype, flags, seq, data[off + 16 : off + length]
        off += (length + 3) & ~3


class Nfnl:
    """A NETLINK_NETFILTER socket bound in the namespace that was current when it was made."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.seq = int.from_bytes(os.urandom(3), "big")
        sock.settimeout(TIMEOUT)
        sock.bind((0, 0))
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            try:
                sock.setsockopt(SOL_NETLINK, opt, 1)
            except OSError:
                pass  # older kernel: plain acks

    def close(self) -> None:
        self.sock.close()

    def _next(self) -> int:
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return self.seq

    # transactions ------------------------------------------------------------------------
    def batch(self, msgs: list[Msg]) -> None:
        """Send ``msgs`` as ONE transaction; raise :class:`NfnlError` (nothing changed) on refusal."""
        if not msgs:
            return
        begin = self._next()
        out = [_header(4, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin) + nfgenmsg(0, NFNL_SUBSYS_NFTABLES)]
        pending = set()
        for mtype, flags, body in msgs:
            seq = self._next()
            pending.add(seq)
            out.append(_header(len(body), _msg_type(mtype), NLM_F_REQUEST | NLM_F_ACK | flags, seq) + body)
        out.append(_header(4, NFNL_MSG_BATCH_END, NLM_F_REQUEST, self._next()) + nfgenmsg(0, NFNL_SUBSYS_NFTABLES))
        self.sock.sendall(b"".join(out))
        failure: tuple[int, str] | None = None
        while pending:
            for mtype, flags, seq, payload in _messages(self.sock.recv(RECV_SIZE)):
                if mtype != NLMSG_ERROR or not (seq in pending or seq == begin):
                    continue
                pending.discard(seq)
                code, detail = _error(payload, flags)
                if code and failure is None:
                    failure = (code, detail)
                if seq == begin and code:
                    pending.clear()  # the batch itself was refused (e.g. EPERM)
        if failure:
            raise NfnlError(*failure)

    # questions ---------------------------------------------------------------------------
    def request(self, msgs: list[Msg]) -> list[list[bytes] | NfnlError]:
        """Several GET requests in one send: per request, its replies or its error."""
        seqs = []
        out = []
        for mtype, flags, body in msgs:
            seq = self._next()
            seqs.append(seq)
            out.append(_header(len(body), _msg_type(mtype), NLM_F_REQUEST | NLM_F_ACK | flags, seq) + body)
        self.sock.sendall(b"".join(out))
        answers: dict[int, list[bytes] | NfnlError] = {}
        replies: dict[int, list[bytes]] = {s: [] for s in seqs}
        while len(answers) < len(seqs):
            for mtype, flags, seq, payload in _messages(self.sock.recv(RECV_SIZE)):
                if seq not in replies or seq in answers:
                    continue
                if mtype == NLMSG_ERROR:
                    code, detail = _error(payload, flags)
                    answers[seq] = NfnlError(code, detail) if code else replies[seq]
                else:
                    replies[seq].append(payload)
        return [answers[s] for s in seqs]

    def dump(self, mtype: int, body: bytes, enough: Callable[[bytes], bool] | None = None) -> tuple[list[bytes], bool]:
        """(payloads, complete) of a dump request.

        ``enough(payload)`` sees each message as it arrives; once it says True, reading
        stops. The first datagram is only peeked at: taking it off the queue would make
        the kernel walk the set for the next one inside that very recv. An incomplete
        dump leaves the socket mid-dump: its owner must close it (see :meth:`bounded`).
        """
        seq = self._next()
        self.sock.sendall(_header(len(body), _msg_type(mtype), NLM_F_REQUEST | NLM_F_DUMP, seq) + body)
        out: list[bytes] = []
        peek = enough is not None
        while True:
            data = self.sock.recv(RECV_SIZE, _socket.MSG_PEEK if peek else 0)
            stop = False
            for t, flags, mseq, payload in _messages(data):
                if mseq != seq:
                    continue
                if t == NLMSG_DONE:
                    return out, True
                if t == NLMSG_ERROR:
                    code, detail = _error(payload, flags)
                    if code:
                        raise NfnlError(code, detail)
                    return out, True
                out.append(payload)
                stop = stop or bool(enough and enough(payload))
            if stop:
                return out, False
            if peek:  # not enough yet: take it off the queue, read on
                self.sock.recv(RECV_SIZE)
                peek = False

    @classmethod
    def bounded(cls, sock: _socket.socket) -> Nfnl:
        """A throwaway socket for one dump that may stop early.

        Its receive buffer is the smallest the kernel allows, so a peeked first message
        keeps the kernel from preparing the next one; a fresh socket's first dump message
        is small (~4 KiB) too. Together the kernel walks one small message of the set.
        """
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 0)
        return cls(sock)


def open_socket() -> _socket.socket:
    """A NETLINK_NETFILTER socket in the current namespace (OSError when the kernel refuses)."""
    return _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_NETFILTER)


# -- message builders --------------------------------------------------------------------
def msg_get_set(family: str, table: str, name: str) -> Msg:
    return NFT_MSG_GETSET, 0, nfgenmsg(FAMILIES[family]) + nla_str(NFTA_SET_TABLE, table) + nla_str(NFTA_SET_NAME, name)


def msg_get_table(family: str, table: str) -> Msg:
    return NFT_MSG_GETTABLE, 0, nfgenmsg(FAMILIES[family]) + nla_str(NFTA_TABLE_NAME, table)


def msg_get_chain(family: str, table: str, chain: str) -> Msg:
    return (
        NFT_MSG_GETCHAIN,
        0,
        (nfgenmsg(FAMILIES[family]) + nla_str(NFTA_CHAIN_TABLE, table) + nla_str(NFTA_CHAIN_NAME, chain)),
    )


def elements_body(family: str, table: str, name: str) -> bytes:
    return nfgenmsg(FAMILIES[family]) + nla_str(NFTA_SET_ELEM_LIST_TABLE, table) + nla_str(NFTA_SET_ELEM_LIST_SET, name)


def rules_body(family: str, table: str, chain: str = "") -> bytes:
    """A rule dump of one table (and one chain of it): the kernel filters, and walks no other."""
    body = nfgenmsg(FAMILIES[family]) + nla_str(NFTA_RULE_TABLE, table)
    return body + nla_str(NFTA_RULE_CHAIN, chain) if chain else body


def msg_del_table(family: str, table: str) -> Msg:
    return NFT_MSG_DELTABLE, 0, nfgenmsg(FAMILIES[family]) + nla_str(NFTA_TABLE_NAME, table)


def msg_del_rule(family: str, table: str, chain: str, handle: int) -> Msg:
    return (
        NFT_MSG_DELRULE,
        0,
        (
            nfgenmsg(FAMILIES[family])
            + nla_str(NFTA_RULE_TABLE, table)
            + nla_str(NFTA_RULE_CHAIN, chain)
            + nla(NFTA_RULE_HANDLE, struct.pack(">Q", handle))
        ),
    )


def parse_chain(payload: bytes) -> dict[str, Any]:
    """A dumped chain as nft's JSON spells it (family, table, name; type/hook/prio/policy)."""
    family = payload[0]
    a = attrs(payload, 4)
    chain: dict[str, Any] = {
        "family": FAMILY_NAMES.get(family, str(family)),
        "table": text(a.get(NFTA_CHAIN_TABLE)),
        "name": text(a.get(NFTA_CHAIN_NAME)),
    }
    if NFTA_CHAIN_HOOK in a:
        hook = attrs(a[NFTA_CHAIN_HOOK])
        num = be32(hook.get(NFTA_HOOK_HOOKNUM), -1)
        chain["type"] = text(a.get(NFTA_CHAIN_TYPE))
        names = {"netdev": ("ingress", "egress"), "arp": ("input", "output", "forward")}.get(chain["family"])
        chain["hook"] = names[num] if names and 0 <= num < len(names) else HOOKS.get(num, str(num))
        chain["prio"] = struct.unpack(">i", hook.get(NFTA_HOOK_PRIORITY, b"\0\0\0\0")[:4])[0]
        chain["policy"] = POLICIES.get(be32(a.get(NFTA_CHAIN_POLICY), 1), "accept")
    return chain


def parse_rule(payload: bytes) -> dict[str, Any]:
    """A dumped rule: its handle and comment (nft keeps a comment in the rule's userdata)."""
    a = attrs(payload, 4)
    rule: dict[str, Any] = {"handle": struct.unpack(">Q", a[NFTA_RULE_HANDLE][:8])[0] if NFTA_RULE_HANDLE in a else 0}
    udata, off = a.get(NFTA_RULE_USERDATA, b""), 0
    while off + 2 <= len(udata):  # nftnl udata: u8 type, u8 len, value
        utype, ulen = udata[off], udata[off + 1]
        if utype == NFTNL_UDATA_RULE_COMMENT:
            rule["comment"] = text(udata[off + 2 : off + 2 + ulen])
        off += 2 + ulen
    return rule

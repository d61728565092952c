"""The raw nf_tables path: element encoding, script parsing, the skeleton check, the gate.

No socket is opened here: the encoder is checked against the bytes libnftables itself
sends (``nft --debug=netlink``, nft 1.0.6), the session runs against a fake of the
netlink conversation. What the kernel makes of the batches is proved in
tests/integration/test_firewall_cost.py (raw and libnftables give the same ruleset).
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from pynet.firewall import policy as fw
from pynet.kernel import nft
from pynet.kernel.nft import _elements as ne
from pynet.kernel.nft import _nfnetlink as nf
from pynet.kernel.nft import _session as nftraw

pytestmark = pytest.mark.unit

# what the kernel says about pynet's sets (NFT_MSG_GETSET on this machine)
SETS = {
    "bridges": nf.SetInfo("bridges", 0, 41, 16),
    "same": nf.SetInfo("same", 0, 2665, 32),
    "subnets4": nf.SetInfo("subnets4", 0x84, 489, 20),
    "subnets6": nf.SetInfo("subnets6", 0x84, 553, 32),
    "masq4": nf.SetInfo("masq4", 0x4, 7, 4),
    "masq6": nf.SetInfo("masq6", 0x4, 8, 16),
    "lo_pub4": nf.SetInfo("lo_pub4", 0, 29453, 12),
    "pub4_any": nf.SetInfo("pub4_any", 0x8, 781, 8, 461, 8),
    "pub4_ip": nf.SetInfo("pub4_ip", 0x8, 29453, 12, 461, 8),
    "pub6_any": nf.SetInfo("pub6_any", 0x8, 781, 8, 525, 20),
    "noicc6": nf.SetInfo("noicc6", 0x4, 8, 16),
}
KNOWN = {("inet", "pynet", k): v for k, v in SETS.items()} | {("bridge", "pynet", "noicc6"): SETS["noicc6"]}
BR_A = b"br-a".ljust(16, b"\0")


def words(*hexwords: str) -> bytes:
    """nft --debug=netlink prints data as host-order (little-endian) 32-bit words."""
    return b"".join(struct.pack("<I", int(w, 16)) for w in hexwords)


def decoded(info: nf.SetInfo, body: str, with_data: bool = True) -> list[dict[int, Any]]:
    """Per NFTA_LIST_ELEM: key, key_end, data (bytes) and flags."""
    out = []
    for elem in ne.element_attrs(info, body, with_data):
        a = nf.attrs(elem)
        val = {
            k: nf.attrs(a[k]).get(nf.NFTA_DATA_VALUE)
            for k in (nf.NFTA_SET_ELEM_KEY, nf.NFTA_SET_ELEM_KEY_END, nf.NFTA_SET_ELEM_DATA)
            if k in a
        }
        val[nf.NFTA_SET_ELEM_FLAGS] = nf.be32(a.get(nf.NFTA_SET_ELEM_FLAGS))
        out.append(val)
    return out


KEY, END, DATA, FLAGS = nf.NFTA_SET_ELEM_KEY, nf.NFTA_SET_ELEM_KEY_END, nf.NFTA_SET_ELEM_DATA, nf.NFTA_SET_ELEM_FLAGS


# -- encoding, byte for byte as libnftables ----------------------------------------------


def test_concatenated_types_are_split_into_fields() -> None:
    assert ne.field_types(41) == [ne.TYPE_IFNAME]
    assert ne.field_types(489) == [ne.TYPE_IPADDR, ne.TYPE_IFNAME]
    assert ne.field_types(29453) == [ne.TYPE_IPADDR, ne.TYPE_INET_PROTOCOL, ne.TYPE_INET_SERVICE]


def test_elements_are_laid_out_as_libnftables_lays_them_out() -> None:
    # subnets4 (concatenated ranges: pipapo): key and an inclusive key_end in one element
    assert decoded(SETS["subnets4"], '10.1.0.0/24 . "br-a"') == [
        {KEY: words("0000010a", "612d7262", "0", "0", "0"), END: words("ff00010a", "612d7262", "0", "0", "0"), FLAGS: 0}
    ]
    assert decoded(SETS["subnets6"], 'fd00:1::/64 . "br-a"') == [
        {
            KEY: words("010000fd", "0", "0", "0") + BR_A,
            END: words("010000fd", "0", "ffffffff", "ffffffff") + BR_A,
            FLAGS: 0,
        }
    ]
    # masq4 (one field: rbtree): the start, then "interval end" one past the last address
    assert decoded(SETS["masq4"], "10.1.0.0/24") == [
        {KEY: words("0000010a"), FLAGS: 0},
        {KEY: words("0001010a"), FLAGS: nf.NFT_SET_ELEM_INTERVAL_END},
    ]
    assert decoded(SETS["noicc6"], "fd00:1::/64") == [
        {KEY: words("010000fd", "0", "0", "0"), FLAGS: 0},
        {KEY: words("010000fd", "01000000", "0", "0"), FLAGS: nf.NFT_SET_ELEM_INTERVAL_END},
    ]
    # maps: every concatenated field padded to 4 bytes, ports big-endian
    assert decoded(SETS["pub4_any"], "tcp . 8080 : 10.1.0.5 . 80") == [
        {KEY: words("00000006", "0000901f"), DATA: words("0500010a", "00005000"), FLAGS: 0}
    ]
    assert decoded(SETS["same"], '"br-a" . "br-a"') == [{KEY: BR_A + BR_A, FLAGS: 0}]
    assert decoded(SETS["bridges"], '"br-a"') == [{KEY: BR_A, FLAGS: 0}]


def test_a_delete_names_the_key_only() -> None:
    assert decoded(SETS["pub4_any"], "tcp . 8080", with_data=False) == [{KEY: words("00000006", "0000901f"), FLAGS: 0}]


def test_interval_to_the_last_address_has_no_end_element() -> None:
    assert decoded(SETS["masq4"], "0.0.0.0/0") == [{KEY: b"\0" * 4, FLAGS: 0}]
    assert decoded(SETS["masq4"], "255.255.255.0/24") == [{KEY: bytes([255, 255, 255, 0]), FLAGS: 0}]
    assert decoded(SETS["masq4"], "10.0.0.7")[1][KEY] == bytes([10, 0, 0, 8])  # a single address


@pytest.mark.parametrize(
    "info, body",
    [
        (SETS["masq4"], "10.1.0.1/24"),  # host bits in a prefix (nft refuses too)
        (SETS["pub4_any"], "tcp . http : 10.1.0.5 . 80"),  # service names: libnftables' job
        (SETS["pub4_any"], "tcp . 70000 : 10.1.0.5 . 80"),
        (SETS["pub4_any"], "tcp . 8080"),  # a map element needs its value
        (SETS["bridges"], '"br-a" : 1'),  # a set has none
        (SETS["bridges"], "br-a"),  # ifnames are quoted
        (SETS["bridges"], '"an-ifname-too-long"'),
        (SETS["same"], '"br-a"'),  # one field short
        (SETS["lo_pub4"], "127.0.0.0/8 . udp . 90"),  # a range in a set without intervals
        (nf.SetInfo("marks", 0, 19, 4), "0x10"),  # a datatype pynet does not use
        (nf.SetInfo("odd", 0, 41, 20), '"br-a"'),  # the kernel's key length disagrees
    ],
)
def test_what_it_cannot_lay_out_it_refuses(info: nf.SetInfo, body: str) -> None:
    with pytest.raises(ne.Unencodable):
        ne.element_attrs(info, body, with_data=True)


def test_dumped_elements_decode_to_nft_json_atoms() -> None:
    def dumped(info: nf.SetInfo, *bodies: str) -> bytes:
        elems = [e for b in bodies for e in ne.element_attrs(info, b, True)]
        return nf.nfgenmsg(1) + nf.nest(nf.NFTA_SET_ELEM_LIST_ELEMENTS, *(nf.nest(nf.NFTA_LIST_ELEM, e) for e in elems))

    got = ne.parse_elements(SETS["pub4_ip"], dumped(SETS["pub4_ip"], "127.0.0.1 . udp . 9090 : 10.1.0.5 . 90"))
    assert [(e.key, e.data) for e in got] == [(("127.0.0.1", "udp", 9090), ("10.1.0.5", 90))]
    got = ne.parse_elements(SETS["masq4"], dumped(SETS["masq4"], "10.1.0.0/24", "10.2.0.0/24"))
    assert [e.key for e in got] == [("10.1.0.0",), ("10.2.0.0",)]  # interval ends left out
    got = ne.parse_elements(SETS["subnets6"], dumped(SETS["subnets6"], 'fd00:1::/64 . "br-a"'))
    assert [e.key for e in got] == [("fd00:1::", "br-a")]
    payload = dumped(SETS["bridges"], '"br-a"', '"br-b"', '"br-c"')
    assert [e.key for e in ne.parse_elements(SETS["bridges"], payload, limit=2)] == [("br-a",), ("br-b",)]


# -- which scripts go raw ----------------------------------------------------------------


def _net(**kw: Any) -> Any:
    from pynet.records.model import IPAMPool, Network

    pools = [IPAMPool(subnet="172.18.0.0/16", gateway="172.18.0.1"), IPAMPool(subnet="fd00:1::/64", gateway="")]
    return Network(
        id="a" * 64,
        name="n",
        driver="bridge",
        created="",
        enable_ipv6=True,
        ipam_config=pools,
        driver_data={"bridge": "br-a"},
        **kw,
    )


def test_pynets_own_element_scripts_parse() -> None:
    from pynet.records.model import Endpoint, PortBinding

    ep = Endpoint(id="e" * 64, network_id="", container_id="", name="w", ipv4="172.18.0.5/16", ipv6="fd00:1::5/64")
    elems = fw.network_elements(_net(options={fw.ICC: "false"}))
    elems += fw.publish_elements(
        _net(), ep, [PortBinding(80, "tcp", "", 8080), PortBinding(90, "udp", "127.0.0.1", 9090)]
    )
    script = fw.delete_script(elems) + "delete table inet pynet\ndelete rule ip filter DOCKER-USER handle 7\n"
    lines = ne.parse_script(script)
    assert lines is not None and len(lines) == 2 * len(elems) + 2
    assert lines[0] == ("add", "inet", "pynet", "bridges", '"br-a"')
    assert ("add", "inet", "pynet", "pub4_ip", "127.0.0.1 . udp . 9090 : 172.18.0.5 . 90") in lines
    assert lines[-2:] == [
        ("delete table", "inet", "pynet", "", ""),
        ("delete rule", "ip", "filter", "DOCKER-USER", "7"),
    ]


@pytest.mark.parametrize(
    "script",
    [
        fw.inet_skeleton(),
        "flush ruleset\n",
        'add element inet pynet bridges { "br-a", "br-b" }\n',  # one element per line only
        "add element inet pynet bridges { }\n",
        "delete element inet pynet bridges\n",
        'add element foo pynet bridges { "br-a" }\n',  # no such family
        "delete table inet pynet extra\n",
        "delete rule ip filter DOCKER-USER handle x\n",
        'add element inet pynet bridges { "br-a" }\nlist ruleset\n',
    ],
)
def test_anything_else_is_left_to_libnftables(script: str) -> None:
    assert ne.parse_script(script) is None


def test_batch_keeps_the_order_and_merges_runs_of_one_set() -> None:
    lines = ne.parse_script(
        fw.delete_script(
            [
                ("inet", "bridges", '"br-a"', None),
                ("inet", "bridges", '"br-b"', None),
                ("inet", "pub4_any", "tcp . 80", "10.1.0.5 . 80"),
            ]
        )
        + "delete table bridge pynet\n"
    )
    assert lines is not None
    msgs = ne.batch_messages(lines, KNOWN)
    assert [(m[0], m[1]) for m in msgs] == [
        (nf.NFT_MSG_NEWSETELEM, nf.NLM_F_CREATE),
        (nf.NFT_MSG_NEWSETELEM, nf.NLM_F_CREATE),
        (nf.NFT_MSG_DELSETELEM, 0),
        (nf.NFT_MSG_DELSETELEM, 0),
        (nf.NFT_MSG_DELTABLE, 0),
    ]
    first = nf.attrs(msgs[0][2], 4)
    assert nf.text(first[nf.NFTA_SET_ELEM_LIST_SET]) == "bridges"
    assert len(nf.attr_list(first[nf.NFTA_SET_ELEM_LIST_ELEMENTS])) == 2  # br-a and br-b together
    assert msgs[-1][2][0] == nf.FAMILIES["bridge"]
    with pytest.raises(ne.Unencodable):  # a set the kernel did not describe
        ne.batch_messages(ne.parse_script('add element inet pynet nosuch { "x" }\n') or [], KNOWN)


def test_the_skeleton_is_the_declarative_prefix() -> None:
    skeleton = fw.inet_skeleton() + fw.bridge_skeleton()
    elements = fw.add_script(fw.network_elements(_net()))
    assert nftraw.split_prefix(skeleton + elements) == (skeleton, elements)
    assert nftraw.split_prefix(elements) == ("", elements)
    assert (
        nftraw.split_prefix("add table inet pynet\ndelete table inet pynet\n" + skeleton)[0] == "add table inet pynet\n"
    )
    chains = nftraw.declared_chains(skeleton)
    assert chains[0] == ("inet", "pynet", "publish") and chains[-1] == ("bridge", "pynet", "forward")
    assert len(chains) == 7


# -- the session, against a fake netlink conversation -------------------------------------


def _set_payload(info: nf.SetInfo) -> bytes:
    return (
        nf.nfgenmsg(1)
        + nf.nla_str(nf.NFTA_SET_NAME, info.name)
        + nf.nla_be32(nf.NFTA_SET_FLAGS, info.flags)
        + nf.nla_be32(nf.NFTA_SET_KEY_TYPE, info.key_type)
        + nf.nla_be32(nf.NFTA_SET_KEY_LEN, info.key_len)
        + nf.nla_be32(nf.NFTA_SET_DATA_TYPE, info.data_type)
        + nf.nla_be32(nf.NFTA_SET_DATA_LEN, info.data_len)
    )


class FakeNfnl:
    """The kernel's side: pynet's sets, one chain per declared name, rules as bytes."""

    def __init__(self) -> None:
        self.policy = 1
        self.rules: dict[str, list[bytes]] = {"forward": [b"rule-1", b"rule-2"]}
        self.batches: list[list[nf.Msg]] = []
        self.refuse: nf.NfnlError | None = None
        self.requests = 0

    def request(self, msgs: list[nf.Msg]) -> list[Any]:
        self.requests += 1
        out: list[Any] = []
        for mtype, _flags, body in msgs:
            a = nf.attrs(body, 4)
            if mtype == nf.NFT_MSG_GETSET:
                info = SETS.get(nf.text(a[nf.NFTA_SET_NAME]))
                out.append([_set_payload(info)] if info else nf.NfnlError(errno.ENOENT))
            elif mtype == nf.NFT_MSG_GETCHAIN:
                name = nf.text(a[nf.NFTA_CHAIN_NAME])
                out.append(
                    [
                        nf.nfgenmsg(1)
                        + nf.nla_str(nf.NFTA_CHAIN_NAME, name)
                        + nf.nla_be32(nf.NFTA_CHAIN_POLICY, self.policy)
                    ]
                    if name in self.rules
                    else nf.NfnlError(errno.ENOENT)
                )
            else:
                out.append(nf.NfnlError(errno.EOPNOTSUPP))
        return out

    def dump(self, mtype: int, body: bytes, enough: Any = None) -> tuple[list[bytes], bool]:
        assert mtype == nf.NFT_MSG_GETRULE
        return [
            nf.nfgenmsg(1) + nf.nla_str(nf.NFTA_RULE_CHAIN, c) + nf.nla(nf.NFTA_RULE_EXPRESSIONS, r)
            for c, rules in self.rules.items()
            for r in rules
        ], True

    def batch(self, msgs: list[nf.Msg]) -> None:
        if self.refuse:
            raise self.refuse
        self.batches.append(msgs)

    def close(self) -> None:
        pass


SKELETON = (
    "add table inet pynet\nadd chain inet pynet forward { type filter hook forward priority filter; }\n"
    "flush chain inet pynet forward\nadd rule inet pynet forward accept\n"
)
ELEMENTS = 'add element inet pynet bridges { "br-a" }\n'


@pytest.fixture
def session(tmp_path: Path) -> tuple[nftraw.Raw, FakeNfnl]:
    fake = FakeNfnl()
    raw = nftraw.Raw(lambda: None, tmp_path / "nft-skeleton.cache", sock=object())  # type: ignore[arg-type]
    raw.nl = fake  # type: ignore[assignment]
    return raw, fake


@pytest.fixture(autouse=True)
def _no_real_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """nfnetlink.Nfnl would bind a real socket: here every Nfnl is handed a stand-in."""
    monkeypatch.setattr(nf.Nfnl, "__init__", lambda self, sock: setattr(self, "sock", sock))


def test_elements_alone_go_raw_in_one_batch(session: tuple[nftraw.Raw, FakeNfnl]) -> None:
    raw, fake = session
    assert raw.run(ELEMENTS)
    assert [[m[0] for m in b] for b in fake.batches] == [[nf.NFT_MSG_NEWSETELEM]]
    assert raw.run(ELEMENTS) and fake.requests == 1  # set descriptions are kept


def test_skeleton_prefix_goes_raw_only_once_recorded_and_unchanged(session: tuple[nftraw.Raw, FakeNfnl]) -> None:
    raw, fake = session
    assert not raw.run(SKELETON + ELEMENTS)  # never recorded: libnftables applies it
    assert fake.batches == []
    raw.remember(SKELETON + ELEMENTS)  # ... and then pynet records the result
    assert raw.cache and os.path.exists(raw.cache)
    assert raw.run(SKELETON + ELEMENTS)
    assert [[m[0] for m in b] for b in fake.batches] == [[nf.NFT_MSG_NEWSETELEM]]  # elements only
    fake.rules["forward"].insert(0, b"someone's rule")  # an edited chain
    assert not raw.run(SKELETON + ELEMENTS)
    fake.rules["forward"].pop(0)
    fake.policy = 0  # a changed policy
    assert not raw.run(SKELETON + ELEMENTS)
    fake.policy = 1
    assert raw.run(SKELETON + ELEMENTS)
    assert not raw.run(SKELETON.replace("accept", "drop") + ELEMENTS)  # another skeleton version
    del fake.rules["forward"]  # a flushed ruleset
    assert not raw.run(SKELETON + ELEMENTS)


def test_a_refused_batch_goes_back_to_libnftables(session: tuple[nftraw.Raw, FakeNfnl]) -> None:
    raw, fake = session
    fake.refuse = nf.NfnlError(errno.EEXIST)
    assert not raw.run("add element inet pynet pub4_any { tcp . 80 : 10.0.0.2 . 80 }\n")
    assert raw.sets == {}  # descriptions are re-read after that
    assert not raw.run('add element inet pynet nosuch { "x" }\n')  # unknown set: libnftables says ENOENT


def test_no_runtime_dir_means_no_record_not_an_error(tmp_path: Path) -> None:
    fake = FakeNfnl()
    raw = nftraw.Raw(lambda: None, tmp_path / "missing" / "nft-skeleton.cache", sock=object())  # type: ignore[arg-type]
    raw.nl = fake  # type: ignore[assignment]
    raw.remember(SKELETON)
    assert not raw.run(SKELETON + ELEMENTS)


def test_bounded_element_reads_stop_early(
    session: tuple[nftraw.Raw, FakeNfnl], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, _fake = session
    payload = nf.nfgenmsg(1) + nf.nest(
        nf.NFTA_SET_ELEM_LIST_ELEMENTS,
        *(
            nf.nest(nf.NFTA_LIST_ELEM, e)
            for b in ('"br-a"', '"br-b"', '"br-c"')
            for e in ne.element_attrs(SETS["bridges"], b, True)
        ),
    )
    seen: list[int] = []

    def dump(self: Any, mtype: int, body: bytes, enough: Any = None) -> tuple[list[bytes], bool]:
        seen.append(mtype)
        stop = enough(payload) if enough else False
        return [payload], not stop

    monkeypatch.setattr(nf.Nfnl, "dump", dump)
    monkeypatch.setattr(nf.Nfnl, "close", lambda self: None)
    monkeypatch.setattr(nf.Nfnl, "bounded", classmethod(lambda cls, sock: nf.Nfnl(sock)))
    assert [e.key for e in raw.elements("inet", "pynet", "bridges", limit=2) or []] == [("br-a",), ("br-b",)]
    assert raw.elements("inet", "pynet", "nosuch") is None


# -- the kernel layer's API around it ------------------------------------------------------


def test_json_listings_give_the_same_atoms() -> None:
    listing = [
        {"map": {"name": "pub4_ip", "elem": [[{"concat": ["127.0.0.1", "udp", 9090]}, {"concat": ["10.1.0.5", 90]}]]}},
        {"set": {"name": "subnets4", "elem": [{"concat": [{"prefix": {"addr": "10.1.0.0", "len": 24}}, "br-a"]}]}},
        {
            "set": {
                "name": "masq4",
                "elem": [{"prefix": {"addr": "10.1.0.0", "len": 24}}, {"range": ["10.9.0.1", "10.9.0.3"]}],
            }
        },
        {"set": {"name": "empty"}},
    ]
    assert nft.elements_from_listing(listing, "pub4_ip") == [(("127.0.0.1", "udp", 9090), ("10.1.0.5", 90))]
    assert nft.elements_from_listing(listing, "subnets4") == [(("10.1.0.0", "br-a"), None)]
    assert nft.elements_from_listing(listing, "masq4") == [(("10.1.0.0",), None), (("10.9.0.1",), None)]
    assert nft.elements_from_listing(listing, "empty") == []
    assert nft.elements_from_listing(listing, "nosuch") is None and nft.elements_from_listing(None, "x") is None
    rules = [{"chain": {}}, {"rule": {"handle": 7, "comment": "pynet:br-a", "expr": []}}, {"rule": {"handle": 9}}]
    assert nft.rules_from_listing(rules) == [{"handle": 7, "comment": "pynet:br-a"}, {"handle": 9}]


def test_chains_and_rules_decode_like_nfts_json() -> None:
    hook = nf.nest(
        nf.NFTA_CHAIN_HOOK, nf.nla_be32(nf.NFTA_HOOK_HOOKNUM, 2), nf.nla(nf.NFTA_HOOK_PRIORITY, struct.pack(">i", 0))
    )
    payload = (
        nf.nfgenmsg(2)
        + nf.nla_str(nf.NFTA_CHAIN_TABLE, "filter")
        + nf.nla_str(nf.NFTA_CHAIN_NAME, "FORWARD")
        + hook
        + nf.nla_be32(nf.NFTA_CHAIN_POLICY, 0)
        + nf.nla_str(nf.NFTA_CHAIN_TYPE, "filter")
    )
    assert nf.parse_chain(payload) == {
        "family": "ip",
        "table": "filter",
        "name": "FORWARD",
        "type": "filter",
        "hook": "forward",
        "prio": 0,
        "policy": "drop",
    }
    plain = nf.nfgenmsg(1) + nf.nla_str(nf.NFTA_CHAIN_TABLE, "t") + nf.nla_str(nf.NFTA_CHAIN_NAME, "c")
    assert nf.parse_chain(plain) == {"family": "inet", "table": "t", "name": "c"}
    udata = bytes([nf.NFTNL_UDATA_RULE_COMMENT, 11]) + b"pynet:br-a\0"
    rule = nf.nfgenmsg(2) + nf.nla(nf.NFTA_RULE_HANDLE, struct.pack(">Q", 7)) + nf.nla(nf.NFTA_RULE_USERDATA, udata)
    assert nf.parse_rule(rule) == {"handle": 7, "comment": "pynet:br-a"}


def test_raw_path_off_by_env_or_without_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nft, "_raw", None)
    monkeypatch.setenv(nft.BACKEND_ENV, "lib")
    assert nft.raw() is None
    monkeypatch.delenv(nft.BACKEND_ENV)
    monkeypatch.setattr(nft, "_probe_netlink", lambda: None)  # a probe that opens nothing
    assert nft.raw() is None


def test_scripts_that_cannot_go_raw_never_open_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_socket() -> None:
        raise AssertionError("opened a netlink socket for a script libnftables must run")

    monkeypatch.setattr(nft, "_raw", None)
    monkeypatch.setattr(nft, "_probe_netlink", no_socket)
    for script in (
        "add table inet pynet\n",
        "flush ruleset\n",
        "add table inet pynet\ndelete table inet pynet\n",
        fw.inet_skeleton().replace("add chain", "add set") + "list ruleset\n",
    ):
        assert nft._raw_for(script) is None

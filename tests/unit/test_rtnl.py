"""Raw rtnetlink fast path: message bytes, reply/error decoding, error mapping (no kernel).

The golden bytes were checked against pyroute2 0.9.7's encoder for the same requests
(bridge, veth with peer in a netns, addresses v4/v6, routes), which the kernel accepts.
"""

from __future__ import annotations

import errno
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.errors import KernelError, NotFound, Unsupported
from pynet.kernel import netlink
from pynet.kernel.netlink import _rtnl as rtnl

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="golden bytes are little-endian")


def golden(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts).replace(" ", ""))


HDR = "{len:02x}000000 {type:02x}00 {flags:02x}{fl2:02x} 07000000 00000000"


def hdr(length: int, mtype: int, flags: int) -> str:
    return HDR.format(len=length, type=mtype, flags=flags & 0xFF, fl2=flags >> 8)


def test_link_delete_bytes() -> None:
    assert rtnl.encode(rtnl.msg_link_del(5), 7) == golden(hdr(32, 17, 0x005), "00 00 0000 05000000 00000000 00000000")


def test_link_get_by_name_skips_stats() -> None:
    assert rtnl.encode(rtnl.msg_link_get("eth0"), 7) == golden(
        hdr(52, 18, 0x005),
        "00 00 0000 00000000 00000000 00000000",
        "0800 1d00 08000000",  # IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS
        "0900 0300 6574683000 000000",
    )  # IFLA_IFNAME "eth0"


def test_link_up_with_master_bytes() -> None:
    assert rtnl.encode(rtnl.msg_link_set(3, up=True, master=2), 7) == golden(
        hdr(40, 16, 0x005),
        "00 00 0000 03000000 01000000 01000000",  # flags = change = IFF_UP
        "0800 0a00 02000000",
    )  # IFLA_MASTER


def test_bridge_create_bytes() -> None:
    assert rtnl.encode(rtnl.msg_bridge_add("br0", mtu=1400, mac="02:42:ac:11:00:01"), 7) == golden(
        hdr(76, 16, 0x605),
        "00 00 0000 00000000 00000000 00000000",  # CREATE|EXCL|ACK|REQUEST
        "0800 0300 62723000",  # IFLA_IFNAME "br0"
        "0800 0400 78050000",  # IFLA_MTU 1400
        "0a00 0100 0242ac110001 0000",  # IFLA_ADDRESS
        "1000 1200 0b00 0100 62726964676500 00",
    )  # IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }


def test_bridge_create_without_mac_has_no_address() -> None:
    body = rtnl.msg_bridge_add("br0", mtu=1500)[2]
    assert b"\x0a\x00\x01\x00" not in body and len(body) == 16 + 8 + 8 + 16


def test_hairpin_is_a_nested_protinfo_for_af_bridge() -> None:
    assert rtnl.encode(rtnl.msg_hairpin(3), 7) == golden(
        hdr(44, 19, 0x005),
        "07 00 0000 03000000 00000000 00000000",  # RTM_SETLINK, AF_BRIDGE
        "0c00 0c80",  # IFLA_PROTINFO | NLA_F_NESTED
        "0500 0400 01 000000",
    )  # IFLA_BRPORT_MODE = 1 (hairpin)


def test_veth_with_peer_in_another_netns_bytes() -> None:
    msg = rtnl.msg_veth_add("veth1", "eth0", 9, mtu=1500, peer_mac="02:42:0a:00:00:02")
    assert rtnl.encode(msg, 7) == golden(
        hdr(0x84, 16, 0x605),
        "00 00 0000 00000000 00000000 00000000",
        "0a00 0300 766574683100 0000",  # IFLA_IFNAME "veth1"
        "0800 0400 dc050000",  # IFLA_MTU 1500
        "5000 1200",  # IFLA_LINKINFO
        "0900 0100 7665746800 000000",  #   IFLA_INFO_KIND "veth"
        "4000 0200",  #   IFLA_INFO_DATA
        "3c00 0100",  #     VETH_INFO_PEER: ifinfomsg + attributes
        "00 00 0000 00000000 00000000 00000000",
        "0900 0300 6574683000 000000",  #       IFLA_IFNAME "eth0"
        "0800 1c00 09000000",  #       IFLA_NET_NS_FD 9
        "0a00 0100 02420a000002 0000",  #       IFLA_ADDRESS
        "0800 0400 dc050000",
    )  #       IFLA_MTU 1500


def test_ipv4_address_has_local_and_broadcast() -> None:
    assert rtnl.encode(rtnl.msg_addr_add(4, "10.1.0.1/24"), 7) == golden(
        hdr(48, 20, 0x605), "02 18 00 00 04000000", "0800 0200 0a010001", "0800 0100 0a010001", "0800 0400 0a0100ff"
    )


def test_ipv4_point_to_point_prefix_has_no_broadcast() -> None:
    body = rtnl.msg_addr_add(4, "10.1.0.1/31")[2]
    assert len(body) == 8 + 16


def test_ipv6_address_is_nodad() -> None:
    addr = "fd00" + "00" * 13 + "02"
    assert rtnl.encode(rtnl.msg_addr_add(2, "fd00::2/64"), 7) == golden(
        hdr(72, 20, 0x605),
        "0a 40 02 00 02000000",  # ifa_flags = IFA_F_NODAD
        "1400 0200",
        addr,
        "1400 0100",
        addr,
        "0800 0800 02000000",
    )  # IFA_FLAGS = IFA_F_NODAD


def test_default_route_via_gateway_proto_boot() -> None:
    assert rtnl.encode(rtnl.msg_route_replace(2, "default", "10.1.0.1"), 7) == golden(
        hdr(44, 24, 0x505),  # CREATE|REPLACE|ACK|REQUEST
        "02 00 00 00 fe 03 00 01 00000000",  # main table, RTPROT_BOOT, universe, unicast
        "0800 0500 0a010001",
        "0800 0400 02000000",
    )  # RTA_GATEWAY, RTA_OIF


def test_onlink_route_has_scope_link_and_dst() -> None:
    assert rtnl.encode(rtnl.msg_route_replace(2, "192.168.5.0/24"), 7) == golden(
        hdr(44, 24, 0x505), "02 18 00 00 fe 03 fd 01 00000000", "0800 0100 c0a80500", "0800 0400 02000000"
    )


def test_ipv6_default_route() -> None:
    gw = "fd00" + "00" * 13 + "01"
    assert rtnl.encode(rtnl.msg_route_replace(3, "default", "fd00::1", family=rtnl.AF_INET6), 7) == golden(
        hdr(56, 24, 0x505), "0a 00 00 00 fe 03 00 01 00000000", "1400 0500", gw, "0800 0400 03000000"
    )


# -- decoding ---------------------------------------------------------------------------
def nlmsg(mtype: int, flags: int, seq: int, payload: bytes) -> bytes:
    data = struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload
    return data + b"\0" * (-len(data) % 4)


def error_msg(seq: int, code: int, text: str = "") -> bytes:
    echoed = struct.pack("=IHHII", 32, 16, 5, seq, 0)
    tlvs = rtnl.nla(rtnl.NLMSGERR_ATTR_MSG, text.encode() + b"\0") if text else b""
    flags = 0x100 | (rtnl.NLM_F_ACK_TLVS if text else 0)  # NLM_F_CAPPED (+ TLVs)
    return nlmsg(rtnl.NLMSG_ERROR, flags, seq, struct.pack("=i", code) + echoed + tlvs)


def test_negative_ack_raises_with_errno_and_kernel_text() -> None:
    ((mtype, flags, seq, payload),) = rtnl.parse(error_msg(7, -errno.EEXIST, "Address already assigned"))
    assert (mtype, seq) == (rtnl.NLMSG_ERROR, 7)
    with pytest.raises(rtnl.NetlinkError) as info:
        rtnl.check_error(flags, payload)
    assert info.value.errno == info.value.code == errno.EEXIST
    assert info.value.detail == "Address already assigned"


def test_zero_error_is_an_ack() -> None:
    ((_, flags, _, payload),) = rtnl.parse(error_msg(7, 0))
    rtnl.check_error(flags, payload)  # no exception


class FakeSock:
    """Replays datagrams; records what was sent."""

    def __init__(self, datagrams: list[bytes]) -> None:
        self.datagrams, self.sent = list(datagrams), []

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        return self.datagrams.pop(0)


def fake_rtnl(datagrams: list[bytes]) -> rtnl.Rtnl:
    r = rtnl.Rtnl.__new__(rtnl.Rtnl)
    r.sock, r.seq = FakeSock(datagrams), 0  # type: ignore[assignment]
    return r


def test_call_returns_replies_before_the_ack_and_skips_stale_answers() -> None:
    reply = rtnl.ifinfomsg(index=42)
    r = fake_rtnl([error_msg(99, 0), nlmsg(16, 0, 1, reply) + error_msg(1, 0)])
    assert r.call(rtnl.msg_link_get("eth0")) == [(16, reply)]
    assert r.sock.sent == [rtnl.encode(rtnl.msg_link_get("eth0"), 1)]


def test_call_raises_on_negative_ack() -> None:
    r = fake_rtnl([error_msg(1, -errno.ENODEV)])
    with pytest.raises(rtnl.NetlinkError) as info:
        r.call(rtnl.msg_link_del(9))
    assert info.value.errno == errno.ENODEV


def test_link_index_in_netns_reads_the_reply_and_maps_enodev_to_none(monkeypatch) -> None:
    sock = fake_rtnl([nlmsg(16, 0, 1, rtnl.ifinfomsg(index=7)) + error_msg(1, 0), error_msg(2, -errno.ENODEV)])
    monkeypatch.setattr(rtnl, "sock", lambda netns=None: sock)
    assert rtnl.link_index("eth0", "/run/x") == 7
    assert rtnl.link_index("eth9", "/run/x") is None
    assert rtnl.link_index("", "/run/x") is None and rtnl.link_index("x" * 16, "/run/x") is None


# -- error mapping -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "cls", "text"),
    [
        (errno.ENODEV, NotFound, "failed to delete link x: No such device"),
        (errno.ENOENT, NotFound, "failed to delete link x: No such file or directory"),
        (errno.EOPNOTSUPP, Unsupported, "failed to delete link x: not supported by this kernel"),
        (errno.EEXIST, KernelError, "failed to delete link x: File exists"),
        (errno.EPERM, KernelError, "failed to delete link x: Operation not permitted"),
    ],
)
def test_errors_map_like_netlink_fail(code: int, cls: type, text: str) -> None:
    exc = rtnl.NetlinkError(code, "kernel says why")
    what = "failed to delete link x"
    for mapped in (rtnl.pynet_error(exc, what), netlink._fail(exc, what)):
        assert type(mapped) is cls and mapped.message == text


def test_addr_add_tolerates_eexist_and_maps_enodev(monkeypatch) -> None:
    def fail(code: int):
        def addr_add(index: int, cidr: str, netns: str | None = None) -> None:
            raise rtnl.NetlinkError(code)

        return addr_add

    monkeypatch.setattr(rtnl, "addr_add", fail(errno.EEXIST))
    netlink.addr_add(3, "10.1.0.1/24")  # already there: fine
    monkeypatch.setattr(rtnl, "addr_add", fail(errno.ENODEV))
    with pytest.raises(NotFound, match=r"^failed to add address 10.1.0.1/24: No such device$"):
        netlink.addr_add(3, "10.1.0.1/24")


def test_link_delete_of_a_vanished_link_succeeds(monkeypatch) -> None:
    calls = []

    def gone(index: int, netns: str | None = None) -> None:
        calls.append(index)
        raise rtnl.NetlinkError(errno.ENODEV)

    monkeypatch.setattr(rtnl, "link_index", lambda name, netns=None: 5)
    monkeypatch.setattr(rtnl, "link_delete", gone)
    netlink.link_delete("veth0")
    assert calls == [5]


def test_mountinfo_fields_of_a_shared_mount(monkeypatch, tmp_path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "63 27 254:0 /run/pynet/netns /run/pynet/netns rw shared:14 - ext4 /dev/vda rw\n"
        "70 27 0:50 / /run/my\\040dir rw - tmpfs tmpfs rw\n"
    )
    monkeypatch.setattr(rtnl.os.path, "realpath", lambda p: p)
    assert rtnl._mount_fields("/run/pynet/netns", str(info)) == ["shared:14"]
    assert rtnl._mount_fields("/run/my dir", str(info)) == []
    assert rtnl._mount_fields("/run/pynet", str(info)) is None


def test_hot_modules_do_not_import_pyroute2() -> None:
    code = (
        "import sys, pynet.kernel.netlink, pynet.kernel.netlink._rtnl, pynet.drivers.bridge, pynet.kernel.sandbox,"
        " pynet.kernel.runtime, pynet.kernel.undo, pynet.cnm.sandboxes, pynet.cnm.rollback;"
        "sys.exit('pyroute2' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=30).returncode == 0

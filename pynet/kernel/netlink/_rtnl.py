"""Raw rtnetlink, standard library only: the fast path of ``network create/rm`` and ``run``.

pyroute2 costs 60-115 ms to import (its package pulls ndb, ipdb, conntrack, asyncio) and
forks a helper for every socket it opens in another network namespace. The handful of
requests a bridge network and a container need are simple enough to encode by hand:
create a bridge or a veth pair, delete a link, set it up or enslave it, hairpin a bridge
port, add an address, replace a route; plus network namespaces without forking.

Requests go over a NETLINK_ROUTE socket with NLM_F_ACK; a negative ack raises
:class:`NetlinkError` (an ``OSError`` carrying the errno, so ``netlink._fail`` maps it like
a pyroute2 error); :func:`pynet_error` is that same mapping. Sockets are cached per
namespace: ``None`` is the namespace this process is in, any other key the bind-mount
path of a sandbox namespace (a socket created inside a namespace stays bound to it).
Callers must be single-threaded while this module switches namespaces (it does).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import _socket
import struct

from pynet.errors import KernelError, NotFound, PynetError, Unsupported
from pynet.kernel._nla import attrs, nla, nla_str

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from types import ModuleType

# -- constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h) ----
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLM_F_ACK_TLVS = 0x200  # in an error message: extended-ack attributes follow
NLMSGERR_ATTR_MSG = 1
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NLA_F_NESTED = 0x8000

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_NEWROUTE, RTM_GETROUTE = 20, 24, 26
RTM_F_FIB_MATCH = 0x2000  # a route request answers with the matching FIB entry itself

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER = 1, 3, 4, 10
IFLA_PROTINFO, IFLA_LINKINFO, IFLA_NET_NS_FD, IFLA_EXT_MASK = 12, 18, 28, 29
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # hairpin
IFLA_BRPORT_LEARNING = 8
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFF_UP = 0x1

IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_FLAGS = 1, 2, 4, 8
IFA_F_NODAD = 0x02

RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253

AF_UNSPEC, AF_INET, AF_BRIDGE, AF_INET6 = 0, 2, 7, 10
MS_BIND, MS_REC, MS_SHARED = 4096, 16384, 1 << 20
SIOCGIFMTU = 0x8921

Msg = tuple[int, int, bytes]  # (message type, extra flags, body after the nlmsghdr)


class NetlinkError(OSError):
    """The kernel refused a request; ``errno`` (and ``code``, as pyroute2 names it) tell why."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, os.strerror(code) + (f" ({detail})" if detail else ""))
        self.code = code
        self.detail = detail


def pynet_error(exc: Exception, what: str) -> PynetError:
    """The pynet error for a failed kernel request (the same mapping as ``netlink._fail``)."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if code == errno.EOPNOTSUPP:
        return Unsupported(f"{what}: not supported by this kernel")
    if code in (errno.ENODEV, errno.ENOENT):
        return NotFound(f"{what}: {os.strerror(code)}")
    msg = os.strerror(code) if isinstance(code, int) else str(exc)
    return KernelError(f"{what}: {msg}")


def _namespaces() -> ModuleType:
    """``pynet.kernel.namespaces`` on first use: it loads ctypes (~1.5 ms), which
    ``network create``/``rm`` (no namespace switching) never need."""
    from pynet.kernel import namespaces

    return namespaces


# -- encoding ----------------------------------------------------------------------------
def nla_u32(kind: int, value: int) -> bytes:
    return nla(kind, struct.pack("=I", value))


def ifinfomsg(index: int = 0, flags: int = 0, change: int = 0, family: int = AF_UNSPEC) -> bytes:
    return struct.pack("=BxHiII", family, 0, index, flags, change)


def encode(msg: Msg, seq: int) -> bytes:
    """The bytes of request ``msg`` with sequence number ``seq`` (always REQUEST|ACK)."""
    mtype, flags, body = msg
    return struct.pack("=IHHII", 16 + len(body), mtype, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def msg_link_get(name: str) -> Msg:
    body = ifinfomsg() + nla_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) + nla_str(IFLA_IFNAME, name)
    return RTM_GETLINK, 0, body


def msg_link_del(index: int) -> Msg:
    return RTM_DELLINK, 0, ifinfomsg(index)


def msg_link_set(index: int, *, up: bool = False, master: int | None = None) -> Msg:
    body = ifinfomsg(index, IFF_UP if up else 0, IFF_UP if up else 0)
    if master is not None:
        body += nla_u32(IFLA_MASTER, master)
    return RTM_NEWLINK, 0, body


def msg_bridge_add(name: str, *, mtu: int, mac: str | None = None) -> Msg:
    body = ifinfomsg() + nla_str(IFLA_IFNAME, name) + nla_u32(IFLA_MTU, mtu)
    if mac:
        body += nla(IFLA_ADDRESS, _mac(mac))
    body += nla(IFLA_LINKINFO, nla_str(IFLA_INFO_KIND, "bridge"))
    return RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body


def msg_hairpin(index: int, on: bool = True) -> Msg:
    """`bridge link set dev X hairpin on`: a bridge-port attribute, family AF_BRIDGE.

    RTM_SETLINK, as `bridge` sends it: RTM_NEWLINK with AF_BRIDGE is acked but ignored.
    """
    protinfo = nla(IFLA_PROTINFO | NLA_F_NESTED, nla(IFLA_BRPORT_MODE, bytes([1 if on else 0])))
    return RTM_SETLINK, 0, ifinfomsg(index, family=AF_BRIDGE) + protinfo


def msg_learning(index: int, on: bool) -> Msg:
    """`bridge link set dev X learning on|off` (a bridge-port attribute, as hairpin)."""
    protinfo = nla(IFLA_PROTINFO | NLA_F_NESTED, nla(IFLA_BRPORT_LEARNING, bytes([1 if on else 0])))
    return RTM_SETLINK, 0, ifinfomsg(index, family=AF_BRIDGE) + protinfo


def msg_veth_add(name: str, peer: str, peer_netns_fd: int, *, mtu: int, peer_mac: str = "") -> Msg:
    peer_body = ifinfomsg() + nla_str(IFLA_IFNAME, peer) + nla_u32(IFLA_NET_NS_FD, peer_netns_fd)
    if peer_mac:
        peer_body += nla(IFLA_ADDRESS, _mac(peer_mac))
    peer_body += nla_u32(IFLA_MTU, mtu)
    info = nla_str(IFLA_INFO_KIND, "veth") + nla(IFLA_INFO_DATA, nla(VETH_INFO_PEER, peer_body))
    body = ifinfomsg() + nla_str(IFLA_IFNAME, name) + nla_u32(IFLA_MTU, mtu) + nla(IFLA_LINKINFO, info)
    return RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body


def msg_addr_add(index: int, cidr: str) -> Msg:
    """`ip addr add CIDR dev X` (+ broadcast for IPv4, nodad for IPv6, as Docker does)."""
    iface = ipaddress.ip_interface(cidr)
    family, plen, raw = (AF_INET if iface.version == 4 else AF_INET6), iface.network.prefixlen, iface.ip.packed
    flags = IFA_F_NODAD if iface.version == 6 else 0
    body = struct.pack("=BBBBI", family, plen, flags, 0, index) + nla(IFA_LOCAL, raw) + nla(IFA_ADDRESS, raw)
    if iface.version == 4 and plen < 31:
        body += nla(IFA_BROADCAST, iface.network.broadcast_address.packed)
    if flags:
        body += nla_u32(IFA_FLAGS, flags)
    return RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body


def msg_route_replace(oif: int, dst: str, gateway: str | None = None, family: int | None = None) -> Msg:
    """`ip route replace DST [via GW] dev OIF proto boot` in the main table.

    ``dst`` is ``"default"`` or a network/address (v4 or v6); without a gateway the route
    is on-link (scope link, as `ip route` makes it).
    """
    if dst == "default":
        net = None
        fam = family or (AF_INET6 if gateway and ":" in gateway else AF_INET)
    else:
        net = ipaddress.ip_network(dst, strict=False)
        fam = AF_INET if net.version == 4 else AF_INET6
    scope = RT_SCOPE_LINK if not gateway and fam == AF_INET else RT_SCOPE_UNIVERSE
    plen = net.prefixlen if net else 0
    body = struct.pack("=BBBBBBBBI", fam, plen, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST, 0)
    if net is not None and plen:
        body += nla(RTA_DST, net.network_address.packed)
    if gateway:
        body += nla(RTA_GATEWAY, ipaddress.ip_address(gateway).packed)
    body += nla_u32(RTA_OIF, oif)
    return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body


# -- decoding ----------------------------------------------------------------------------
def parse(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """Split a datagram into (type, flags, seq, payload) messages."""
    out, off = [], 0
    while off + 16 <= len(data):
        length, mtype, flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        out.append((mtype, flags, seq, data[off + 16 : off + length]))
        off += (length + 3) & ~3
    return out


def check_error(flags: int, payload: bytes) -> None:
    """Raise :class:`NetlinkError` for a negative NLMSG_ERROR payload (0 is an ack)."""
    code = struct.unpack_from("=i", payload)[0]
    if code == 0:
        return
    detail = ""
    if flags & NLM_F_ACK_TLVS:
        # With NETLINK_CAP_ACK the echoed request is its header only; TLVs follow it.
        off = 4 + 16
        while off + 4 <= len(payload):
            alen, atype = struct.unpack_from("=HH", payload, off)
            if alen < 4:
                break
            if atype == NLMSGERR_ATTR_MSG:
                detail = payload[off + 4 : off + alen].split(b"\0", 1)[0].decode(errors="replace")
            off += (alen + 3) & ~3
    raise NetlinkError(-code, detail)


class Rtnl:
    """A NETLINK_ROUTE socket bound in the network namespace current at creation."""

    def __init__(self) -> None:
        self.sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, _socket.NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))
            for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
                try:
                    self.sock.setsockopt(SOL_NETLINK, opt, 1)
                except OSError:
                    pass  # older kernel: plain acks
        except BaseException:
            self.sock.close()
            raise
        self.seq = 0

    def call(self, msg: Msg) -> list[tuple[int, bytes]]:
        """Send ``msg``; return the (type, payload) replies before its ack."""
        self.seq += 1
        seq = self.seq
        self.sock.send(encode(msg, seq))
        replies = []
        while True:
            for mtype, flags, mseq, payload in parse(self.sock.recv(65536)):
                if mseq != seq:
                    continue  # a late answer to an earlier, abandoned request
                if mtype == NLMSG_ERROR:
                    check_error(flags, payload)
                    return replies
                if mtype == NLMSG_DONE:
                    return replies
                replies.append((mtype, payload))

    def close(self) -> None:
        self.sock.close()


_socks: dict[str | None, Rtnl] = {}


def sock(netns: str | None = None) -> Rtnl:
    """The cached socket of this process's namespace (None) or of the sandbox at ``netns``."""
    s = _socks.get(netns)
    if s is None:
        if netns is None:
            s = Rtnl()
        else:
            try:
                with _namespaces().entered_netns(netns):
                    s = Rtnl()
            except FileNotFoundError:
                raise NotFound(f"network namespace {netns} does not exist") from None
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # EINVAL: a file that is no namespace (any more)
                    raise
                raise NotFound(f"network namespace {netns} does not exist") from None
        _socks[netns] = s
    return s


def drop(netns: str | None) -> None:
    """Close and forget the cached socket of ``netns``."""
    s = _socks.pop(netns, None)
    if s is not None:
        s.close()


def close_all() -> None:
    """Close every cached socket (before fork/exec)."""
    for key in list(_socks):
        drop(key)


# -- links, addresses, routes ----------------------------------------------------------
def link_index(name: str, netns: str | None = None) -> int | None:
    """Index of link ``name`` in this namespace or the sandbox at ``netns``; None if absent."""
    if not name or len(name.encode()) > 15:
        return None
    if netns is None:
        try:
            return _socket.if_nametoindex(name)
        except OSError:
            return None
    replies = _link_get(name, netns)
    return struct.unpack_from("=i", replies[0][1], 4)[0] if replies else None


def _link_get(name: str, netns: str | None) -> list | None:
    """The kernel's RTM_NEWLINK replies for link ``name``; None when there is no such link."""
    try:
        return sock(netns).call(msg_link_get(name))
    except NetlinkError as exc:
        if exc.errno in (errno.ENODEV, errno.ENOENT):
            return None
        raise


def link_kind(name: str, netns: str | None = None) -> str | None:
    """The kind of link ``name`` (``bridge``, ``veth``...; ``""`` for a NIC); None if absent."""
    if not name or len(name.encode()) > 15:
        return None
    replies = _link_get(name, netns)
    if not replies:
        return None
    info = attrs(replies[0][1], 16).get(IFLA_LINKINFO)  # after the 16-byte ifinfomsg
    kind = attrs(info).get(IFLA_INFO_KIND, b"") if info else b""
    return kind.split(b"\0", 1)[0].decode()


def link_delete(index: int, netns: str | None = None) -> None:
    sock(netns).call(msg_link_del(index))


def link_delete_unlisted(index: int, name: str, timeout: float = 30.0) -> None:
    """Delete link ``index`` (``name``) of this namespace; return once the kernel unlisted it.

    Deleting a bridge costs ~30-45 ms in the kernel, nearly all of it RCU grace periods
    (``br_vlan_flush``'s ``synchronize_rcu``, then ``rcu_barrier`` in ``netdev_run_todo``)
    that come AFTER the device was unlinked from the namespace: from that moment no
    lookup, ``ip link`` or new device sees it, and its name is free. So a short-lived
    child makes the request and waits out those grace periods, and the caller goes on
    as soon as the name is gone. The child holds none of the caller's files (no state
    lock, no stdout), so nothing waits for it; the kernel serialises any later netlink
    request behind it (rtnl lock). A refused request (EPERM, EOPNOTSUPP...) comes back
    through a pipe and is raised here, as with :func:`link_delete`.
    """
    rd, wr = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the child: detach from everything of the caller, delete, report, leave
        code = 0
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, wr)
            os.closerange(wr + 1, 1 << 20)
            Rtnl().call(msg_link_del(index))
        except OSError as exc:
            code = exc.errno or errno.EIO
        except BaseException:  # noqa: BLE001 - the child must always leave through _exit
            code = errno.EIO
        finally:
            try:
                os.write(wr, struct.pack("=i", code))
            finally:
                os._exit(0)
    os.close(wr)
    try:
        _await_unlisted(rd, index, name, timeout)
    finally:
        os.close(rd)
        _reap(pid)


def _await_unlisted(rd: int, index: int, name: str, timeout: float) -> None:
    import select
    import time

    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([rd], [], [], 0.0005)
        if ready:
            data = os.read(rd, 4)
            code = struct.unpack("=i", data)[0] if len(data) == 4 else errno.EIO
            if code and code not in (errno.ENODEV, errno.ENOENT):
                raise NetlinkError(code)
            return
        try:
            if _socket.if_nametoindex(name) != index:
                return  # gone (the name may already belong to a new link)
        except OSError:
            return
        if time.monotonic() > deadline:
            raise NetlinkError(errno.ETIMEDOUT, f"link {name} still listed after {timeout:.0f} s")


_unreaped: list[int] = []  # deleting children still running at their _reap


def _reap(pid: int) -> None:
    """Collect the child if it is done; otherwise init collects it after we exit, or the
    next call here does (a long-lived process, ``system service``, keeps no zombies).

    (Where PID 1 does not reap orphans — a container started without an init — the
    finished child stays a zombie entry until it does, as detached containers' waiters do.)
    """
    _unreaped.append(pid)
    for child in list(_unreaped):
        try:
            done, _ = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            done = child
        if done:
            _unreaped.remove(child)


def link_set(index: int, netns: str | None = None, *, up: bool = False, master: int | None = None) -> None:
    sock(netns).call(msg_link_set(index, up=up, master=master))


def bridge_add(name: str, *, mtu: int, mac: str | None = None) -> None:
    sock().call(msg_bridge_add(name, mtu=mtu, mac=mac))


def hairpin(index: int, on: bool = True) -> None:
    sock().call(msg_hairpin(index, on))


def learning(index: int, on: bool) -> None:
    sock().call(msg_learning(index, on))


def addr_add(index: int, cidr: str, netns: str | None = None) -> None:
    sock(netns).call(msg_addr_add(index, cidr))


def route_replace(
    oif: int, dst: str, gateway: str | None = None, netns: str | None = None, family: int | None = None
) -> None:
    sock(netns).call(msg_route_replace(oif, dst, gateway, family))


def veth_add(name: str, peer: str, peer_netns: str, *, mtu: int, peer_mac: str = "") -> None:
    """A veth pair ``name`` here, ``peer`` born inside the namespace at ``peer_netns``."""
    fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        sock().call(msg_veth_add(name, peer, fd, mtu=mtu, peer_mac=peer_mac))
    finally:
        os.close(fd)


#: a TEST-NET-2 address (RFC 5737): what the FIB matches for it is the default route, unless
#: a route covers it, which :func:`_default_route_oif` detects and leaves to the scan
_PROBE_DST = bytes((198, 51, 100, 1))


def uplink_mtu(default: int = 1500) -> int:
    """MTU of the interface of the (lowest-metric) IPv4 default route, else ``default``."""
    try:
        oif = _default_route_oif()
        name = _scan_default_route() if oif is None else _socket.if_indextoname(oif) if oif else None
        if name is None:
            return default
        import fcntl

        s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
        try:
            ifreq = fcntl.ioctl(s.fileno(), SIOCGIFMTU, struct.pack("=16s24x", name.encode()))
        finally:
            s.close()
        mtu = struct.unpack_from("=i", ifreq, 16)[0]
    except (OSError, ValueError, IndexError):
        return default
    return mtu if 1280 <= mtu < 65536 else default


def _default_route_oif() -> int | None:
    """The device index of the main table's default route, asking the FIB (one request, its
    cost does not grow with the routes of pynet's bridges); 0 when there is no route at all;
    None when the answer is not a main-table default route with one device (then scan)."""
    body = struct.pack("=BBBBBBBBI", AF_INET, 32, 0, 0, RT_TABLE_MAIN, 0, 0, 0, RTM_F_FIB_MATCH)
    try:
        replies = sock().call((RTM_GETROUTE, 0, body + nla(RTA_DST, _PROBE_DST)))
    except NetlinkError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return 0
        return None
    if len(replies) != 1 or len(replies[0][1]) < 12:
        return None
    payload = replies[0][1]
    _fam, dst_len, _src, _tos, table, _proto, _scope, rtype = struct.unpack_from("=BBBBBBBB", payload)
    a = attrs(payload, 12)
    if (
        dst_len
        or rtype != RTN_UNICAST
        or struct.unpack("=I", a.get(RTA_TABLE, struct.pack("=I", table)))[0] != RT_TABLE_MAIN
    ):
        return None
    oif = a.get(RTA_OIF)
    return struct.unpack("=I", oif)[0] if oif and len(oif) == 4 else None


def _scan_default_route() -> str | None:
    """The device of the lowest-metric IPv4 default route in /proc/net/route (the main table)."""
    best: tuple[int, str] | None = None
    with open("/proc/net/route") as f:  # /proc/net follows this process's namespace
        lines = f.read().splitlines()[1:]
    for line in lines:
        # One line per route, i.e. one per network's bridge: split only a default's.
        if line.startswith("00000000\t", line.find("\t") + 1):
            fields = line.split()
            if len(fields) >= 8 and fields[1] == fields[7] == "00000000" and int(fields[3], 16) & 1:
                if best is None or int(fields[6]) < best[0]:
                    best = (int(fields[6]), fields[0])
    return None if best is None else best[1]


# -- network namespaces, without forking -------------------------------------------------
def _mount_fields(directory: str, mountinfo: str = "/proc/self/mountinfo") -> list[str] | None:
    """Optional mountinfo fields (``shared:N``...) of the top mount at ``directory``; None if none."""
    real = os.path.realpath(directory)
    escaped = real.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")
    found = None
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            if len(fields) > 6 and fields[4] == escaped:
                found = fields[6 : fields.index("-")] if "-" in fields else []
    return found


def share_dir(directory: str) -> None:
    """Make ``directory`` a shared mount (a bind mount of itself first), as iproute2 does.

    Shared, so namespace bind mounts made in it later propagate to mount namespaces
    copied from ours, and their unmount does too.
    """
    # mountinfo grows by a line per sandbox: read it once, then trust a marker beside the
    # directory (both live in the runtime dir, so a reboot clears them together).
    marker = directory.rstrip("/") + ".shared"
    if os.path.exists(marker):
        return
    fields = _mount_fields(directory)
    if fields is None or not any(f.startswith("shared:") for f in fields):
        if fields is None:
            _namespaces().mount(directory, directory, None, MS_BIND | MS_REC)
        _namespaces().mount("none", directory, None, MS_SHARED | MS_REC)
    os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def unshare_dir(directory: str) -> None:
    """Undo ``share_dir`` once no namespace is mounted in ``directory`` (for a full reset)."""
    try:
        if os.listdir(directory):
            return
    except FileNotFoundError:
        return
    if _mount_fields(directory) is not None:
        _namespaces().umount(directory)
    try:
        os.unlink(directory.rstrip("/") + ".shared")
    except FileNotFoundError:
        pass


def netns_create(path: str, *, ipv6: bool = True) -> None:
    """A new network namespace bind-mounted at ``path``; this process stays where it is.

    The calling thread unshares a fresh namespace, binds it onto ``path`` and switches
    back; the netlink socket made while inside is cached for ``path``. With
    ``ipv6=False`` IPv6 starts disabled on every interface of the namespace (lo and any
    link born or moved there), as in a Docker container on IPv4-only networks:
    :func:`ipv6_enable` turns it on for one interface that gets an IPv6 address.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    share_dir(os.path.dirname(path))
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _namespaces().unshare(_namespaces().CLONE_NEWNET)
            try:
                _namespaces().mount("/proc/thread-self/ns/net", path, None, MS_BIND)
                if not ipv6:
                    # Also quiet: no link-local address, so no MLD/ND multicast from each
                    # new container flooded to every port of a 1000-port bridge.
                    _set_ipv6_disabled(("all", "default"), True)
                inside = Rtnl()
            finally:
                _namespaces().setns(home, _namespaces().CLONE_NEWNET)
        except BaseException:
            netns_delete(path)
            raise
    finally:
        os.close(home)
    drop(path)
    _socks[path] = inside


def _set_ipv6_disabled(ifnames: tuple[str, ...], disabled: bool) -> None:
    """Write ``net.ipv6.conf.<if>.disable_ipv6`` in the calling thread's namespace."""
    for ifname in ifnames:
        try:
            with open(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "w") as f:
                f.write("1" if disabled else "0")
        except FileNotFoundError:
            pass  # a kernel without IPv6: nothing to switch


def ipv6_disable_here(ifname: str) -> None:
    """Turn IPv6 off for ``ifname`` in this namespace (no link-local address, no DAD/MLD)."""
    _set_ipv6_disabled((ifname,), True)


def ipv6_enable(netns: str, ifname: str) -> None:
    """Turn IPv6 on for ``ifname`` (and lo, for ::1) inside the namespace at ``netns``."""
    with _namespaces().entered_netns(netns):
        _set_ipv6_disabled(("lo", ifname), False)


def netns_delete(path: str) -> None:
    """Unmount and remove the namespace file at ``path``; success when already gone."""
    drop(path)
    try:
        _namespaces().umount(path)
    except OSError:
        pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

"""Traffic control on a sandbox's interface: TBF rate limits, IFB for the way in, netem.

``shape`` puts, inside the sandbox namespace, a TBF root qdisc on the interface (what the
container sends) and, for what it receives, redirects the interface's ingress to an IFB
device ``<ifname>-ifb`` whose egress has the same TBF; netem (delay, jitter, duplicate,
corrupt) sits under the TBF (or at the root). Every object lives in the sandbox, so
``tc qdisc show`` there shows it and the sandbox's end removes it. Loss is nftables'
(``pynet.kernel.linkloss``). pyroute2 is imported on first use (``link set/clear`` only).
docs/topologies.md, "Link shaping", says why these mechanisms.
"""

from __future__ import annotations

import errno
import os

from pynet.errors import KernelError, Unsupported
from pynet.kernel import namespaces

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

ROOT = 0x10000  # 1:
NETEM_UNDER_TBF = 0x100000  # 10: (child of 1:1)
INGRESS = 0xFFFF0000  # ffff:
TC_H_ROOT = 0xFFFFFFFF
TC_H_INGRESS = 0xFFFFFFF1
NO_NETEM = "the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)"

_netem: bool | None = None


def ifb_name(ifname: str) -> str:
    """The IFB device that carries what ``ifname`` receives through its rate limit."""
    return f"{ifname}-ifb"[:15]


def burst_bytes(rate_bps: int) -> int:
    """TBF's bucket: 10 ms at the rate, at least 16 KiB (a few full segments)."""
    return max(rate_bps // 8 // 100, 16 * 1024)


def netem_supported() -> bool:
    """Whether this kernel has the netem qdisc (asked once per process).

    As root: a netem qdisc is added to ``lo`` of a throwaway namespace (the answer is the
    kernel's own; the namespace goes when this thread switches back). Without the
    privilege to do that: whether the module is loaded.
    """
    global _netem
    if _netem is None:
        _netem = _probe_netem()
    return _netem


def _probe_netem() -> bool:
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return os.path.isdir("/sys/module/sch_netem")
    try:
        try:
            namespaces.unshare(namespaces.CLONE_NEWNET)
        except OSError:
            return os.path.isdir("/sys/module/sch_netem")
        try:
            return _netem_accepted_on_lo()
        finally:
            namespaces.setns(home, namespaces.CLONE_NEWNET)
    finally:
        os.close(home)


def _netem_accepted_on_lo() -> bool:
    """Ask this (throwaway) namespace's kernel for a netem qdisc on ``lo``: raw rtnetlink,
    so that ``link show`` and ``pynet info`` never import pyroute2."""
    import socket
    import struct

    kind = b"netem\0"
    qopt = struct.pack("=6I", 1000, 1000, 0, 0, 0, 0)  # tc_netem_qopt: latency, limit...
    attrs = _rtattr(1, kind) + _rtattr(2, qopt)  # TCA_KIND, TCA_OPTIONS
    tcmsg = struct.pack("=BxxxiIII", socket.AF_UNSPEC, 1, ROOT, TC_H_ROOT, 0)  # on lo (index 1)
    flags = 0x1 | 0x4 | 0x400 | 0x200  # NLM_F_REQUEST | ACK | CREATE | EXCL
    body = tcmsg + attrs
    msg = struct.pack("=IHHII", 16 + len(body), 36, flags, 1, 0) + body  # RTM_NEWQDISC
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(5)
        sock.send(msg)
        reply = sock.recv(65536)
    (code,) = struct.unpack_from("=i", reply, 16)  # NLMSG_ERROR's error (0: done)
    if code in (-errno.ENOENT, -errno.EOPNOTSUPP, -errno.EINVAL):
        return False
    if code != 0:
        raise KernelError(f"probing netem: {os.strerror(-code)}")
    return True


def _rtattr(kind: int, payload: bytes) -> bytes:
    import struct

    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def shape(netns: str, ifname: str, *, rate_bps: int, netem: dict[str, Any] | None) -> None:
    """Replace the shaping of ``ifname`` in the sandbox at ``netns`` (nothing set: none).

    ``netem``: pyroute2's netem keywords (delay/jitter in us, loss/duplicate/prob_corrupt
    in percent), or None. Raises Unsupported naming netem when the kernel lacks it.
    """
    if netem and not netem_supported():
        raise Unsupported(NO_NETEM)
    with namespaces.entered_netns(netns):
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            _clear(ipr, ifname)
            try:
                _apply(ipr, ifname, rate_bps, netem)
            except Exception as exc:  # noqa: BLE001 - undone, then raised as pynet's error
                _clear(ipr, ifname)
                if isinstance(exc, (KernelError, Unsupported)):
                    raise
                raise KernelError(f"failed to shape {ifname}: {exc}") from None


def unshape(netns: str, ifname: str) -> None:
    """Remove every qdisc and the IFB device ``shape`` made for ``ifname``; gone is fine."""
    if not os.path.exists(netns):
        return
    with namespaces.entered_netns(netns):
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            _clear(ipr, ifname)


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _apply(ipr: Any, ifname: str, rate_bps: int, netem: dict[str, Any] | None) -> None:
    idx = _index(ipr, ifname)
    if idx is None:
        raise KernelError(f"failed to shape {ifname}: no such device in the sandbox")
    if rate_bps:
        _tbf(ipr, idx, rate_bps)
        if netem:
            ipr.tc("add", "netem", idx, NETEM_UNDER_TBF, parent=ROOT + 1, **netem)
        ipr.link("add", ifname=ifb_name(ifname), kind="ifb")
        ifb = _index(ipr, ifb_name(ifname))
        ipr.link("set", index=ifb, state="up")
        _tbf(ipr, ifb, rate_bps)
        ipr.tc("add", "ingress", idx, INGRESS)
        redirect = {"kind": "mirred", "direction": "egress", "action": "redirect", "ifindex": ifb}
        # u32 matching everything (this kernel may lack cls_matchall); ETH_P_ALL = 3
        ipr.tc("add-filter", "u32", idx, parent=INGRESS, protocol=3, target=1, keys=["0x0/0x0+0"], action=redirect)
    elif netem:
        ipr.tc("add", "netem", idx, ROOT, **netem)


def _tbf(ipr: Any, idx: int, rate_bps: int) -> None:
    ipr.tc("add", "tbf", idx, ROOT, rate=f"{rate_bps}bit", burst=burst_bytes(rate_bps), latency="50ms")


def _clear(ipr: Any, ifname: str) -> None:
    idx = _index(ipr, ifname)
    if idx is not None:
        for handle, parent in ((INGRESS, TC_H_INGRESS), (ROOT, TC_H_ROOT)):
            _ignore_missing(ipr.tc, "del", index=idx, handle=handle, parent=parent)
    ifb = _index(ipr, ifb_name(ifname))
    if ifb is not None:
        _ignore_missing(ipr.link, "del", index=ifb)


def _ignore_missing(call: Any, *args: Any, **kwargs: Any) -> None:
    """Deleting what is not there (no such qdisc: ENOENT/EINVAL; device gone: ENODEV) is fine."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - pyroute2's NetlinkError, narrowed by its code
        if getattr(exc, "code", None) not in (errno.ENOENT, errno.EINVAL, errno.ENODEV):
            raise KernelError(f"failed to remove link shaping: {exc}") from None

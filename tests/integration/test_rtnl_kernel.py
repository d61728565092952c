"""The raw rtnetlink fast path against the real kernel, inside a throwaway host netns.

Each test runs pynet's kernel functions in a child Python that ``nsenter``s the host
namespace (the ``host`` fixture), then checks what a user would see with ``ip -j`` /
``bridge -j``, from the host and from inside the sandbox namespace it made. Sandbox
namespaces live under the host's temp dir (the harness unmounts leftovers).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from harness import Host, assert_not_root_netns, mounts_under, run

pytestmark = pytest.mark.integration

PRELUDE = """
import json, os, sys
from pynet.kernel import netlink
from pynet.kernel.netlink import _rtnl as rtnl
from pynet.errors import PynetError

def err(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except PynetError as exc:
        return [type(exc).__name__, exc.message]
    return None

out = {}
"""
EPILOGUE = "\nout['pyroute2'] = 'pyroute2' in sys.modules\nprint(json.dumps(out))\n"


def py(host: Host, code: str, **values: Any) -> dict[str, Any]:
    """Run ``code`` (with ``netlink``, ``rtnl``, ``err`` and ``out``) in ``host``; return ``out``."""
    head = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    cp = host.sh(sys.executable, "-c", PRELUDE + head + code + EPILOGUE, timeout=60)
    return json.loads(cp.stdout.strip().splitlines()[-1])


def in_ns(path: str, *argv: str) -> Any:
    """``ip``/``bridge`` JSON from inside the sandbox namespace at ``path``."""
    assert_not_root_netns(path)
    return json.loads(run(["nsenter", f"--net={path}", *argv], timeout=15).stdout or "[]")


def sandbox_path(host: Host, name: str = "sb1") -> str:
    return str(host.root / "run" / "netns" / name)


SETUP = """
netlink.bridge_create("br-t", mtu=1400, addresses=["10.20.0.1/24", "fd20::1/64"], mac="02:42:0a:14:00:01")
netlink.netns_create(sb)
netlink.sandbox_interface_up(sb, "lo", addresses=[])
netlink.veth_create("vethT", "eth0", sb, mtu=1400, peer_mac="02:42:0a:14:00:02")
netlink.link_attach("vethT", "br-t", hairpin=True)
netlink.sandbox_interface_up(sb, "eth0", addresses=["10.20.0.2/24", "fd20::2/64"], gateway="10.20.0.1",
                             gateway6="fd20::1", routes=[("192.168.7.0/24", "")])
"""


def test_bridge_with_addresses_comes_up_and_create_is_idempotent(host: Host) -> None:
    out = py(
        host,
        """
netlink.bridge_create("br-t", mtu=1400, addresses=["10.20.0.1/24", "fd20::1/64"], mac="02:42:0a:14:00:01")
netlink.bridge_create("br-t", mtu=1400, addresses=["10.20.0.1/24", "fd20::1/64"])  # adopt, no error
out['exists'] = netlink.link_exists("br-t")
""",
    )
    assert out == {"exists": True, "pyroute2": False}
    (link,) = host.ip_json("-d", "addr", "show", "dev", "br-t")
    assert link["linkinfo"]["info_kind"] == "bridge"
    assert (link["mtu"], link["address"]) == (1400, "02:42:0a:14:00:01")
    assert "UP" in link["flags"]
    addrs = {(a["local"], a["prefixlen"]): a for a in link["addr_info"] if a["scope"] == "global"}
    assert set(addrs) == {("10.20.0.1", 24), ("fd20::1", 64)}
    assert addrs[("10.20.0.1", 24)]["broadcast"] == "10.20.0.255"
    assert addrs[("fd20::1", 64)].get("nodad") is True


def test_container_plumbing_veth_peer_born_in_sandbox(host: Host) -> None:
    sb = sandbox_path(host)
    out = py(host, SETUP + "out['peer_index'] = netlink.link_index('eth0', sb)\n", sb=sb)
    assert out["pyroute2"] is False and out["peer_index"] > 1
    # Host side: enslaved, up, hairpin on; the peer is not in the host.
    (port,) = host.ip_json("-d", "link", "show", "dev", "vethT")  # ip -j -d
    assert (port["master"], port["mtu"]) == ("br-t", 1400) and "UP" in port["flags"]
    (brport,) = json.loads(host.sh("bridge", "-j", "-d", "link", "show", "dev", "vethT").stdout)
    assert brport["hairpin"] is True
    assert "eth0" not in {link["ifname"] for link in host.ip_json("link")}
    # Sandbox side: name, MAC, MTU, up; lo up; addresses; routes with proto boot.
    (eth0,) = in_ns(sb, "ip", "-j", "-d", "addr", "show", "dev", "eth0")
    assert (eth0["address"], eth0["mtu"], eth0["linkinfo"]["info_kind"]) == ("02:42:0a:14:00:02", 1400, "veth")
    assert "UP" in eth0["flags"]
    assert {(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["scope"] == "global"} == {
        ("10.20.0.2", 24),
        ("fd20::2", 64),
    }
    (lo,) = in_ns(sb, "ip", "-j", "link", "show", "dev", "lo")
    assert "UP" in lo["flags"]
    boot4 = in_ns(sb, "ip", "-j", "route", "show", "proto", "boot")
    assert {"dst": "default", "gateway": "10.20.0.1", "dev": "eth0"}.items() <= boot4[0].items()
    onlink = [r for r in boot4 if r["dst"] == "192.168.7.0/24"]
    assert onlink and onlink[0]["scope"] == "link" and "gateway" not in onlink[0]
    boot6 = in_ns(sb, "ip", "-j", "-6", "route", "show", "proto", "boot")
    assert [(r["dst"], r["gateway"], r["dev"]) for r in boot6] == [("default", "fd20::1", "eth0")]
    # And it forwards: the sandbox reaches the bridge address.
    run(["nsenter", f"--net={sb}", "ping", "-c1", "-W2", "10.20.0.1"], timeout=15)


def test_netns_create_and_delete_without_pyroute2(host: Host) -> None:
    sb = sandbox_path(host)
    out = py(
        host,
        """
netlink.netns_create(sb)
out['exists'] = netlink.netns_exists(sb)
out['other'] = os.stat(sb).st_ino != os.stat('/proc/self/ns/net').st_ino
out['dup'] = err(netlink.netns_create, sb)
""",
        sb=sb,
    )
    assert out == {
        "exists": True,
        "other": True,
        "pyroute2": False,
        "dup": ["KernelError", f"failed to create network namespace {sb}: File exists"],
    }
    netns_dir = str(host.root / "run" / "netns")
    mounts = dict(mounts_under(host.root))
    assert mounts[sb] == "nsfs"
    with open("/proc/self/mountinfo") as f:  # the directory is a shared bind mount of itself
        line = [ln for ln in f if ln.split()[4] == netns_dir][-1]
    assert "shared:" in line.split(" - ")[0]
    assert in_ns(sb, "ip", "-j", "link") and len(in_ns(sb, "ip", "-j", "link")) == 1  # just lo
    out = py(
        host,
        """
netlink.netns_delete(sb)
netlink.netns_delete(sb)  # again: fine
out['exists'] = netlink.netns_exists(sb)
out['file'] = os.path.exists(sb)
out['link'] = err(netlink.link_index, 'lo', sb)
out['exists_in_gone'] = netlink.link_exists('lo', sb)
netlink.link_delete('eth0', sb)  # gone namespace: nothing to do
""",
        sb=sb,
    )
    assert out == {
        "exists": False,
        "file": False,
        "exists_in_gone": False,
        "pyroute2": False,
        "link": ["NotFound", f"network namespace {sb} does not exist"],
    }
    assert sb not in dict(mounts_under(host.root))


def test_delete_links_and_errors(host: Host) -> None:
    sb = sandbox_path(host)
    out = py(
        host,
        SETUP
        + """
out['veth_dup'] = err(netlink.veth_create, "vethT", "eth1", sb, mtu=1400)
out['attach_missing'] = err(netlink.link_attach, "vethT", "br-none")
out['no_if'] = err(netlink.sandbox_interface_up, sb, "eth9", addresses=[])
out['bad_index'] = err(netlink.addr_add, 99999, "10.30.0.1/24")
out['no_ns'] = err(netlink.veth_create, "vethU", "eth0", sb + "-gone", mtu=1500)
out['no_ns_up'] = err(netlink.sandbox_interface_up, sb + "-gone", "eth0", addresses=[])
out['again'] = err(netlink.sandbox_interface_up, sb, "eth0", addresses=["10.20.0.2/24"], gateway="10.20.0.1")
netlink.link_delete("vethT")
netlink.link_delete("vethT")          # already gone
netlink.link_delete("br-t")
out['left'] = [netlink.link_exists(n) for n in ("vethT", "br-t")] + [netlink.link_exists("eth0", sb)]
netlink.netns_delete(sb)
""",
        sb=sb,
    )
    assert out.pop("pyroute2") is False
    assert out == {
        "veth_dup": ["KernelError", "failed to create veth pair vethT: File exists"],
        "attach_missing": ["NotFound", "failed to attach vethT to br-none: no such device"],
        "no_if": ["NotFound", "interface eth9 not found in sandbox"],
        "bad_index": ["NotFound", "failed to add address 10.30.0.1/24: No such device"],
        "no_ns": ["NotFound", "failed to create veth pair vethU: No such file or directory"],
        "no_ns_up": ["NotFound", f"network namespace {sb}-gone does not exist"],
        "again": None,  # re-running the configuration is idempotent
        "left": [False, False, False],  # deleting the host end removed the sandbox end
    }
    assert not {"vethT", "br-t"} & {link["ifname"] for link in host.ip_json("link")}


def test_bridge_delete_returns_once_the_bridge_is_unlisted(host: Host) -> None:
    """The kernel's RCU waits are left to a child: the caller sees the bridge gone at once."""
    out = py(
        host,
        """
netlink.bridge_create("br-d", mtu=1500, addresses=["10.21.0.1/24"])
out['ports'] = netlink.link_exists("br-d")
netlink.bridge_delete("br-d")
out['gone'] = not netlink.link_exists("br-d")
# the name is free at once: the same bridge can be made again right away
netlink.bridge_create("br-d", mtu=1500, addresses=["10.21.0.1/24"])
out['again'] = netlink.link_exists("br-d")
netlink.bridge_delete("br-d")
netlink.bridge_delete("br-d")                # already gone: success
out['refused'] = err(netlink.bridge_delete, "lo")
out['left'] = netlink.link_exists("br-d")
""",
    )
    assert out.pop("pyroute2") is False
    assert out == {
        "ports": True,
        "gone": True,
        "again": True,
        "refused": ["Unsupported", "failed to delete link lo: not supported by this kernel"],
        "left": False,
    }
    assert "br-d" not in {link["ifname"] for link in host.ip_json("link")}
    assert not [a for a in host.ip_json("addr") if a["ifname"] == "br-d"]


def test_uplink_mtu_follows_the_default_route(host: Host) -> None:
    host.sh(
        "ip link add up0 mtu 1450 type veth peer name up1 && ip link set up0 up && ip link set up1 up"
        " && ip addr add 192.0.2.1/24 dev up0"
    )
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n")["mtu"] == 1500  # no default route
    host.sh("ip route add default via 192.0.2.2 dev up0")
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n") == {"mtu": 1450, "pyroute2": False}
    host.sh("ip link set up0 mtu 1200")  # below IPv6's minimum: not a usable uplink MTU
    assert py(host, "out['mtu'] = netlink.uplink_mtu(1500)\n")["mtu"] == 1500


def test_uplink_mtu_is_the_lowest_metric_default_routes_even_past_other_routes(host: Host) -> None:
    # the FIB's answer for a probe address is used only when it is a main-table default
    # route: a route covering the probe (or a local address) falls back to the scan
    host.sh(
        "for i in 0 1 2; do ip link add up$i mtu $((1400 + 10 * i)) type veth peer name pe$i"
        " && ip link set up$i up && ip link set pe$i up && ip addr add 192.0.$i.1/24 dev up$i; done"
        " && ip route add default via 192.0.0.2 dev up0 metric 200"
        " && ip route add default via 192.0.1.2 dev up1 metric 100"
    )
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n")["mtu"] == 1410  # metric 100 wins
    host.sh("ip route add 198.51.100.0/24 via 192.0.2.2 dev up2")  # covers the probe
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n")["mtu"] == 1410
    host.sh("ip route del 198.51.100.0/24 && ip addr add 198.51.100.1/32 dev up2")  # local
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n")["mtu"] == 1410
    host.sh("ip route del default via 192.0.1.2 dev up1 metric 100")
    assert py(host, "out['mtu'] = netlink.uplink_mtu()\n")["mtu"] == 1400  # positive control


def test_raw_and_pyroute2_sockets_side_by_side(host: Host) -> None:
    sb = sandbox_path(host)
    out = py(
        host,
        SETUP
        + """
netlink.sandbox_set_mac(sb, "eth0", "02:42:0a:14:00:09")        # pyroute2, forked netns socket
netlink.close_all()                                              # as before forking a container
netlink.sandbox_interface_up(sb, "eth0", addresses=["10.20.0.3/24"])   # raw, reopened
out['index'] = netlink.link_index("eth0", sb)
out['kind'] = netlink.link_kind("vethT")                          # pyroute2 again
netlink.netns_delete(sb)
""",
        sb=sb,
    )
    assert out["kind"] == "veth" and out["index"] > 1
    host.sh("ip link del br-t")

"""pynet's nftables firewall on a real kernel, inside throwaway namespaces.

Topology (all made here, removed by the harness): a "host" netns with a LAN peer on
198.51.100.0/24 (host .1 and .3 on ``lan0``, peer .2); inside the host, bridges and
veths made by hand as the bridge driver would, each "container" its own netns. The
firewall functions run inside the host netns (``nsenter --net=``, a runner script);
every claim is proved by a random token crossing — or not crossing — a TCP/UDP
connection, checked in the server's own log.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import harness
from pynet.records.model import Endpoint, IPAMPool, Network, PortBinding, to_dict

pytestmark = pytest.mark.integration

PY = sys.executable
ALLOW_CMD = "pynet system firewall-allow-docker"

RUNNER = r"""
import json, sys
from pynet.records.model import Endpoint, Network, PortBinding, from_dict
from pynet.firewall import policy as fw
from pynet.errors import PynetError

class Log:
    def __init__(self): self.items = []
    def add(self, r): self.items.append(r)

def net(d): return from_dict(Network, d)
def ep(d): return from_dict(Endpoint, d)
def binds(ds): return [from_dict(PortBinding, d) for d in ds]

req = json.load(sys.stdin)
a, log, fn = req["args"], Log(), req["call"]
try:
    if fn == "setup_network": res = fw.setup_network(net(a["net"]), log)
    elif fn == "teardown_network": res = fw.teardown_network(net(a["net"]))
    elif fn == "publish": res = fw.publish(net(a["net"]), ep(a["ep"]), binds(a["bindings"]), log)
    elif fn == "unpublish": res = fw.unpublish(net(a["net"]), ep(a["ep"]), binds(a["bindings"]))
    elif fn == "allocate_host_ports":
        res = [vars(b) for b in fw.allocate_host_ports(binds(a["bindings"]), {tuple(x) for x in a["in_use"]})]
    elif fn == "reload":
        res = fw.reload([net(n) for n in a["networks"]],
                        [(net(n), ep(e), binds(b)) for n, e, b in a["published"]])
    elif fn == "undo_resource": res = fw.undo_resource(a["resource"])
    elif fn == "foreign_warnings": res = fw.foreign_warnings()
    elif fn == "allow_docker_user": res = fw.allow_docker_user([net(n) for n in a["networks"]])
    else: raise SystemExit("unknown call " + fn)
    print(json.dumps({"result": res, "undo": log.items}))
except PynetError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": exc.message}))
"""

SERVER = r"""
import socket, sys, threading
ip, port, proto, name, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
log = open(logfile, "a", buffering=1)
if proto == "tcp":
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((ip, port)); s.listen(16)
    log.write("READY\n")
    def serve(c, peer):
        c.settimeout(3)
        try:
            data = c.recv(256).decode().strip()
            log.write(f"{data} {peer[0]}\n")
            c.sendall(f"{name} {peer[0]} {data}\n".encode())
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
else:
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((ip, port))
    log.write("READY\n")
    while True:
        data, peer = s.recvfrom(512)
        text = data.decode(errors="replace").strip()
        log.write(f"{text} {peer[0]}\n")
        s.sendto(f"{name} {peer[0]} {text}\n".encode(), peer)
"""

# Sends one UDP datagram as a raw Ethernet frame: reaches a destination no route allows
# (127.0.0.1 on another machine), like an attacker on the LAN would.
INJECT = r"""
import socket, struct, sys
ifname, dst_mac, src_ip, dst_ip, dport, payload = sys.argv[1:7]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
data = (payload + "\n").encode()
udp = struct.pack("!HHHH", 40000, int(dport), 8 + len(data), 0) + data
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                  socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
src_mac = s.getsockname()[4]
frame = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\x08\x00" + hdr + udp
for _ in range(3):
    s.send(frame)
"""


# -- the topology ----------------------------------------------------------------------


@dataclass
class Ctr:
    """A hand-made "container": its netns, its endpoint record, its servers' logs."""

    ns: harness.Netns
    ep: Endpoint
    ip: str
    ip6: str = ""
    logs: dict[str, Path] = field(default_factory=dict)

    def serve(self, topo: Topo, port: int, proto: str = "tcp", ip: str = "") -> None:
        log = topo.root / f"{self.ns.name}-{proto}{port}{'-6' if ':' in ip else ''}.log"
        self.ns.spawn(PY, topo.script("server", SERVER), ip or "0.0.0.0", port, proto, self.ep.name, log)
        harness.wait_for(
            lambda: log.exists() and "READY" in log.read_text(),
            timeout=10,
            desc=f"server {self.ep.name} {proto}/{port}",
        )
        self.logs[f"{proto}{port}{'-6' if ':' in ip else ''}"] = log

    def got(self, token: str) -> bool:
        """Did any of this container's servers receive ``token``?"""
        return any(token in p.read_text() for p in self.logs.values())


class Topo:
    """Bridges, containers and the firewall runner inside one Host."""

    def __init__(self, host: harness.Host, peer: harness.Peer, root: Path) -> None:
        self.host, self.peer, self.root = host, peer, root
        self._n = 0

    def script(self, name: str, text: str) -> Path:
        path = self.root / f"{name}.py"
        if not path.exists():
            path.write_text(text)
        return path

    # records and kernel objects ---------------------------------------------------------
    def network(
        self, tag: str, octet: int, *, internal: bool = False, options: dict | None = None, ipv6: bool = False
    ) -> Network:
        br = f"br-fw{tag}"
        pools = [IPAMPool(subnet=f"10.{octet}.0.0/24", gateway=f"10.{octet}.0.1")]
        self.host.sh(f"ip link add {br} type bridge && ip addr add 10.{octet}.0.1/24 dev {br} && ip link set {br} up")
        if ipv6:
            pools.append(IPAMPool(subnet=f"fd00:{octet}::/64", gateway=f"fd00:{octet}::1"))
            self.host.sh(f"ip addr add fd00:{octet}::1/64 dev {br} nodad")
        return Network(
            id=secrets.token_hex(32),
            name=f"net{tag}",
            driver="bridge",
            created="",
            internal=internal,
            enable_ipv6=ipv6,
            ipam_config=pools,
            options=dict(options or {}),
            driver_data={"bridge": br},
        )

    def container(self, net: Network, host_part: int, name: str) -> Ctr:
        self._n += 1
        ns = harness.Netns(self.root / f"ctr-{name}")
        self.host.peers.append(ns)  # type: ignore[arg-type]  # the host cleans it up
        pool = net.ipam_config[0]
        prefix = pool.subnet.rsplit(".", 1)[0]
        ip, veth, br = f"{prefix}.{host_part}", f"vethfw{self._n}", net.driver_data["bridge"]
        h = ["ip", "-n", self.host.name]
        harness.run([*h, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns.name])
        harness.run([*h, "link", "set", veth, "master", br, "up"])
        harness.run([*h, "link", "set", veth, "type", "bridge_slave", "hairpin", "on"])
        ns.sh(f"ip addr add {ip}/24 dev eth0 && ip link set eth0 up && ip route add default via {pool.gateway}")
        ip6 = ""
        if net.enable_ipv6:
            ip6 = f"{net.ipam_config[1].gateway[:-1]}{host_part}"
            ns.sh(f"ip addr add {ip6}/64 dev eth0 nodad && ip -6 route add default via {net.ipam_config[1].gateway}")
        ep = Endpoint(
            id=secrets.token_hex(32),
            network_id=net.id,
            container_id=secrets.token_hex(32),
            name=name,
            ifname="eth0",
            ipv4=f"{ip}/24",
            ipv6=f"{ip6}/64" if ip6 else "",
            gateway=pool.gateway,
            driver_data={"host_ifname": veth},
        )
        return Ctr(ns=ns, ep=ep, ip=ip, ip6=ip6)

    # the firewall API, run inside the host netns ------------------------------------------
    def call(self, fn: str, **args: Any) -> dict:
        cp = self.host.sh(PY, self.script("runner", RUNNER), input=json.dumps({"call": fn, "args": args}), timeout=60)
        return json.loads(cp.stdout.strip().splitlines()[-1])

    def ok(self, fn: str, **args: Any) -> Any:
        out = self.call(fn, **args)
        assert "error" not in out, out
        return out["result"]

    def setup(self, net: Network) -> list[str]:
        return self.ok("setup_network", net=to_dict(net))

    def teardown(self, net: Network) -> None:
        self.ok("teardown_network", net=to_dict(net))

    def publish(self, net: Network, ctr: Ctr, bindings: list[PortBinding]) -> list[dict]:
        out = self.call("publish", net=to_dict(net), ep=to_dict(ctr.ep), bindings=[to_dict(b) for b in bindings])
        assert "error" not in out, out
        return out["undo"]

    def unpublish(self, net: Network, ctr: Ctr, bindings: list[PortBinding]) -> None:
        self.ok("unpublish", net=to_dict(net), ep=to_dict(ctr.ep), bindings=[to_dict(b) for b in bindings])

    # traffic ------------------------------------------------------------------------------
    def talk(self, src: harness.Netns, ip: str, port: int, proto: str = "tcp", timeout: float = 4.0) -> str | None:
        """Send a fresh token from ``src``; the reply line when it came back with it, else None.

        A success returns at once; the timeout is generous for a loaded machine."""
        token = secrets.token_hex(8)
        cp = src.sh(
            PY, harness.token_client(self.root), ip, port, proto, token, timeout, check=False, timeout=timeout * 4 + 10
        )
        reply = cp.stdout.strip()
        self.last_token = token
        return reply if cp.returncode == 0 and reply.endswith(token) else None

    def blocked(self, src: harness.Netns, ip: str, port: int, target: Ctr, proto: str = "tcp") -> bool:
        """No reply AND the target's servers never saw the token."""
        reply = self.talk(src, ip, port, proto, timeout=2.0)
        time.sleep(0.2)
        return reply is None and not target.got(self.last_token)

    def nft_json(self, what: str) -> list[dict]:
        out = self.host.sh(f"nft -j list {what}", check=False).stdout
        return json.loads(out)["nftables"] if out.strip() else []

    def elements(self, set_name: str) -> list[Any]:
        for obj in self.nft_json("table inet pynet"):
            body = obj.get("set") or obj.get("map")
            if body and body["name"] == set_name:
                return body.get("elem", [])
        return []

    def ruleset(self) -> str:
        return self.host.sh("nft list ruleset").stdout


@pytest.fixture
def topo(host: harness.Host, lan_peer: Any, tmp_path: Path) -> Topo:
    if harness.run(["sh", "-c", "command -v nft"], check=False).returncode != 0:
        pytest.skip("nft is not installed")
    peer = lan_peer(host)
    host.sh("ip addr add 198.51.100.3/24 dev lan0")
    return Topo(host, peer, tmp_path)


def _brnf_available(host: harness.Host) -> bool:
    return host.sh("test -w /proc/sys/net/bridge/bridge-nf-call-iptables", check=False).returncode == 0


def set_br_netfilter(host: harness.Host, value: str) -> None:
    """bridge-nf-call-ip(6)tables=value in the host's own netns (the sysctls are per netns).

    For "1" the br_netfilter module is loaded when the kernel has it as a module (Debian's
    stock kernel): loading is host-wide but leaves every other namespace's config alone.
    """
    if value == "1" and not _brnf_available(host):
        harness.load_kernel_module("br_netfilter")
    if _brnf_available(host):
        host.sh(f"sysctl -qw net.bridge.bridge-nf-call-iptables={value} net.bridge.bridge-nf-call-ip6tables={value}")
    elif value == "1":
        pytest.skip("this kernel has no br_netfilter (neither built in nor loadable)")


# -- masquerade, forwarding, isolation -------------------------------------------------


def test_masquerade_and_ip_forward_notice(topo: Topo) -> None:
    topo.host.sh("sysctl -qw net.ipv4.ip_forward=0")
    net = topo.network("a", 81)
    a1 = topo.container(net, 2, "a1")
    srv = Ctr(ns=topo.peer, ep=Endpoint(id="p", network_id="", container_id="", name="peer"), ip=topo.peer.ip)
    srv.serve(topo, 7000)

    notices = topo.setup(net)
    assert any("net.ipv4.ip_forward=1" in n for n in notices), notices
    assert topo.host.sh("cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    reply = topo.talk(a1.ns, topo.peer.ip, 7000)
    # the peer has no route back to 10.81.0.0/24: it answered the host's LAN address
    assert reply is not None and reply.split()[1] == "198.51.100.1", reply

    rules_before = topo.ruleset()
    assert not any("ip_forward" in n for n in topo.setup(net))  # idempotent, no notice
    assert topo.ruleset() == rules_before
    topo.teardown(net)


def test_isolation_between_bridges_ipv4_and_ipv6(topo: Topo) -> None:
    topo.host.sh("sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1")
    na, nb = topo.network("a", 81, ipv6=True), topo.network("b", 82, ipv6=True)
    a1, a2, b1 = topo.container(na, 2, "a1"), topo.container(na, 3, "a2"), topo.container(nb, 2, "b1")
    for c in (a1, a2, b1):
        c.serve(topo, 80)
        c.serve(topo, 53, "udp")
        c.serve(topo, 80, ip="::")
    pairs = ((a1, b1), (b1, a1), (b1, a2))
    # control: without the firewall the host routes between the bridges, every probe passes
    for src, dst in pairs:
        assert topo.talk(src.ns, dst.ip, 80) and topo.talk(src.ns, dst.ip, 53, "udp"), src.ep.name
        assert topo.talk(src.ns, dst.ip6, 80), f"{src.ep.name} tcp6"
    topo.setup(na)
    topo.setup(nb)
    # control: the same bridge talks
    assert topo.talk(a1.ns, a2.ip, 80) and topo.talk(a1.ns, a2.ip6, 80)
    for src, dst in pairs:
        assert topo.blocked(src.ns, dst.ip, 80, dst), f"{src.ep.name} -> {dst.ep.name} tcp"
        assert topo.blocked(src.ns, dst.ip, 53, dst, "udp"), f"{src.ep.name} -> {dst.ep.name} udp"
        assert topo.blocked(src.ns, dst.ip6, 80, dst), f"{src.ep.name} -> {dst.ep.name} tcp6"


@pytest.mark.parametrize("brnf", ["0", "1"], ids=["no-br_netfilter", "br_netfilter"])
def test_icc_false_blocks_containers_on_the_same_bridge(topo: Topo, brnf: str) -> None:
    set_br_netfilter(topo.host, brnf)
    net = topo.network("c", 83, options={"com.docker.network.bridge.enable_icc": "false"})
    c1, c2 = topo.container(net, 2, "c1"), topo.container(net, 3, "c2")
    c2.serve(topo, 80)
    c2.serve(topo, 53, "udp")
    peer = Ctr(ns=topo.peer, ep=Endpoint(id="p", network_id="", container_id="", name="peer"), ip=topo.peer.ip)
    peer.serve(topo, 7000)
    assert topo.talk(c1.ns, c2.ip, 80), "control: without the firewall c1 reaches c2"
    assert topo.talk(c1.ns, c2.ip, 53, "udp"), "control: udp too"
    topo.setup(net)
    assert topo.blocked(c1.ns, c2.ip, 80, c2)
    assert topo.blocked(c1.ns, c2.ip, 53, c2, "udp")
    assert topo.talk(c1.ns, topo.peer.ip, 7000), "icc=false still reaches outside"
    topo.teardown(net)
    assert topo.talk(c1.ns, c2.ip, 80), "teardown lifts the icc drop"


def test_internal_network_has_no_way_in_or_out(topo: Topo) -> None:
    topo.host.sh("sysctl -qw net.ipv4.ip_forward=1")
    net = topo.network("i", 84, internal=True)
    i1 = topo.container(net, 2, "i1")
    i1.serve(topo, 80)
    peer = Ctr(ns=topo.peer, ep=Endpoint(id="p", network_id="", container_id="", name="peer"), ip=topo.peer.ip)
    peer.serve(topo, 7000)
    topo.peer.sh("ip route add 10.84.0.0/24 via 198.51.100.1")
    assert topo.talk(topo.peer, i1.ip, 80), "control: routed peer reaches i1 without the firewall"
    assert topo.talk(i1.ns, topo.peer.ip, 7000), "control: i1 reaches outside without the firewall"

    notices = topo.setup(net)
    assert not any("ip_forward" in n for n in notices)
    assert topo.elements("masq4") == []
    assert topo.elements("internal") == ["br-fwi"]
    assert topo.blocked(i1.ns, topo.peer.ip, 7000, peer), "internal reaches outside"
    assert topo.blocked(topo.peer, i1.ip, 80, i1), "outside reaches internal"
    # publishing on an internal network installs nothing
    topo.publish(net, i1, [PortBinding(80, "tcp", "", 8080)])
    assert topo.elements("pub4_any") == []
    topo.teardown(net)


# -- published ports -------------------------------------------------------------------


@pytest.fixture
def published(topo: Topo) -> dict[str, Any]:
    """Net A (a1 serves, a2 client) + net B (b1 client); a1 published several ways."""
    na, nb = topo.network("a", 81), topo.network("b", 82)
    a1, a2, b1 = topo.container(na, 2, "a1"), topo.container(na, 3, "a2"), topo.container(nb, 2, "b1")
    a1.serve(topo, 80)
    a1.serve(topo, 81)
    a1.serve(topo, 90, "udp")
    topo.setup(na)
    topo.setup(nb)
    specs = [
        PortBinding(80, "tcp", "", 8080),
        PortBinding(90, "udp", "127.0.0.1", 9090),
        PortBinding(80, "tcp", "198.51.100.3", 8081),
        PortBinding(90, "udp", "", 9092),
        PortBinding(80, "tcp", "", 0),
    ]
    bindings = [
        PortBinding(**b) for b in topo.ok("allocate_host_ports", bindings=[to_dict(b) for b in specs], in_use=[])
    ]
    undo = topo.publish(na, a1, bindings)
    return {"na": na, "nb": nb, "a1": a1, "a2": a2, "b1": b1, "bindings": bindings, "undo": undo}


@pytest.mark.parametrize("brnf", ["0", "1"], ids=["no-br_netfilter", "br_netfilter"])
def test_published_port_reachable_from_lan_host_and_hairpin(topo: Topo, published: dict, brnf: str) -> None:
    set_br_netfilter(topo.host, brnf)
    a1, a2, b1 = published["a1"], published["a2"], published["b1"]
    random_port = published["bindings"][-1].host_port
    assert 49153 <= random_port <= 65535
    reply = topo.talk(topo.peer, "198.51.100.1", 8080)
    assert reply and reply.split()[:2] == ["a1", topo.peer.ip], reply  # client address kept
    assert topo.talk(topo.peer, "198.51.100.1", random_port)
    assert topo.talk(topo.peer, "198.51.100.1", 9092, "udp")
    # from the host itself, including loopback
    for ip in ("127.0.0.1", "198.51.100.1", "10.81.0.1"):
        assert topo.talk(topo.host, ip, 8080), f"host -> {ip}:8080"
    assert topo.talk(topo.host, "127.0.0.1", 9090, "udp")
    # hairpin: via the host's LAN address, from the same bridge, another network, itself
    for src in (a2, b1, a1):
        assert topo.talk(src.ns, "198.51.100.1", 8080), f"hairpin from {src.ep.name}"


def test_published_port_over_ipv6(topo: Topo) -> None:
    topo.host.sh("sysctl -qw net.ipv6.conf.all.forwarding=1 && ip addr add fd00:ff::1/64 dev lan0 nodad")
    topo.peer.sh("ip addr add fd00:ff::2/64 dev eth0 nodad")
    net = topo.network("a", 81, ipv6=True)
    a1 = topo.container(net, 2, "a1")
    a1.serve(topo, 80, ip="::")
    a1.serve(topo, 81, ip="::")
    topo.peer.sh("ip -6 route add fd00:81::/64 via fd00:ff::1")
    assert topo.talk(topo.peer, a1.ip6, 81), "control: routed to without the firewall"
    topo.setup(net)
    topo.publish(net, a1, [PortBinding(80, "tcp", "", 8080)])
    reply = topo.talk(topo.peer, "fd00:ff::1", 8080)
    assert reply and reply.split()[1] == "fd00:ff::2", reply
    assert topo.blocked(topo.peer, a1.ip6, 81, a1), "unpublished IPv6 port reached by routing"
    topo.teardown(net)


def test_port_bound_to_one_host_ip_only(topo: Topo, published: dict) -> None:
    a1 = published["a1"]
    assert topo.talk(topo.peer, "198.51.100.3", 8081)
    assert topo.blocked(topo.peer, "198.51.100.1", 8081, a1)
    assert topo.talk(topo.peer, "198.51.100.3", 9092, "udp"), "control: udp/90 on all addresses"
    assert topo.blocked(topo.peer, "198.51.100.3", 9090, a1, "udp")


def test_loopback_publish_not_reachable_from_lan(topo: Topo, published: dict) -> None:
    a1 = published["a1"]
    mac = topo.host.ip_json("link", "show", "lan0")[0]["address"]
    inject = topo.script("inject", INJECT)

    def sent(dst: str, port: int) -> bool:
        token = secrets.token_hex(8)
        topo.peer.sh(PY, inject, "eth0", mac, topo.peer.ip, dst, port, token)
        time.sleep(0.5)
        return a1.got(token)

    assert sent("198.51.100.1", 9092), "control: an injected datagram to a published port arrives"
    assert not sent("127.0.0.1", 9090), "127.0.0.1-only port reached from the LAN"
    assert not sent("127.0.0.1", 9092), "a port on all addresses reached via 127.0.0.1 from the LAN"
    # also with a plain route to 127.0.0.0/8 via the host (no loopback route on the peer)
    topo.peer.sh("ip rule add pref 10 to 127.0.0.0/8 lookup 100 && ip route add 127.0.0.0/8 via 198.51.100.1 table 100")
    assert topo.blocked(topo.peer, "127.0.0.1", 9090, a1, "udp")


def test_unpublished_and_direct_routing_blocked(topo: Topo, published: dict) -> None:
    a1, a2 = published["a1"], published["a2"]
    topo.peer.sh("ip route add 10.81.0.0/24 via 198.51.100.1")
    # controls: a1 answers on 80 and 81, and the peer reaches 80 through the published port
    assert topo.talk(a2.ns, a1.ip, 81) and topo.talk(a2.ns, a1.ip, 80)
    assert topo.talk(topo.peer, "198.51.100.1", 8080)
    assert topo.blocked(topo.peer, a1.ip, 81, a1), "unpublished port reached by routing"
    assert topo.blocked(topo.peer, a1.ip, 80, a1), "container address reached by routing"
    assert topo.blocked(topo.peer, "198.51.100.1", 81, a1)


def test_unpublish_removes_exactly_the_bindings(topo: Topo, published: dict) -> None:
    na, a1, bindings = published["na"], published["a1"], published["bindings"]
    assert topo.talk(topo.peer, "198.51.100.1", 8080), "control: published"
    topo.unpublish(na, a1, bindings[:1])
    assert topo.blocked(topo.peer, "198.51.100.1", 8080, a1)
    assert topo.talk(topo.peer, "198.51.100.3", 8081), "other bindings stay"
    topo.unpublish(na, a1, bindings[:1])  # idempotent
    topo.unpublish(na, a1, bindings)
    for name in ("pub4_any", "pub4_ip", "lo_pub4"):
        assert topo.elements(name) == [], name


def test_undo_of_publish_removes_it(topo: Topo, published: dict) -> None:
    assert topo.talk(topo.peer, "198.51.100.1", 8080), "control: published"
    for res in published["undo"]:
        topo.ok("undo_resource", resource=res)
    assert topo.elements("pub4_any") == []
    assert topo.blocked(topo.peer, "198.51.100.1", 8080, published["a1"])
    assert sorted(topo.elements("bridges")) == ["br-fwa", "br-fwb"]


def test_port_conflicts(topo: Topo, published: dict) -> None:
    in_use = [[b.host_ip, b.proto, b.host_port] for b in published["bindings"]]
    out = topo.call("allocate_host_ports", bindings=[to_dict(PortBinding(80, "tcp", "", 8080))], in_use=in_use)
    assert out == {"error": "Conflict", "message": "Bind for 0.0.0.0:8080 failed: port is already allocated"}
    out = topo.call("allocate_host_ports", bindings=[to_dict(PortBinding(80, "tcp", "127.0.0.1", 8081))], in_use=in_use)
    assert out["result"][0]["host_port"] == 8081  # 8081 is bound to another address only
    # a host process holding a port
    topo.host.spawn(
        PY,
        "-c",
        "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 7777)); s.listen(); "
        "u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 49153)); time.sleep(60)",
    )
    harness.wait_for(lambda: ":1E61 " in topo.host.sh("cat /proc/net/tcp").stdout, desc="listener")
    out = topo.call("allocate_host_ports", bindings=[to_dict(PortBinding(80, "tcp", "", 7777))], in_use=[])
    assert out == {
        "error": "Conflict",
        "message": "Error starting userland proxy: listen tcp4 0.0.0.0:7777: bind: address already in use",
    }
    out = topo.ok("allocate_host_ports", bindings=[to_dict(PortBinding(90, "udp", "", 0))], in_use=[["", "udp", 49154]])
    assert out[0]["host_port"] == 49155
    # the kernel refuses a second mapping of a published key (another container)
    a2 = published["a2"]
    out = topo.call(
        "publish", net=to_dict(published["na"]), ep=to_dict(a2.ep), bindings=[to_dict(PortBinding(80, "tcp", "", 8080))]
    )
    assert out == {"error": "Conflict", "message": "Bind for 0.0.0.0:8080 failed: port is already allocated"}
    assert topo.talk(topo.peer, "198.51.100.1", 8080).startswith("a1 "), "first owner keeps the port"


# -- reload, teardown, foreign tables --------------------------------------------------


def test_flush_and_reload_restores_current_state_only(topo: Topo) -> None:
    net = topo.network("a", 81)
    a1, a2 = topo.container(net, 2, "a1"), topo.container(net, 3, "a2")
    a1.serve(topo, 80)
    a2.serve(topo, 80)
    topo.setup(net)
    b1, b2 = [PortBinding(80, "tcp", "", 8080)], [PortBinding(80, "tcp", "", 8082)]
    topo.publish(net, a1, b1)
    topo.publish(net, a2, b2)
    assert topo.talk(topo.peer, "198.51.100.1", 8082)

    topo.host.sh("nft flush ruleset")
    assert topo.blocked(topo.peer, "198.51.100.1", 8080, a1)
    topo.peer.sh("ip route add 10.81.0.0/24 via 198.51.100.1")
    assert topo.talk(topo.peer, a1.ip, 80), "control: with no rules at all, routing reaches a1"
    # a2 was removed meanwhile: the records given to reload are the current state
    topo.ok("reload", networks=[to_dict(net)], published=[[to_dict(net), to_dict(a1.ep), [to_dict(b) for b in b1]]])
    assert topo.talk(topo.peer, "198.51.100.1", 8080)
    assert topo.blocked(topo.peer, "198.51.100.1", 8082, a2)
    assert len(topo.elements("pub4_any")) == 1
    assert topo.blocked(topo.peer, a1.ip, 80, a1), "protection is back too"


FOREIGN = """table ip filter {
\tchain DOCKER-USER {
\t\treturn
\t}

\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t\tjump DOCKER-USER
\t}
}
"""


def test_foreign_drop_policy_warned_untouched_and_opt_in(topo: Topo) -> None:
    topo.host.env["PYNET_FOREIGN_FIREWALL"] = "manual"  # the automatic rules: test_docker_coexistence.py
    topo.host.sh("nft -f -", input=FOREIGN)
    before = topo.ruleset()
    net = topo.network("a", 81)
    a1 = topo.container(net, 2, "a1")
    a1.serve(topo, 80)
    peer = Ctr(ns=topo.peer, ep=Endpoint(id="p", network_id="", container_id="", name="peer"), ip=topo.peer.ip)
    peer.serve(topo, 7000)
    notices = topo.setup(net)
    warning = [n for n in notices if "table ip filter chain FORWARD" in n]
    assert warning and ALLOW_CMD in warning[0] and "policy drop" in warning[0], notices
    assert topo.ok("foreign_warnings") == warning
    assert topo.host.sh("nft list table ip filter").stdout == FOREIGN, "foreign table changed"
    assert topo.blocked(a1.ns, topo.peer.ip, 7000, peer), "control: Docker's policy drops pynet's traffic"

    msgs = topo.ok("allow_docker_user", networks=[to_dict(net)])
    assert msgs and "DOCKER-USER" in msgs[0]
    assert topo.ok("allow_docker_user", networks=[to_dict(net)]) != msgs  # idempotent: nothing added
    assert topo.talk(a1.ns, topo.peer.ip, 7000)
    topo.publish(net, a1, [PortBinding(80, "tcp", "", 8080)])
    assert topo.talk(topo.peer, "198.51.100.1", 8080)

    topo.teardown(net)
    assert topo.ruleset() == before, "teardown left something in the ruleset"


def test_teardown_and_undo_restore_the_ruleset(topo: Topo) -> None:
    topo.host.sh("nft add table ip other && nft add chain ip other c '{ type filter hook input priority 10; }'")
    before = topo.ruleset()
    na = topo.network("a", 81, options={"com.docker.network.bridge.enable_icc": "false"})
    nb = topo.network("b", 82, ipv6=True)
    a1 = topo.container(na, 2, "a1")
    topo.setup(na)
    topo.setup(nb)
    topo.publish(na, a1, [PortBinding(80, "tcp", "", 8080), PortBinding(90, "udp", "127.0.0.1", 9090)])
    assert "table bridge pynet" in topo.ruleset()
    topo.teardown(na)
    assert "table bridge pynet" not in topo.ruleset()
    assert topo.elements("pub4_any") == [] and topo.elements("lo_pub4") == []  # stale sweep
    topo.teardown(nb)
    assert topo.ruleset() == before
    topo.teardown(nb)  # idempotent
    assert topo.ruleset() == before

    # the undo log of a network setup removes it just the same
    undo = topo.call("setup_network", net=to_dict(na))["undo"]
    assert undo and undo[0]["kind"] == "nft"
    for res in reversed(undo):
        topo.ok("undo_resource", resource=res)
    assert topo.ruleset() == before


# -- system firewall-reload against the CLI's state ---------------------------------------


def _set_members(host: harness.Host, name: str) -> list[Any]:
    data = json.loads(host.sh(f"nft -j list set inet pynet {name}").stdout)["nftables"]
    return [e for o in data if "set" in o for e in o["set"].get("elem", [])]


def _map_members(host: harness.Host, name: str) -> list[Any]:
    data = json.loads(host.sh(f"nft -j list map inet pynet {name}").stdout)["nftables"]
    return [e for o in data if "map" in o for e in o["map"].get("elem", [])]


def _fetch(ns: harness.Netns, ip: str, port: int) -> str:
    cp = ns.sh("socat", "-T2", "-", f"TCP:{ip}:{port},connect-timeout=2", check=False, timeout=10)
    return cp.stdout.strip()


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


def test_firewall_reload_reads_state_under_the_lock(topo: Topo) -> None:
    """A container removed while reload waits for the lock does not get its DNAT back."""
    import os
    import signal

    host, peer = topo.host, topo.peer
    host.pynet("network", "create", "--subnet", "10.91.0.0/24", "n")
    host.pynet("run", "-d", "--name", "ra", "-p", "8080:80", "--network", "n", "sleep", "300")
    ip_a = host.pynet("inspect", "-f", "{{.NetworkSettings.Networks.n.IPAddress}}", "ra").stdout.strip()
    assert len(_map_members(host, "pub4_any")) == 1

    # reload stops itself right before it takes the lock; meanwhile `a` goes and `b` gets its address
    reload = host.spawn(PY, "-m", "pynet", "system", "firewall-reload", env={"PYNET_FAULT_STOP": "admin_lock"})
    try:
        harness.wait_for(lambda: _process_state(reload.pid) == "T", timeout=30, desc="reload paused")
        host.pynet("rm", "-f", "ra")
        token_b = secrets.token_hex(6)
        host.pynet(
            "run",
            "-d",
            "--name",
            "rb",
            "--network",
            "n",
            "--ip",
            ip_a,
            "socat",
            "TCP-LISTEN:80,reuseaddr,fork",
            f"SYSTEM:echo {token_b}",
        )
        assert host.pynet("inspect", "-f", "{{.NetworkSettings.Networks.n.IPAddress}}", "rb").stdout.strip() == ip_a
    finally:
        os.kill(reload.pid, signal.SIGCONT)
    assert reload.wait(timeout=60) == 0, reload.log.read_text()  # type: ignore[attr-defined]

    assert _map_members(host, "pub4_any") == [], "reload brought back the removed container's DNAT"
    harness.wait_for(lambda: _fetch(host, ip_a, 80) == token_b, timeout=10, desc="b serves on its own address")
    assert _fetch(peer, peer.host_ip, 8080) != token_b, "b answers on a port it never published"
    # control: a port that IS published is reached from the LAN peer after the reload
    token_c = secrets.token_hex(6)
    host.pynet(
        "run",
        "-d",
        "--name",
        "rc",
        "-p",
        "8081:80",
        "--network",
        "n",
        "socat",
        "TCP-LISTEN:80,reuseaddr,fork",
        f"SYSTEM:echo {token_c}",
    )
    host.pynet("system", "firewall-reload")
    harness.wait_for(lambda: _fetch(peer, peer.host_ip, 8081) == token_c, timeout=10, desc="published port")
    assert _fetch(peer, peer.host_ip, 8080) != token_b
    host.pynet("rm", "-f", "rb", "rc")
    host.pynet("network", "rm", "n")


def test_firewall_reload_skips_a_default_bridge_that_does_not_exist(topo: Topo) -> None:
    host = topo.host
    net_id = host.pynet("network", "create", "n").stdout.strip()
    assert host.sh("ip link show pynet0", check=False).returncode != 0  # no container on it yet
    host.pynet("system", "firewall-reload")
    assert _set_members(host, "bridges") == [f"br-{net_id[:12]}"]
    assert "pynet0" not in topo.ruleset()
    # control: once the default bridge exists, reload gives it its rules
    host.pynet("run", "-d", "--name", "dflt", "sleep", "300")
    host.pynet("system", "firewall-reload")
    assert sorted(_set_members(host, "bridges")) == sorted([f"br-{net_id[:12]}", "pynet0"])
    host.pynet("rm", "-f", "dflt")
    host.pynet("network", "rm", "n")


def _lock_is_free(host: harness.Host) -> bool:
    import fcntl
    import os

    fd = os.open(host.state_dir / "pynet.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (closing drops the lock when we got it)
    return True


def test_system_reset_holds_the_lock_to_its_end(topo: Topo) -> None:
    """A container started while reset runs keeps its helper (DNS): reset's teardown waits no more."""
    import os
    import signal

    host = topo.host
    host.pynet("network", "create", "n")
    host.pynet("run", "-d", "--name", "early", "--network", "n", "sleep", "300")
    reset = host.spawn(PY, "-m", "pynet", "system", "reset", "-f", env={"PYNET_FAULT_STOP": "reset_teardown"})
    late = None
    try:
        harness.wait_for(lambda: _process_state(reset.pid) == "T", timeout=30, desc="reset paused")
        assert host.pynet("ps", "-aq").stdout == ""  # its containers are gone already
        assert not _lock_is_free(host), "reset left the lock before stopping the helper"
        late = host.spawn(
            "sh", "-c", f"{PY} -m pynet network create m && {PY} -m pynet run -d --name late --network m sleep 300"
        )
    finally:
        os.kill(reset.pid, signal.SIGCONT)
    assert reset.wait(timeout=60) == 0, reset.log.read_text()  # type: ignore[attr-defined]
    assert late.wait(timeout=60) == 0, late.log.read_text()  # type: ignore[attr-defined]
    # the late container came after the reset: its name resolves through a live helper
    host.pynet("exec", "late", "ping", "-c1", "-W2", "late")
    host.pynet("rm", "-f", "late")
    host.pynet("network", "rm", "m")

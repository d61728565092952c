"""Published ports through the CLI: `pynet run -p/-P`, `pynet port`, conflicts, removal, kill -9.

A throwaway host with a LAN peer (198.51.100.0/24: host ``lan0`` .1 and .3, peer .2). The
container's command is a small server (``SERVER``) answering on every port it was given
with its name, the client address it saw and the client's random token; the peer's client
(``harness.TOKEN_CLIENT``) sends the token and prints the reply. So "reachable" means a payload crossed
the published port both ways, and every "closed" is checked next to a probe that works.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import pytest

from harness import Host, Netns, Peer, token_client, wait_for

pytestmark = pytest.mark.integration

PY = sys.executable
HOST_IP, OTHER_HOST_IP, PEER_IP = "198.51.100.1", "198.51.100.3", "198.51.100.2"
KILLED = (-9, 137)

SERVER = r"""
import socket, sys, threading
name, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)

def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16)
    while True:
        c, peer = s.accept()
        c.settimeout(3)
        try:
            c.sendall(f"{name} {peer[0]} {c.recv(256).decode().strip()}\n".encode())
        except OSError:
            pass
        c.close()

def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(512)
        s.sendto(f"{name} {peer[0]} {data.decode().strip()}\n".encode(), peer)

threads = []
for spec in sys.argv[3:]:
    proto, port = spec.split("/")
    threads.append(threading.Thread(target=tcp if proto == "tcp" else udp, args=(int(port),), daemon=True))
for t in threads:
    t.start()
log.write("READY\n")
for t in threads:
    t.join()
"""


@pytest.fixture
def lan(host: Host, lan_peer) -> Peer:
    peer = lan_peer(host, "198.51.100.0/24")
    host.sh("ip", "addr", "add", f"{OTHER_HOST_IP}/24", "dev", "lan0")
    (host.root / "server.py").write_text(SERVER)
    return peer


def serve(host: Host, name: str, *run_args: str, ports: list[str]) -> None:
    """``pynet run -d --name NAME RUN_ARGS... SERVER`` answering on ``ports`` ("tcp/80")."""
    log = host.root / f"{name}.log"
    host.pynet("run", "-d", "--name", name, *run_args, PY, host.root / "server.py", name, log, *ports)
    wait_for(lambda: log.exists() and "READY" in log.read_text(), timeout=15, desc=f"server {name}")


def talk(host: Host, src: Netns, ip: str, port: int, proto: str = "tcp") -> list[str] | None:
    """[server name, client address it saw] when a fresh token went there and back, else None."""
    token = secrets.token_hex(8)
    timeout = 3 if proto == "tcp" else 1  # per connection / per datagram
    cp = src.sh(PY, token_client(host.root), ip, port, proto, token, timeout, check=False, timeout=20)
    words = cp.stdout.split()
    return words[:2] if cp.returncode == 0 and words[-1:] == [token] else None


def port_lines(host: Host, container: str, *spec: str) -> list[str]:
    return host.pynet("port", container, *spec).stdout.splitlines()


def published_elements(host: Host) -> list:
    """Every DNAT element in pynet's publish maps (empty when there is no table)."""
    cp = host.sh("nft", "-j", "list", "table", "inet", "pynet", check=False)
    if cp.returncode != 0:
        return []
    return [
        e
        for item in json.loads(cp.stdout)["nftables"]
        if "map" in item and item["map"]["name"].startswith("pub")
        for e in item["map"].get("elem", [])
    ]


def test_every_publish_form_is_reachable_from_the_lan(host: Host, lan: Peer) -> None:
    serve(
        host,
        "web",
        "-p",
        "8080:80",
        "-p",
        f"{HOST_IP}:8081:81",
        "-p",
        f"{HOST_IP}::82",
        "-p",
        "83",
        "-p",
        "9000-9001:90-91",
        "-p",
        "9090:90/udp",
        ports=["tcp/80", "tcp/81", "tcp/82", "tcp/83", "tcp/90", "tcp/91", "udp/90"],
    )
    random82 = int(port_lines(host, "web", "82")[0].rsplit(":", 1)[1])
    random83 = int(port_lines(host, "web", "83/tcp")[0].rsplit(":", 1)[1])
    assert 49153 <= random82 <= 65535 and 49153 <= random83 <= 65535 and random82 != random83
    assert port_lines(host, "web") == [
        "80/tcp -> 0.0.0.0:8080",
        "80/tcp -> [::]:8080",
        f"81/tcp -> {HOST_IP}:8081",
        f"82/tcp -> {HOST_IP}:{random82}",
        f"83/tcp -> 0.0.0.0:{random83}",
        f"83/tcp -> [::]:{random83}",
        "90/tcp -> 0.0.0.0:9000",
        "90/tcp -> [::]:9000",
        "90/udp -> 0.0.0.0:9090",
        "90/udp -> [::]:9090",
        "91/tcp -> 0.0.0.0:9001",
        "91/tcp -> [::]:9001",
    ]
    assert port_lines(host, "web", "90/udp") == ["0.0.0.0:9090", "[::]:9090"]

    # HOSTPORT:CPORT on every host address; the client's own address reaches the container
    assert talk(host, lan, HOST_IP, 8080) == ["web", PEER_IP]
    assert talk(host, lan, OTHER_HOST_IP, 8080) == ["web", PEER_IP]
    # IP:HOSTPORT:CPORT and IP::CPORT only on that address (the other one is the control above)
    assert talk(host, lan, HOST_IP, 8081) == ["web", PEER_IP]
    assert talk(host, lan, OTHER_HOST_IP, 8081) is None
    assert talk(host, lan, HOST_IP, random82) == ["web", PEER_IP]
    assert talk(host, lan, OTHER_HOST_IP, random82) is None
    # CPORT: a random host port on every address
    assert talk(host, lan, OTHER_HOST_IP, random83) == ["web", PEER_IP]
    # ranges map one to one
    assert talk(host, lan, HOST_IP, 9000) == ["web", PEER_IP]
    assert talk(host, lan, HOST_IP, 9001) == ["web", PEER_IP]
    # /udp: only UDP is published on 9090 (TCP 9090 is not; UDP 9090 is the control)
    assert talk(host, lan, HOST_IP, 9090, "udp") == ["web", PEER_IP]
    assert talk(host, lan, HOST_IP, 9090) is None
    # an unpublished container port stays closed from the LAN, though the server listens on it
    ip = host.pynet("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").stdout.strip()
    assert talk(host, host, ip, 81) == ["web", "172.17.0.1"]  # control: the server answers on 81
    assert talk(host, lan, HOST_IP, 81) is None


def test_publish_all_publishes_exposed_ports(host: Host, lan: Peer) -> None:
    serve(
        host,
        "exp",
        "-P",
        "--expose",
        "84",
        "--expose",
        "85/udp",
        "--expose",
        "86-87",
        ports=["tcp/84", "udp/85", "tcp/86", "tcp/87"],
    )
    lines = port_lines(host, "exp")
    bound = {line.split(" -> ")[0]: int(line.rsplit(":", 1)[1]) for line in lines if "0.0.0.0" in line}
    assert sorted(bound) == ["84/tcp", "85/udp", "86/tcp", "87/tcp"]
    tcp_ports = [p for spec, p in bound.items() if spec.endswith("/tcp")]
    assert all(49153 <= p <= 65535 for p in bound.values()) and len(set(tcp_ports)) == 3  # per protocol
    for spec, hostport in bound.items():
        proto = spec.split("/")[1]
        assert talk(host, lan, HOST_IP, hostport, proto) == ["exp", PEER_IP], spec
    # --expose without -P publishes nothing (and `port` says so), though the server listens
    serve(host, "quiet", "--expose", "84", ports=["tcp/84"])
    assert host.pynet("port", "quiet").stdout == ""
    assert host.pynet("inspect", "-f", "{{json .NetworkSettings.Ports}}", "quiet").stdout.strip() == '{"84/tcp":null}'


def test_a_port_taken_by_another_container_is_dockers_error(host: Host, lan: Peer) -> None:
    serve(host, "web", "-p", "8080:80", ports=["tcp/80"])
    before_links = {link["ifname"] for link in host.ip_json("link")}
    before_nft = published_elements(host)
    cp = host.pynet("run", "-d", "--name", "web2", "-p", "8080:80", "sleep", "300", check=False)
    assert cp.returncode == 125, cp
    # Docker: "docker: Error response from daemon: driver failed programming external
    # connectivity on endpoint web2 (<id>): Bind for 0.0.0.0:8080 failed: port is already allocated."
    msg = cp.stderr.strip()
    assert msg.startswith("pynet: Error response from daemon: "), msg
    assert msg.endswith("Bind for 0.0.0.0:8080 failed: port is already allocated."), msg
    assert len(cp.stderr.splitlines()) == 1
    # nothing half-made, and the first container still owns the port
    assert host.pynet("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["web"]
    assert {link["ifname"] for link in host.ip_json("link")} == before_links
    assert published_elements(host) == before_nft
    assert talk(host, lan, HOST_IP, 8080) == ["web", PEER_IP]
    # the same container port on another host port is fine
    serve(host, "web3", "-p", "8082:80", ports=["tcp/80"])
    assert talk(host, lan, HOST_IP, 8082) == ["web3", PEER_IP]


def test_rm_f_closes_the_port_and_frees_it(host: Host, lan: Peer) -> None:
    serve(host, "web", "-p", "8080:80", "-p", "9090:90/udp", ports=["tcp/80", "udp/90"])
    assert talk(host, lan, HOST_IP, 8080) == ["web", PEER_IP]
    assert talk(host, lan, HOST_IP, 9090, "udp") == ["web", PEER_IP]
    assert published_elements(host) != []
    host.pynet("rm", "-f", "web")
    assert talk(host, lan, HOST_IP, 8080) is None
    assert talk(host, lan, HOST_IP, 9090, "udp") is None
    assert published_elements(host) == []
    # control, and the port is free: the next container gets it and answers there
    serve(host, "web-b", "-p", "8080:80", "-p", "9090:90/udp", ports=["tcp/80", "udp/90"])
    assert talk(host, lan, HOST_IP, 8080) == ["web-b", PEER_IP]
    assert talk(host, lan, HOST_IP, 9090, "udp") == ["web-b", PEER_IP]


# A first container on the default bridge makes the bridge and its firewall rules, so the
# killed `run -p` is the second one: it reaches its own steps, not the network's.
KILL_POINTS = ["ipam_reserve", "veth_add", "netns_config", "nft_apply", "state_commit"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_in_the_middle_of_run_p_leaves_nothing(host: Host, lan: Peer, point: str) -> None:
    serve(host, "first", "-p", "8081:80", ports=["tcp/80"])
    links = {link["ifname"] for link in host.ip_json("link")}
    elements = published_elements(host)
    cp = host.pynet(
        "run", "-d", "--name", "web", "-p", "8080:80", "sleep", "300", check=False, env={"PYNET_FAULT_KILL": point}
    )
    assert cp.returncode in KILLED, f"`run -p` did not reach {point}: {cp}"
    # the next command cleans up: no container, no link, no DNAT element, no sandbox
    assert host.pynet("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["first"]
    assert {link["ifname"] for link in host.ip_json("link")} == links
    assert published_elements(host) == elements
    assert len(list(Path(host.run_dir, "netns").iterdir())) == 1
    assert talk(host, lan, HOST_IP, 8080) is None
    assert talk(host, lan, HOST_IP, 8081) == ["first", PEER_IP]  # control
    # the port and the name are free for the next run
    serve(host, "web", "-p", "8080:80", ports=["tcp/80"])
    assert talk(host, lan, HOST_IP, 8080) == ["web", PEER_IP]

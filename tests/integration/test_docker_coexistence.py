"""pynet on a host that runs Docker: the walkthrough works with no extra step.

The throwaway host namespace is set up the way dockerd 20.10 (iptables-nft) leaves a host:
``iptables -P FORWARD DROP``, the DOCKER, DOCKER-USER and DOCKER-ISOLATION-* chains, a
``docker0`` bridge with Docker's rules for it, Docker's nat rules, and br_netfilter on
(``net.bridge.bridge-nf-call-iptables=1``, per netns), so frames between two ports of one
pynet bridge go through Docker's FORWARD chain. The commands are the ones dockerd runs
(compare tests/reference/docker/iptables-save-with-publish.txt, a copy of real dockerd output).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

import harness

pytestmark = pytest.mark.integration

DOCKERD_RULES = """\
iptables -t nat -N DOCKER
iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
iptables -t filter -N DOCKER
iptables -t filter -N DOCKER-ISOLATION-STAGE-1
iptables -t filter -N DOCKER-ISOLATION-STAGE-2
iptables -t filter -N DOCKER-USER
iptables -P FORWARD DROP
iptables -A FORWARD -j DOCKER-USER
iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
iptables -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A FORWARD -o docker0 -j DOCKER
iptables -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
iptables -A FORWARD -i docker0 -o docker0 -j ACCEPT
iptables -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
iptables -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
iptables -A DOCKER-USER -j RETURN
iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
iptables -t nat -A DOCKER -i docker0 -j RETURN
"""


def _iptables_save(host: harness.Host, program: str = "iptables-save") -> str:
    """``iptables-save`` without timestamp comments and policy counters (what Docker sees)."""
    out = host.sh(program).stdout
    return "".join(re.sub(r" \[\d+:\d+\]$", "", line) + "\n" for line in out.splitlines() if not line.startswith("#"))


def _without_pynet(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if "pynet:" not in line)


def _pynet_rules(host: harness.Host) -> list[str]:
    return [r for r in host.sh("iptables -S DOCKER-USER").stdout.splitlines() if "pynet:" in r]


@pytest.fixture
def docker_host(host: harness.Host, lan_peer: Any) -> harness.Host:
    for tool in ("iptables", "nft", "socat"):
        if harness.run(["sh", "-c", f"command -v {tool}"], check=False).returncode != 0:
            pytest.skip(f"{tool} is not installed (scripts/install-deps.sh)")
    if host.sh("test -w /proc/sys/net/bridge/bridge-nf-call-iptables", check=False).returncode != 0:
        pytest.skip("br_netfilter is not available (modprobe br_netfilter)")
    if "nf_tables" not in host.sh("iptables -V").stdout:
        pytest.skip("iptables is not the nf_tables variant that Docker on Debian 12 uses")
    host.peer = lan_peer(host)  # type: ignore[attr-defined]
    host.sh("ip link add docker0 type bridge && ip addr add 172.17.0.1/16 dev docker0 && ip link set docker0 up")
    host.sh(DOCKERD_RULES)
    host.sh(
        "sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1"
    )
    return host


def _serve(ns: harness.Netns, port: int, token: str) -> None:
    ns.spawn("socat", f"TCP-LISTEN:{port},reuseaddr,fork", f"SYSTEM:echo {token}")


def _fetch(ns: harness.Netns, ip: str, port: int) -> str:
    cp = ns.sh("socat", "-T2", "-", f"TCP:{ip}:{port},connect-timeout=2", check=False, timeout=10)
    return cp.stdout.strip()


def test_walkthrough_published_port_and_egress_under_dockers_rules(docker_host: harness.Host, lan_peer: Any) -> None:
    host, peer = docker_host, docker_host.peer  # type: ignore[attr-defined]
    # a "Docker container" (172.17.0.2) on docker0 that pynet must not open up
    dockerc = lan_peer(host, "172.17.0.0/30", host_ifname="vethd0", routed=True)
    host.sh("ip addr flush dev vethd0 && ip link set vethd0 master docker0")
    docker_before = _iptables_save(host)
    assert ":FORWARD DROP" in docker_before
    docker_token = secrets.token_hex(6)
    _serve(dockerc, 80, docker_token)

    # the walkthrough: create, two containers, ping by name -- no extra step
    created = host.pynet("network", "create", "-d", "bridge", "mynetwork")
    net_id = created.stdout.strip()
    bridge = f"br-{net_id[:12]}"
    said = [line for line in created.stderr.splitlines() if "DOCKER-USER" in line]
    assert len(said) == 1 and bridge in said[0] and "table ip filter chain DOCKER-USER" in said[0], created.stderr
    assert "PYNET_FOREIGN_FIREWALL=manual" in said[0]
    assert "WARNING" not in created.stderr, created.stderr
    host.pynet("run", "-d", "--name", "c1", "--network", "mynetwork", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "mynetwork", "sleep", "300")
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")
    host.pynet("run", "--rm", "--network", "mynetwork", "ping", "-c1", "-W2", "c1")

    # a published port reached from a LAN peer; egress to the LAN
    token = secrets.token_hex(6)
    host.pynet(
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "8080:80",
        "--network",
        "mynetwork",
        "socat",
        "TCP-LISTEN:80,reuseaddr,fork",
        f"SYSTEM:echo {token}",
    )
    assert harness.wait_for(
        lambda: _fetch(peer, peer.host_ip, 8080) == token, timeout=10, desc="published port from the LAN peer"
    )
    host.pynet("exec", "c1", "ping", "-c1", "-W2", peer.ip)

    # Docker's bridge stays closed to pynet's containers (control: the host reaches it)
    assert _fetch(host, "172.17.0.2", 80) == docker_token
    c1_key = host.sandbox_key("c1")
    blocked = harness.run(
        ["nsenter", f"--net={c1_key}", "socat", "-T2", "-", "TCP:172.17.0.2:80,connect-timeout=2"],
        check=False,
        timeout=10,
    )
    assert blocked.stdout.strip() != docker_token, "pynet opened Docker's bridge"

    # Docker's own rules are untouched; pynet's are tagged and iptables can show them
    during = _iptables_save(host)
    assert _without_pynet(during) == docker_before
    ours = _pynet_rules(host)
    assert ours == [
        f'-A DOCKER-USER -o {bridge} -m comment --comment "pynet:{bridge} in" -j ACCEPT',
        f'-A DOCKER-USER -i {bridge} -o docker0 -m comment --comment "pynet:{bridge} out" -j RETURN',
        f'-A DOCKER-USER -i {bridge} -o br-+ -m comment --comment "pynet:{bridge} out" -j RETURN',
        f'-A DOCKER-USER -i {bridge} -m comment --comment "pynet:{bridge} out" -j ACCEPT',
    ], ours

    # dockerd restarts (DOCKER-USER made anew): the next pynet command puts them back
    host.sh("iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
    assert host.pynet("exec", "c1", "ping", "-c1", "-W1", "c2", check=False).returncode != 0, (
        "control: without pynet's rules Docker's FORWARD policy drops the traffic"
    )
    host.pynet("run", "--rm", "--network", "mynetwork", "ping", "-c1", "-W2", "c1")
    assert _pynet_rules(host) == ours
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")

    # a user flushes the chain: `system firewall-reload` restores them on demand
    host.sh("iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
    assert _pynet_rules(host) == []
    host.pynet("system", "firewall-reload")
    assert _pynet_rules(host) == ours
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")

    # after `network rm` nothing of pynet is left in Docker's tables
    host.pynet("rm", "-f", "c1", "c2", "web")
    host.pynet("network", "rm", "mynetwork")
    assert _iptables_save(host) == docker_before
    assert "pynet" not in host.sh("nft list ruleset").stdout


def test_manual_setting_leaves_docker_user_alone_and_warns_with_the_fix(docker_host: harness.Host) -> None:
    host = docker_host
    manual = {"PYNET_FOREIGN_FIREWALL": "manual"}
    docker_before = _iptables_save(host)
    created = host.pynet("network", "create", "mynetwork", env=manual)
    warning = [
        line for line in created.stderr.splitlines() if line.startswith("WARNING: table ip filter chain FORWARD")
    ]
    assert len(warning) == 1, created.stderr
    assert "policy drop" in warning[0] and "`pynet system firewall-allow-docker`" in warning[0]
    assert "table ip filter chain DOCKER-USER" in warning[0]
    assert _iptables_save(host) == docker_before, "manual: pynet touched Docker's chain"
    host.pynet("run", "-d", "--name", "c1", "--network", "mynetwork", "sleep", "300", env=manual)
    host.pynet("run", "-d", "--name", "c2", "--network", "mynetwork", "sleep", "300", env=manual)
    assert host.pynet("exec", "c1", "ping", "-c1", "-W1", "c2", check=False, env=manual).returncode != 0

    # the command the warning names fixes it
    host.pynet("system", "firewall-allow-docker", env=manual)
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2", env=manual)
    host.pynet("rm", "-f", "c1", "c2", env=manual)
    host.pynet("network", "rm", "mynetwork", env=manual)
    assert _iptables_save(host) == docker_before


def test_allow_docker_reads_networks_under_the_lock(docker_host: harness.Host) -> None:
    """A network removed while `firewall-allow-docker` waited for the lock gets no rules."""
    import os
    import signal
    import sys

    host = docker_host
    manual = {"PYNET_FOREIGN_FIREWALL": "manual"}
    docker_before = _iptables_save(host)
    gone = host.pynet("network", "create", "gone", env=manual).stdout.strip()
    kept = host.pynet("network", "create", "kept", env=manual).stdout.strip()
    allow = host.spawn(
        sys.executable,
        "-m",
        "pynet",
        "system",
        "firewall-allow-docker",
        env={**manual, "PYNET_FAULT_STOP": "admin_lock"},
    )
    try:
        harness.wait_for(lambda: _process_state(allow.pid) == "T", timeout=30, desc="allow-docker paused")
        host.pynet("network", "rm", "gone", env=manual)
    finally:
        os.kill(allow.pid, signal.SIGCONT)
    assert allow.wait(timeout=60) == 0, allow.log.read_text()  # type: ignore[attr-defined]
    rules = "\n".join(_pynet_rules(host))
    assert f"br-{gone[:12]}" not in rules, "rules for a network that no longer exists"
    assert f"br-{kept[:12]}" in rules  # control
    host.pynet("network", "rm", "kept", env=manual)
    assert _iptables_save(host) == docker_before


def _process_state(pid: int) -> str:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


NFT_DROP_FORWARD = """table inet filter {
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tct state established,related accept
\t}
}
"""


def test_a_foreign_policy_drop_forward_chain_without_docker(host: harness.Host, lan_peer: Any) -> None:
    """Not only Docker: a host's own `policy drop` forward chain gets the same narrow rules."""
    if harness.run(["sh", "-c", "command -v nft"], check=False).returncode != 0:
        pytest.skip("nft is not installed")
    if host.sh("test -w /proc/sys/net/bridge/bridge-nf-call-iptables", check=False).returncode != 0:
        pytest.skip("br_netfilter is not available (modprobe br_netfilter)")
    peer = lan_peer(host)
    host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1")
    host.sh("nft -f -", input=NFT_DROP_FORWARD)
    assert host.sh("nft list table inet filter").stdout == NFT_DROP_FORWARD

    created = host.pynet("network", "create", "mynetwork")
    bridge = f"br-{created.stdout.strip()[:12]}"
    assert "table inet filter chain forward" in created.stderr and "WARNING" not in created.stderr, created.stderr
    host.pynet("run", "-d", "--name", "c1", "--network", "mynetwork", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "mynetwork", "sleep", "300")
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")
    host.pynet("exec", "c1", "ping", "-c1", "-W2", peer.ip)
    listed = host.sh("nft list chain inet filter forward").stdout
    assert listed.count(f'comment "pynet:{bridge} ') == 4, listed
    # control: the same chain without pynet's rules drops the traffic
    for line in host.sh("nft -a list chain inet filter forward").stdout.splitlines():
        if "pynet:" in line:
            host.sh(f"nft delete rule inet filter forward handle {line.rsplit('handle ', 1)[1]}")
    assert host.pynet("exec", "c1", "ping", "-c1", "-W1", "c2", check=False).returncode != 0
    host.pynet("rm", "-f", "c1", "c2")  # the next command put them back ...
    assert host.sh("nft list chain inet filter forward").stdout.count(f'comment "pynet:{bridge} ') == 4
    host.pynet("network", "rm", "mynetwork")  # ... and `network rm` takes them away
    assert host.sh("nft list table inet filter").stdout == NFT_DROP_FORWARD


def test_iptables_legacy_docker_is_warned_with_a_command_that_works(host: harness.Host) -> None:
    """Docker on iptables-legacy: nft cannot see those rules; the warning's command fixes it."""
    for tool in ("iptables-legacy", "nft"):
        if harness.run(["sh", "-c", f"command -v {tool}"], check=False).returncode != 0:
            pytest.skip(f"{tool} is not installed")
    if host.sh("test -w /proc/sys/net/bridge/bridge-nf-call-iptables", check=False).returncode != 0:
        pytest.skip("br_netfilter is not available (modprobe br_netfilter)")
    host.sh("ip link add docker0 type bridge && ip link set docker0 up")
    host.sh(DOCKERD_RULES.replace("iptables ", "iptables-legacy "))
    host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1")
    before = _iptables_save(host, "iptables-legacy-save")

    created = host.pynet("network", "create", "mynetwork")
    bridge = f"br-{created.stdout.strip()[:12]}"
    (warning,) = [line for line in created.stderr.splitlines() if "iptables-legacy" in line]
    assert warning.startswith("WARNING: iptables-legacy table ip filter chain FORWARD has policy DROP")
    assert bridge in warning
    assert _iptables_save(host, "iptables-legacy-save") == before, "pynet changed iptables-legacy rules"
    host.pynet("run", "-d", "--name", "c1", "--network", "mynetwork", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "mynetwork", "sleep", "300")
    assert host.pynet("exec", "c1", "ping", "-c1", "-W1", "c2", check=False).returncode != 0, (
        "control: Docker's legacy FORWARD policy drops the traffic"
    )
    host.sh(warning.split("`")[1])  # the exact command it gives
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")
    rules = host.sh("iptables-legacy -S DOCKER-USER").stdout.splitlines()
    assert rules == [
        "-N DOCKER-USER",
        f"-A DOCKER-USER -o {bridge} -j ACCEPT",
        f"-A DOCKER-USER -i {bridge} -o docker0 -j RETURN",
        f"-A DOCKER-USER -i {bridge} -o br-+ -j RETURN",
        f"-A DOCKER-USER -i {bridge} -j ACCEPT",
        "-A DOCKER-USER -j RETURN",
    ], rules
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "mynetwork")

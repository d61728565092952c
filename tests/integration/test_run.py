"""`pynet run` and the container commands on real kernel objects: sandboxes that talk over
bridges, connect/disconnect, exit codes, /etc files, host/none modes and the life of a
detached container (ps, inspect, logs, stop, kill, rm)."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness import Host, wait_for

pytestmark = pytest.mark.integration

HEX64 = re.compile(r"^[0-9a-f]{64}$")

HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)

# docker inspect c1 (run -d --name c1 --network mynet --network-alias web): the networking parts
DOCKER_NETWORK_SETTINGS = {
    "Bridge": "",
    "SandboxID": "1047f77ceab52e8464b6d8a5e2db75dd77ed8d672789d2ab0ab8ad2f7b165a82",
    "HairpinMode": False,
    "LinkLocalIPv6Address": "",
    "LinkLocalIPv6PrefixLen": 0,
    "Ports": {},
    "SandboxKey": "/var/run/docker/netns/1047f77ceab5",
    "SecondaryIPAddresses": None,
    "SecondaryIPv6Addresses": None,
    "EndpointID": "",
    "Gateway": "",
    "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0,
    "IPAddress": "",
    "IPPrefixLen": 0,
    "IPv6Gateway": "",
    "MacAddress": "",
    "Networks": {
        "mynet": {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": ["web", "2e8b435efbff"],
            "NetworkID": "eafad29990a49c58a86ba33709fc7d659d223c28abfcd61340f7db9cedf80526",
            "EndpointID": "2fdf073552f4659695623e488de0d90dfef1974b4beb165aaba84ba2845cf952",
            "Gateway": "172.18.0.1",
            "IPAddress": "172.18.0.2",
            "IPPrefixLen": 16,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "MacAddress": "02:42:ac:12:00:02",
            "DriverOpts": None,
        }
    },
}
DOCKER_STATE = {
    "Status": "running",
    "Running": True,
    "Paused": False,
    "Restarting": False,
    "OOMKilled": False,
    "Dead": False,
    "Pid": 16823,
    "ExitCode": 0,
    "Error": "",
    "StartedAt": "2026-11-27T21:53:20.74116996Z",
    "FinishedAt": "0001-01-01T00:00:00Z",
}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


# -- helpers ---------------------------------------------------------------------------


def run_d(host: Host, *args: str) -> str:
    """``pynet run -d ARGS``; returns the printed 64-hex container ID."""
    out = host.pynet("run", "-d", *args).stdout
    assert HEX64.match(out.strip()), f"run -d printed {out!r}"
    return out.strip()


def inspect(host: Host, *refs: str) -> list[dict]:
    return host.pynet_json("inspect", *refs)


def ip_on(host: Host, container: str, network: str) -> str:
    return inspect(host, container)[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


def links(host: Host) -> dict[str, dict]:
    return {link["ifname"]: link for link in host.ip_json("link", "show")}


def veths(host: Host) -> list[str]:
    return sorted(n for n in links(host) if n.startswith("veth"))


def sandbox_links(host: Host, container: str) -> dict[str, dict]:
    out = host.in_sandbox(container, "ip", "-j", "link", "show").stdout
    return {link["ifname"]: link for link in json.loads(out)}


def sandbox_addrs(host: Host, container: str, dev: str) -> list[tuple[str, int]]:
    out = host.in_sandbox(container, "ip", "-j", "-4", "addr", "show", "dev", dev).stdout
    return [(a["local"], a["prefixlen"]) for d in json.loads(out) for a in d["addr_info"]]


def host_master_of(host: Host, container: str, ifname: str = "eth0") -> str:
    """The bridge that the host end of ``container``'s ``ifname`` is plugged into."""
    peer = sandbox_links(host, container)[ifname]["link_index"]
    ports = {p["ifindex"]: p for p in json.loads(host.sh("bridge", "-j", "link", "show").stdout or "[]")}
    assert peer in ports, f"the host end of {container}/{ifname} is on no bridge"
    return ports[peer]["master"]


def netns_files(host: Host) -> list[str]:
    d = host.run_dir / "netns"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def create_net(host: Host, name: str, *flags: str) -> str:
    return host.pynet("network", "create", *flags, name).stdout.strip()


# -- two sandboxes, one network ----------------------------------------------------------


def test_two_sandboxes_on_one_network_reach_each_other(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    run_d(host, "--name", "c1", "--network", "mynet", "sleep", "300")
    run_d(host, "--name", "c2", "--network", "mynet", "sleep", "300")
    ip1, ip2 = ip_on(host, "c1", "mynet"), ip_on(host, "c2", "mynet")
    assert ip1 != ip2
    for ip in (ip1, ip2):
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.1.0.0/24")
        assert ip not in ("10.1.0.0", "10.1.0.1", "10.1.0.255")
    # the user's view: exec inside c1, and a throwaway container
    host.pynet("exec", "c1", "ping", "-c1", "-W2", ip2)
    host.pynet("run", "--rm", "--network", "mynet", "ping", "-c1", "-W2", ip1)
    # `pynet exec c1 ip -j addr`: eth0 with c1's address, Docker's MAC, route via the gateway
    addrs = {d["ifname"]: d for d in json.loads(host.pynet("exec", "c1", "ip", "-j", "addr").stdout)}
    assert set(addrs) == {"lo", "eth0"}
    eth0 = addrs["eth0"]
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] == [(ip1, 24)]
    octets = [int(x) for x in ip1.split(".")]
    assert eth0["address"] == "02:42:" + ":".join(f"{o:02x}" for o in octets)
    assert "UP" in eth0["flags"]
    routes = json.loads(host.pynet("exec", "c1", "ip", "-j", "route").stdout)
    assert {"dst": "default", "gateway": "10.1.0.1", "dev": "eth0"}.items() <= routes[0].items()
    # both host ends are ports of the network's bridge
    net_id = host.pynet_json("network", "inspect", "mynet")[0]["Id"]
    assert host_master_of(host, "c1") == host_master_of(host, "c2") == f"br-{net_id[:12]}"
    host.pynet("rm", "-f", "c1", "c2")


def test_sandboxes_on_different_networks_have_different_bridges(host: Host) -> None:
    n1 = create_net(host, "n1", "--subnet", "10.1.0.0/24")
    n2 = create_net(host, "n2", "--subnet", "10.2.0.0/24")
    run_d(host, "--name", "ca", "--network", "n1", "sleep", "300")
    run_d(host, "--name", "cb", "--network", "n2", "sleep", "300")
    assert host_master_of(host, "ca") == f"br-{n1[:12]}"
    assert host_master_of(host, "cb") == f"br-{n2[:12]}"
    ports = json.loads(host.sh("bridge", "-j", "link", "show").stdout)
    per_bridge: dict[str, int] = {}
    for p in ports:
        per_bridge[p["master"]] = per_bridge.get(p["master"], 0) + 1
    assert per_bridge == {f"br-{n1[:12]}": 1, f"br-{n2[:12]}": 1}
    host.pynet("rm", "-f", "ca", "cb")


def test_connect_with_ip_then_disconnect(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    create_net(host, "othernet", "--subnet", "10.2.0.0/24")
    cid = run_d(host, "--name", "c1", "--network", "mynet", "sleep", "300")
    assert set(sandbox_links(host, "c1")) == {"lo", "eth0"}

    host.pynet("network", "connect", "--ip", "10.2.0.9", "othernet", "c1")
    assert set(sandbox_links(host, "c1")) == {"lo", "eth0", "eth1"}
    assert sandbox_addrs(host, "c1", "eth1") == [("10.2.0.9", 24)]
    nets = inspect(host, "c1")[0]["NetworkSettings"]["Networks"]
    assert set(nets) == {"mynet", "othernet"}
    assert nets["othernet"]["IPAddress"] == "10.2.0.9"
    assert nets["othernet"]["IPAMConfig"] == {"IPv4Address": "10.2.0.9"}
    members = host.pynet_json("network", "inspect", "othernet")[0]["Containers"]
    assert members[cid]["IPv4Address"] == "10.2.0.9/24" and members[cid]["Name"] == "c1"
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "10.2.0.1")
    # the first network keeps the default route
    routes = json.loads(host.pynet("exec", "c1", "ip", "-j", "route", "show", "default").stdout)
    assert [(r["gateway"], r["dev"]) for r in routes] == [("10.1.0.1", "eth0")]
    assert len(veths(host)) == 2
    cp = host.pynet("network", "connect", "othernet", "c1", check=False)
    assert (cp.returncode, cp.stderr) == (
        1,
        "Error response from daemon: endpoint with name c1 already exists in network othernet\n",
    )

    host.pynet("network", "disconnect", "othernet", "c1")
    assert set(sandbox_links(host, "c1")) == {"lo", "eth0"}
    assert set(inspect(host, "c1")[0]["NetworkSettings"]["Networks"]) == {"mynet"}
    assert host.pynet_json("network", "inspect", "othernet")[0]["Containers"] == {}
    assert len(veths(host)) == 1
    cp = host.pynet("network", "disconnect", "othernet", "c1", check=False)
    assert (cp.returncode, cp.stderr) == (
        1,
        f"Error response from daemon: container {cid} is not connected to network othernet\n",
    )

    # again, now with an automatic address: eth1 comes back
    host.pynet("network", "connect", "othernet", "c1")
    addr = sandbox_addrs(host, "c1", "eth1")
    assert len(addr) == 1 and addr[0][1] == 24 and addr[0][0].startswith("10.2.0.")
    host.pynet("rm", "-f", "c1")
    assert veths(host) == []


# -- exit codes -------------------------------------------------------------------------


def test_exit_codes_pass_through_and_failures_leave_nothing(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    assert host.pynet("run", "--rm", "--network", "mynet", "sh", "-c", "exit 3", check=False).returncode == 3
    assert host.pynet("run", "--rm", "--network", "mynet", "true").returncode == 0
    cp = host.pynet("run", "--rm", "--network", "mynet", "sh", "-c", "echo out; echo err >&2")
    assert (cp.stdout, cp.stderr) == ("out\n", "err\n")
    cp = host.pynet("run", "--rm", "--network", "mynet", "nosuchcommand", check=False)
    assert cp.returncode == 127
    assert cp.stderr.startswith("pynet: Error response from daemon: ")
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in cp.stderr
    assert len(cp.stderr.splitlines()) == 1
    cp = host.pynet("run", "--rm", "--network", "mynet", "/etc/hostname", check=False)
    assert cp.returncode == 126, cp.stderr
    # a process killed by a signal: 128 + N
    assert host.pynet("run", "--rm", "--network", "mynet", "sh", "-c", "kill -9 $$", check=False).returncode == 137
    assert host.pynet("ps", "-aq").stdout == ""
    assert veths(host) == []
    assert netns_files(host) == []
    assert host.pynet_json("network", "inspect", "mynet")[0]["Containers"] == {}


# -- network modes ----------------------------------------------------------------------


def test_network_none_has_only_lo(host: Host) -> None:
    out = host.pynet("run", "--rm", "--network", "none", "ip", "-j", "link").stdout
    assert [link["ifname"] for link in json.loads(out)] == ["lo"]
    cid = run_d(host, "--name", "quiet", "--network", "none", "sleep", "300")
    [c] = inspect(host, "quiet")
    assert c["HostConfig"]["NetworkMode"] == "none"
    assert list(c["NetworkSettings"]["Networks"]) == ["none"]
    assert set(sandbox_links(host, "quiet")) == {"lo"}
    hosts = host.in_container("quiet", "cat", "/etc/hosts").stdout
    assert hosts == HOSTS_HEADER
    assert host.in_container("quiet", "cat", "/etc/hostname").stdout == cid[:12] + "\n"
    assert veths(host) == []
    host.pynet("rm", "-f", "quiet")


def test_ipv6_only_where_the_network_has_it(host: Host) -> None:
    """As Docker: no inet6 at all (not even ::1) on IPv4-only networks; dual stack gets it."""
    host.pynet("network", "create", "--subnet", "10.61.0.0/24", "v4only")
    host.pynet("network", "create", "--ipv6", "--subnet", "10.62.0.0/24", "--subnet", "fd62::/64", "dual")
    out = json.loads(host.pynet("run", "--rm", "--network", "v4only", "ip", "-j", "addr").stdout)
    assert {a["family"] for link in out for a in link["addr_info"]} == {"inet"}
    run_d(host, "--name", "both", "--network", "dual", "sleep", "300")
    links = {link["ifname"]: link for link in json.loads(host.in_container("both", "ip", "-j", "addr").stdout)}
    assert {a["local"] for a in links["lo"]["addr_info"]} == {"127.0.0.1", "::1"}
    assert "fd62::2" in {a["local"] for a in links["eth0"]["addr_info"]}
    # a v4-only network joined later stays v4-only; the dual-stack interface keeps its IPv6
    host.pynet("network", "connect", "v4only", "both")
    links = {link["ifname"]: link for link in json.loads(host.in_container("both", "ip", "-j", "addr").stdout)}
    assert {a["family"] for a in links["eth1"]["addr_info"]} == {"inet"}
    assert "fd62::2" in {a["local"] for a in links["eth0"]["addr_info"]}
    host.pynet("rm", "-f", "both")
    host.pynet("network", "rm", "v4only", "dual")


def test_signals_reach_the_command_as_under_docker(host: Host) -> None:
    """No signal pynet ignores is inherited: `kill -s INT` ends `sleep` (Exited (130)),
    and a writer into a closed pipe dies of SIGPIPE quietly instead of complaining."""
    run_d(host, "--name", "sig", "--network", "bridge", "sleep", "300")
    pid = inspect(host, "sig")[0]["State"]["Pid"]
    ignored = next(int(line.split()[1], 16) for line in open(f"/proc/{pid}/status") if line.startswith("SigIgn:"))
    assert ignored & 0x7FFFFFFF == 0, f"standard signals ignored: {ignored:#x}"  # not glibc's 32/33
    host.pynet("kill", "-s", "INT", "sig")
    wait_for(lambda: inspect(host, "sig")[0]["State"]["Status"] == "exited", timeout=10)
    assert inspect(host, "sig")[0]["State"]["ExitCode"] == 130
    out = host.pynet("run", "--rm", "--network", "none", "sh", "-c", "yes | head -1")
    assert (out.stdout, out.stderr) == ("y\n", "")
    host.pynet("rm", "sig")


def test_network_host_sees_the_host_links(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")  # a bridge to see
    out = host.pynet("run", "--rm", "--network", "host", "ip", "-j", "link").stdout
    assert sorted(link["ifname"] for link in json.loads(out)) == sorted(links(host))
    hostname = host.sh("hostname").stdout
    assert host.pynet("run", "--rm", "--network", "host", "hostname").stdout == hostname
    cid = run_d(host, "--name", "hh", "--network", "host", "sleep", "300")
    [c] = inspect(host, "hh")
    assert c["HostConfig"]["NetworkMode"] == "host"
    assert list(c["NetworkSettings"]["Networks"]) == ["host"]
    assert c["NetworkSettings"]["SandboxKey"] == ""
    assert cid and veths(host) == []
    host.pynet("rm", "-f", "hh")


# -- /etc files ---------------------------------------------------------------------------

ETC_SCRIPT = (
    "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname; "
    "echo ---; hostname; echo ---; ip -j -4 addr show eth0"
)


def _etc(host: Host, *run_args: str) -> tuple[str, str, str, str, str]:
    out = host.pynet("run", "--rm", *run_args, "sh", "-c", ETC_SCRIPT).stdout
    hosts, resolv, hostname_file, hostname, addr = out.split("---\n")
    ip = json.loads(addr)[0]["addr_info"][0]["local"]
    return hosts, resolv, hostname_file, hostname, ip


def test_etc_files_on_a_user_network_are_dockers(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    hosts, resolv, hostname_file, hostname, ip = _etc(host, "--network", "mynet")
    assert re.match(r"^[0-9a-f]{12}\n$", hostname_file)
    assert hostname == hostname_file
    assert hosts == HOSTS_HEADER + f"{ip}\t{hostname_file.strip()}\n"
    assert resolv == "nameserver 127.0.0.11\noptions ndots:0\n"


def test_etc_files_on_the_default_bridge(host: Host) -> None:
    hosts, resolv, hostname_file, _, ip = _etc(host)
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("172.17.0.0/16")
    assert hosts == HOSTS_HEADER + f"{ip}\t{hostname_file.strip()}\n"
    assert resolv == "nameserver 192.0.2.53\n"  # the host's servers (no embedded DNS)
    # the default network is the bridge `pynet0`
    assert "pynet0" in links(host)


def test_hostname_add_host_and_dns_on_the_default_bridge(host: Host) -> None:
    hosts, resolv, hostname_file, hostname, ip = _etc(
        host, "--hostname", "web", "--add-host", "db:10.9.9.9", "--add-host", "cache:10.9.9.10", "--dns", "10.0.0.53"
    )
    assert hostname_file == "web\n" and hostname == "web\n"
    assert hosts == HOSTS_HEADER + f"10.9.9.9\tdb\n10.9.9.10\tcache\n{ip}\tweb\n"
    assert resolv == "nameserver 10.0.0.53\n"


def test_etc_files_follow_connect(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    create_net(host, "othernet", "--subnet", "10.2.0.0/24")
    cid = run_d(host, "--name", "c1", "--network", "mynet", "sleep", "300")
    host.pynet("network", "connect", "--ip", "10.2.0.9", "othernet", "c1")
    hosts = host.in_container("c1", "cat", "/etc/hosts").stdout
    assert hosts.endswith(f"\t{cid[:12]}\n10.2.0.9\t{cid[:12]}\n")
    host.pynet("network", "disconnect", "othernet", "c1")
    assert "10.2.0.9" not in host.in_container("c1", "cat", "/etc/hosts").stdout
    host.pynet("rm", "-f", "c1")


# -- static addresses and names ------------------------------------------------------------


def test_static_ip_and_its_errors(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    create_net(host, "autonet")
    run_d(host, "--name", "c1", "--network", "mynet", "--ip", "10.1.0.50", "sleep", "300")
    assert sandbox_addrs(host, "c1", "eth0") == [("10.1.0.50", 24)]
    assert inspect(host, "c1")[0]["NetworkSettings"]["Networks"]["mynet"]["IPAMConfig"] == {"IPv4Address": "10.1.0.50"}
    before = veths(host)
    cases = [
        (["--network", "mynet", "--ip", "10.1.0.50"], "Address already in use"),
        (
            ["--network", "autonet", "--ip", "172.18.0.50"],
            "user specified IP address is supported only when connecting to networks with user configured subnets",
        ),
        (["--ip", "172.17.0.50"], "user specified IP address is supported on user defined networks only"),
    ]
    for args, message in cases:
        cp = host.pynet("run", "--rm", *args, "true", check=False)
        assert (cp.returncode, cp.stderr) == (125, f"pynet: Error response from daemon: {message}.\n"), args
    assert veths(host) == before
    host.pynet("rm", "-f", "c1")


def test_duplicate_container_name(host: Host) -> None:
    cid = run_d(host, "--name", "c1", "sleep", "300")
    before = (veths(host), netns_files(host))
    cp = host.pynet("run", "-d", "--name", "c1", "sleep", "300", check=False)
    assert cp.returncode == 125
    assert cp.stderr == (
        f'pynet: Error response from daemon: Conflict. The container name "/c1" is already in use by '
        f'container "{cid}". You have to remove (or rename) that container to be able to reuse that name.\n'
    )
    assert (veths(host), netns_files(host)) == before
    host.pynet("rm", "-f", "c1")


# -- a detached container's life -------------------------------------------------------------


def test_container_inspect_shape_equals_docker(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    cid = run_d(host, "--name", "c1", "--network", "mynet", "--network-alias", "web", "sleep", "300")
    [c] = inspect(host, "c1")
    assert c["Id"] == cid and c["Name"] == "/c1"
    assert (c["Path"], c["Args"]) == ("sleep", ["300"])
    assert shape(c["State"]) == shape(DOCKER_STATE)
    assert shape(c["NetworkSettings"]) == shape(DOCKER_NETWORK_SETTINGS)
    assert list(c["NetworkSettings"]) == list(DOCKER_NETWORK_SETTINGS)
    ep = c["NetworkSettings"]["Networks"]["mynet"]
    assert list(ep) == list(DOCKER_NETWORK_SETTINGS["Networks"]["mynet"])
    assert ep["Aliases"] == ["web", cid[:12]]
    assert (ep["Gateway"], ep["IPPrefixLen"]) == ("10.1.0.1", 24)
    assert ep["NetworkID"] == host.pynet_json("network", "inspect", "mynet")[0]["Id"]
    assert c["HostConfig"]["NetworkMode"] == "mynet"
    assert c["Config"]["Hostname"] == cid[:12]
    assert c["NetworkSettings"]["SandboxKey"].startswith(str(host.run_dir))
    host.pynet("rm", "-f", "c1")


def _ps_rows(host: Host, *args: str) -> dict[str, str]:
    out = host.pynet("ps", *args, "--format", "{{.Names}}|{{.Status}}").stdout
    return dict(line.split("|", 1) for line in out.splitlines() if line)


def test_detached_container_ps_inspect_logs_stop_kill_rm(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    c1 = run_d(host, "--name", "c1", "--network", "mynet", "sh", "-c", "echo hello; echo oops >&2; exec sleep 300")
    c2 = run_d(host, "--name", "c2", "--network", "mynet", "sleep", "300")
    c3 = run_d(host, "--name", "c3", "--network", "mynet", "sleep", "300")

    # ps: Docker's columns; -q; running ones only without -a
    ps_out = host.pynet("ps").stdout
    table = [line for line in ps_out.splitlines() if line]
    assert re.split(r"\s{2,}", table[0].strip()) == [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    assert sorted(line.split()[-1] for line in table[1:]) == ["c1", "c2", "c3"]
    assert sorted(host.pynet("ps", "-q").stdout.split()) == sorted(c[:12] for c in (c1, c2, c3))
    assert sorted(host.pynet("ps", "-q", "--no-trunc").stdout.split()) == sorted((c1, c2, c3))
    assert all(s.startswith("Up ") for s in _ps_rows(host).values())

    # inspect: running, with a live pid in the container's sandbox
    [c] = inspect(host, "c1")
    assert c["State"]["Status"] == "running" and c["State"]["Running"] is True
    pid = c["State"]["Pid"]
    assert pid > 0 and Path(f"/proc/{pid}").exists()
    assert Path(f"/proc/{pid}/ns/net").stat().st_ino == Path(c["NetworkSettings"]["SandboxKey"]).stat().st_ino

    # logs: both streams of the detached command, each on its own (as `docker logs`)
    wait_for(lambda: _logs(host, "c1") == ("hello\n", "oops\n"), timeout=5, desc="logs of c1")
    assert _logs(host, "c1", "--tail", "1") == ("", "oops\n")

    # stop: SIGTERM, the exit is recorded, the sandbox is gone
    assert host.pynet("stop", "-t", "2", "c1").stdout == "c1\n"
    [c] = inspect(host, "c1")
    assert (c["State"]["Status"], c["State"]["Running"], c["State"]["Pid"]) == ("exited", False, 0)
    assert c["State"]["ExitCode"] == 143
    assert c["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert _ps_rows(host, "-a")["c1"].startswith("Exited (143) ")
    assert "c1" not in _ps_rows(host)
    assert c1 not in host.pynet_json("network", "inspect", "mynet")[0]["Containers"]
    assert _logs(host, "c1") == ("hello\n", "oops\n")  # logs outlive the process

    # kill: SIGKILL by default; killing it again is Docker's error
    assert host.pynet("kill", "c2").stdout == "c2\n"
    wait_for(
        lambda: _ps_rows(host, "-a")["c2"].startswith("Exited (137) "), timeout=10, desc="c2 to be recorded as exited"
    )
    cp = host.pynet("kill", "c2", check=False)
    assert (cp.returncode, cp.stderr) == (
        1,
        f"Error response from daemon: Cannot kill container: c2: Container {c2} is not running\n",
    )

    # rm: a running one needs -f
    cp = host.pynet("rm", "c3", check=False)
    assert cp.returncode == 1
    assert cp.stderr == (
        f"Error response from daemon: You cannot remove a running container {c3}. "
        "Stop the container before attempting removal or force remove\n"
    )
    assert host.pynet("rm", "-f", "c3").stdout == "c3\n"
    assert host.pynet("rm", "c1", "c2").stdout == "c1\nc2\n"
    assert host.pynet("ps", "-aq").stdout == ""
    # --type: a bare "c3" may also be the prefix of a network's random ID
    cp = host.pynet("inspect", "--type", "container", "c3", check=False)
    assert (cp.returncode, cp.stdout, cp.stderr) == (1, "[]\n", "Error: No such object: c3\n")
    cp = host.pynet("rm", "c3", check=False)
    assert (cp.returncode, cp.stderr) == (1, "Error response from daemon: No such container: c3\n")
    cp = host.pynet("rm", "-f", "c3", check=False)  # Docker's CLI: -f prints it, exits 0
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", "Error response from daemon: No such container: c3\n")
    assert veths(host) == [] and netns_files(host) == []
    assert host.pynet_json("network", "inspect", "mynet")[0]["Containers"] == {}
    assert ps_out.endswith("\n") and not ps_out.endswith("\n\n"), f"ps printed a blank line: {ps_out!r}"


def _logs(host: Host, *args: str) -> tuple[str, str]:
    cp = host.pynet("logs", *args)
    return cp.stdout, cp.stderr


def test_detached_exit_is_recorded_and_rm_flag_cleans_up(host: Host) -> None:
    create_net(host, "mynet", "--subnet", "10.1.0.0/24")
    run_d(host, "--name", "short", "--network", "mynet", "sh", "-c", "echo bye; exit 7")
    wait_for(
        lambda: _ps_rows(host, "-a").get("short", "").startswith("Exited (7) "),
        timeout=10,
        desc="the exit of `short` to be recorded",
    )
    [c] = inspect(host, "short")
    assert (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 7)
    assert host.pynet("logs", "short").stdout == "bye\n"
    run_d(host, "--rm", "--name", "gone", "--network", "mynet", "sh", "-c", "exit 0")
    wait_for(lambda: "gone" not in _ps_rows(host, "-a"), timeout=10, desc="--rm to remove `gone`")
    wait_for(
        lambda: veths(host) == [] and netns_files(host) == [],
        timeout=5,
        desc="sandboxes of exited containers to be removed",
    )
    assert host.pynet_json("network", "inspect", "mynet")[0]["Containers"] == {}
    host.pynet("rm", "short")

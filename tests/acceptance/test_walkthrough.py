"""The user's path end to end: docs/walkthrough.md and the README's errors, in a throwaway host
(the README tour and `make demo` run as written in test_docs_run.py).

If a step here breaks, the docs are lying: fix the product or the page in the same commit.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

pytestmark = pytest.mark.acceptance


def test_seed_walkthrough(host) -> None:
    # 1. built-in networks from first use
    ls = host.pynet("network", "ls").stdout.splitlines()
    assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert {line.split()[1] for line in ls[1:]} == {"bridge", "host", "none"}

    # 2. a user-defined bridge network, backed by a real bridge
    net_id = host.pynet("network", "create", "-d", "bridge", "mynetwork").stdout.strip()
    assert len(net_id) == 64
    bridge = f"br-{net_id[:12]}"
    assert any(link["ifname"] == bridge for link in host.ip_json("link", "show", "type", "bridge"))
    inspect = host.pynet_json("network", "inspect", "mynetwork")[0]
    subnet = ipaddress.ip_network(inspect["IPAM"]["Config"][0]["Subnet"])

    # 3. two containers on it; their veths hang off the bridge
    host.pynet("run", "-d", "--name", "c1", "--network", "mynetwork", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "mynetwork", "sleep", "300")
    containers = host.pynet_json("network", "inspect", "mynetwork")[0]["Containers"]
    assert sorted(c["Name"] for c in containers.values()) == ["c1", "c2"]
    ports = [p for p in host.ip_json("link", "show", "master", bridge)]
    assert len(ports) == 2 and all(p["ifname"].startswith("veth") for p in ports)
    addrs = json.loads(host.pynet("exec", "c1", "ip", "-j", "addr", "show", "eth0").stdout)
    ip = ipaddress.ip_address(next(a["local"] for a in addrs[0]["addr_info"] if a["family"] == "inet"))
    assert ip in subnet
    # ... and `pynet topology` draws them from the kernel: the bridge, both veth pairs
    tree = host.pynet("topology", "--network", "mynetwork").stdout
    assert tree.startswith("network mynetwork (bridge, local)") and f"bridge: {bridge} (ifindex" in tree
    assert all(f"host: {p['ifname']} (ifindex {p['ifindex']}, up) <-> sandbox: eth0" in tree for p in ports)

    # ... and the host's tools look around inside c1's sandbox (--network container:c1)
    inside = host.pynet("run", "--rm", "--network", "container:c1", "ip", "-br", "addr").stdout
    assert f"{ip}/" in inside and "eth0" in inside

    # 4. by name, through the embedded DNS
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "c2")
    host.pynet("run", "--rm", "--network", "mynetwork", "ping", "-c1", "-W2", "c1")
    resolv = host.pynet("run", "--rm", "--network", "mynetwork", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 127.0.0.11" in resolv and "options ndots:0" in resolv
    ok = host.pynet("network", "diagnose", "c1", "c2")
    assert ok.stdout.splitlines()[-1] == "reachable: ok (the packet gets through)"
    closed = host.pynet("network", "diagnose", "--port", "80", "c1", "c2", check=False)
    assert closed.returncode == 1
    assert "NOT reachable: no-listener (nothing listens on DST's port)" in closed.stdout

    # 5. host networking sees the host's own links
    links = host.pynet("run", "--rm", "--network", "host", "ip", "-o", "link").stdout
    assert bridge in links

    # 7. clean up: nothing of it is left in the kernel or the state
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "mynetwork")
    assert not any(link["ifname"] == bridge for link in host.ip_json("link", "show"))
    assert host.pynet("ps", "-aq").stdout == ""
    fmt = "{{.Action}} {{.Actor.Attributes.name}}"
    events = host.pynet("events", "--since", "10m", "--until", "0s", "--filter", "type=network", "--format", fmt)
    print(events.stdout)
    assert events.stdout.splitlines() == [
        "create mynetwork",
        *["connect mynetwork"] * 2,
        *["connect mynetwork", "disconnect mynetwork"] * 2,  # the two `run --rm`
        "connect host",
        "disconnect host",
        *["disconnect mynetwork"] * 2,
        "destroy mynetwork",
    ]


def test_readme_errors_are_dockers(host) -> None:
    host.pynet("network", "create", "mynet")
    dup = host.pynet("network", "create", "mynet", check=False)
    assert dup.returncode == 1
    assert dup.stderr.strip() == "Error response from daemon: network with name mynet already exists"
    run = host.pynet("run", "--rm", "--network", "nosuchnet", "true", check=False)
    assert run.returncode == 125
    assert run.stderr.strip() == "pynet: Error response from daemon: network nosuchnet not found."
    host.pynet("network", "rm", "mynet")

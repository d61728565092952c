"""`pynet run --network container:NAME`: the new container joins the target's sandbox —
same interfaces, addresses, routes, hostname, /etc/hosts and /etc/resolv.conf, no endpoint
of its own —, the options Docker refuses with it are refused in Docker's words (messages
taken from dockerd 20.10 / the 28.2 client), and the target's stop takes the network away."""

from __future__ import annotations

import json

import pytest

from harness import Host

pytestmark = pytest.mark.integration


def _view(host: Host, ctr: str) -> dict[str, str]:
    """What a process in ``ctr`` sees of its network (through pynet exec)."""

    def sh(*argv: str) -> str:
        return host.pynet("exec", ctr, *argv).stdout

    links = json.loads(sh("ip", "-j", "addr"))
    return {
        "addrs": json.dumps(sorted((l["ifname"], [a["local"] for a in l["addr_info"]]) for l in links)),
        "routes": sh("ip", "route"),
        "hostname": sh("hostname"),
        "hosts": sh("cat", "/etc/hosts"),
        "resolv": sh("cat", "/etc/resolv.conf"),
        "netns": sh("readlink", "/proc/self/ns/net"),
    }


def test_container_mode_shares_the_sandbox(host: Host) -> None:
    host.pynet("network", "create", "n1")
    web_id = host.pynet(
        "run", "-d", "--name", "web", "--network", "n1", "--network-alias", "www", "sleep", "300"
    ).stdout.strip()
    host.pynet("run", "-d", "--name", "db", "--network", "n1", "sleep", "300")
    host.pynet("run", "-d", "--name", "tool", "--network", "container:web", "sleep", "300")

    web, tool = _view(host, "web"), _view(host, "tool")
    assert tool == web  # same interfaces, addresses, routes, hostname, /etc files, netns
    assert '"eth0"' in web["addrs"] and "default via" in web["routes"]
    assert "nameserver 127.0.0.11" in tool["resolv"]
    host.pynet("exec", "tool", "ping", "-c1", "-W2", "db")  # names through web's embedded DNS

    inspect = host.pynet_json("inspect", "tool")[0]
    assert inspect["HostConfig"]["NetworkMode"] == f"container:{web_id}"
    assert inspect["NetworkSettings"]["Networks"] == {}
    assert (inspect["NetworkSettings"]["SandboxKey"], inspect["NetworkSettings"]["SandboxID"]) == ("", "")
    members = host.pynet_json("network", "inspect", "n1")[0]["Containers"]
    assert sorted(c["Name"] for c in members.values()) == ["db", "web"]  # no endpoint of its own
    ps = host.pynet("ps", "--format", "{{.Names}}|{{.Networks}}").stdout.splitlines()
    assert sorted(ps) == ["db|n1", "tool|", "web|n1"]  # Docker shows no network for it
    bad = host.pynet("network", "connect", "n1", "tool", check=False)
    assert (bad.returncode, bad.stderr) == (
        1,
        "Error response from daemon: container sharing network namespace with another container or host "
        "cannot be connected to any other network\n",
    )
    tool_events = host.pynet("events", "--since", "1h", "--until", "0s", "--filter", "container=tool").stdout
    assert [line.split()[2] for line in tool_events.splitlines()] == ["create", "start"]
    net_events = host.pynet("events", "--since", "1h", "--until", "0s", "--filter", "type=network").stdout
    assert inspect["Id"] not in net_events  # no endpoint, no connect

    # removing the joiner leaves the target's sandbox alone
    host.pynet("rm", "-f", "tool")
    assert _view(host, "web")["addrs"] == web["addrs"]

    # when the target stops, so does the joiner's network (Docker: only lo is left)
    host.pynet("run", "-d", "--name", "tool2", "--network", "container:web", "sleep", "300")
    host.pynet("stop", "-t", "1", "web")
    links = json.loads(host.pynet("exec", "tool2", "ip", "-j", "link").stdout)
    assert [l["ifname"] for l in links] == ["lo"]
    assert host.pynet("inspect", "-f", "{{.State.Status}}", "tool2").stdout.strip() == "running"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--network-alias", "a"], "network-scoped aliases are only supported for user-defined networks"),
        (
            ["-p", "80:80"],
            "Error response from daemon: conflicting options: port publishing and the container type network mode",
        ),
        (["--hostname", "h"], "Error response from daemon: conflicting options: hostname and the network mode"),
        (["--dns", "192.0.2.1"], "Error response from daemon: conflicting options: dns and the network mode"),
        (
            ["--add-host", "x:192.0.2.4"],
            "Error response from daemon: conflicting options: custom host-to-IP mapping and the network mode",
        ),
        (
            ["--expose", "80"],
            "Error response from daemon: conflicting options: port exposing and the container type network mode",
        ),
        (
            ["--mac-address", "02:42:ac:11:00:02"],
            "Error response from daemon: conflicting options: mac-address and the network mode",
        ),
    ],
)
def test_conflicting_options_are_dockers(host: Host, flags: list[str], message: str) -> None:
    host.pynet("network", "create", "n1")
    host.pynet("run", "-d", "--name", "web", "--network", "n1", "sleep", "300")
    before = host.pynet("ps", "-aq").stdout
    bad = host.pynet("run", "--rm", "--network", "container:web", *flags, "true", check=False)
    assert (bad.returncode, bad.stderr) == (125, f"pynet: {message}.\n")
    assert host.pynet("ps", "-aq").stdout == before  # nothing half-made


def test_targets_that_cannot_be_joined(host: Host) -> None:
    bad = host.pynet("run", "--rm", "--network", "container:nosuch", "true", check=False)
    assert (bad.returncode, bad.stderr) == (125, "pynet: Error response from daemon: No such container: nosuch.\n")
    bad = host.pynet("run", "--rm", "--network", "container:", "true", check=False)
    assert (bad.returncode, bad.stderr) == (
        125,
        "pynet: Error response from daemon: Invalid network mode: invalid container format container:<name|id>.\n",
    )
    host.pynet("run", "--name", "done", "true")
    done_id = host.pynet("inspect", "-f", "{{.Id}}", "done").stdout.strip()
    bad = host.pynet("run", "--rm", "--network", "container:done", "true", check=False)
    assert (bad.returncode, bad.stderr) == (
        125,
        f"pynet: Error response from daemon: cannot join network of a non running container: {done_id}.\n",
    )
    assert host.pynet("ps", "-aq").stdout.split() == [done_id[:12]]

"""Corrupt state and bad input on real kernel objects (issue #10, items 7 and 8).

`rm -f` of a container whose record (or whose endpoint's record) is damaged still removes
what the kernel has: its process, sandbox, veth, address and published port. Bad input
that needs the kernel to be refused is refused with Docker's line, leaving nothing made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import alive, Host, wait_for

pytestmark = pytest.mark.integration


def _veths(host: Host) -> list[str]:
    return [link["ifname"] for link in host.ip_json("link") if link["ifname"].startswith("veth")]


def _ruleset(host: Host) -> str:
    return host.sh("nft list ruleset").stdout


def _started(host: Host, *args: str) -> dict:
    """A detached container on n1 publishing 8080, and what the kernel shows of it."""
    host.pynet("network", "create", "--subnet", "10.77.0.0/24", "n1")
    cid = host.pynet(
        "run", "-d", "--name", "c1", "--network", "n1", "--ip", "10.77.0.5", "-p", "8080:80", *args, "sleep", "300"
    ).stdout.strip()
    info = host.pynet_json("inspect", "c1")[0]
    seen = {
        "id": cid,
        "pid": info["State"]["Pid"],
        "netns": info["NetworkSettings"]["SandboxKey"],
        "endpoint": info["NetworkSettings"]["Networks"]["n1"]["EndpointID"],
    }
    # Positive controls: everything rm -f must remove is there.
    assert alive(seen["pid"])
    assert Path(seen["netns"]).exists()
    assert len(_veths(host)) == 1
    assert "8080" in _ruleset(host)
    return seen


def _assert_all_removed(host: Host, seen: dict) -> None:
    wait_for(lambda: not alive(seen["pid"]), timeout=10, desc="container process gone")
    assert not Path(seen["netns"]).exists()
    # A veth whose record is lost goes with its namespace (the kernel's async netns cleanup).
    wait_for(lambda: _veths(host) == [], timeout=10, desc="veth gone")
    assert "8080" not in _ruleset(host)
    assert host.pynet("ps", "-a", "-q").stdout == ""
    # The address and the port are free again; the network has no member left.
    again = host.pynet(
        "run", "-d", "--name", "c2", "--network", "n1", "--ip", "10.77.0.5", "-p", "8080:80", "sleep", "300"
    )
    assert again.returncode == 0
    host.pynet("rm", "-f", "c2")
    assert host.pynet("network", "rm", "n1").stdout.strip() == "n1"


@pytest.mark.parametrize("damage", ["garbage", "wrong types"])
def test_rm_f_removes_what_a_damaged_container_record_describes(host: Host, damage: str) -> None:
    seen = _started(host)
    path = host.state_dir / "containers" / f"{seen['id']}.json"
    if damage == "garbage":
        path.write_text('{"schema_version": 1, "id": "' + seen["id"][:20])
    else:
        record = json.loads(path.read_text())
        record.update(status=3, pid="x", netns_path=None, endpoints=[])
        path.write_text(json.dumps(record))
    ps = host.pynet("ps", check=False)
    assert ps.returncode == 1
    assert ps.stderr.splitlines() == [ps.stderr.strip()] and str(path) in ps.stderr
    assert f"`pynet rm -f {seen['id']}`" in ps.stderr and "internal error" not in ps.stderr

    ref = "c1" if damage == "garbage" else seen["id"]  # by name (the index) and by full ID
    rm = host.pynet("rm", "-f", ref, check=False)
    assert (rm.returncode, rm.stdout, rm.stderr) == (0, f"{ref}\n", ""), rm
    assert not path.exists()
    _assert_all_removed(host, seen)


def test_rm_f_with_a_damaged_endpoint_record(host: Host) -> None:
    seen = _started(host)
    path = host.state_dir / "endpoints" / f"{seen['endpoint']}.json"
    path.write_text("[not json")
    rm_plain = host.pynet("rm", "c1", check=False)  # control: running, no -f
    assert rm_plain.returncode == 1 and "You cannot remove a running container" in rm_plain.stderr
    rm = host.pynet("rm", "-f", "c1", check=False)
    assert (rm.returncode, rm.stderr) == (0, ""), rm
    _assert_all_removed(host, seen)


def test_corrupt_name_index_does_not_block_create_or_rm(host: Host) -> None:
    host.pynet("network", "create", "n0")
    index = host.state_dir / "networks" / "_names.json"
    index.write_text("{torn")
    assert host.pynet("network", "create", "n2").returncode == 0
    assert json.loads(index.read_text()).keys() >= {"bridge", "host", "none", "n0", "n2"}
    assert host.pynet("network", "rm", "n0", "n2").stdout.split() == ["n0", "n2"]
    names = host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert names == ["bridge", "host", "none"]


def test_second_host_or_null_network_is_refused(host: Host) -> None:
    before = host.pynet("network", "ls", "-q").stdout
    for driver in ("host", "null"):
        cp = host.pynet("network", "create", "-d", driver, "x", check=False)
        assert (cp.returncode, cp.stderr) == (
            1,
            f'Error response from daemon: only one instance of "{driver}" network is allowed\n',
        )
    assert host.pynet("network", "ls", "-q").stdout == before


def test_host_mode_refuses_a_static_ip_and_makes_nothing(host: Host) -> None:
    cp = host.pynet("run", "--network", "host", "--ip", "10.1.2.3", "true", check=False)
    assert (cp.returncode, cp.stderr) == (
        125,
        "pynet: Error response from daemon: user specified IP address is supported on user defined networks only.\n",
    )
    assert host.pynet("ps", "-a", "-q").stdout == ""
    assert host.pynet("run", "--network", "host", "true").returncode == 0  # control


def test_disconnect_f_of_an_unconnected_container_fails(host: Host) -> None:
    host.pynet("network", "create", "n1")
    host.pynet("network", "create", "n2")
    cid = host.pynet("run", "-d", "--name", "c1", "--network", "n1", "sleep", "300").stdout.strip()
    for args in (["-f"], []):
        cp = host.pynet("network", "disconnect", *args, "n2", "c1", check=False)
        assert (cp.returncode, cp.stderr) == (
            1,
            f"Error response from daemon: container {cid} is not connected to network n2\n",
        ), args
    assert host.pynet("network", "disconnect", "-f", "n1", "c1").returncode == 0  # control
    host.pynet("rm", "-f", "c1")


def test_bad_mtu_is_libnetworks_parse_error(host: Host) -> None:
    cp = host.pynet("network", "create", "-o", "com.docker.network.driver.mtu=abc", "m1", check=False)
    assert (cp.returncode, cp.stderr) == (
        1,
        "Error response from daemon: failed to parse com.docker.network.driver.mtu value: abc "
        '(strconv.Atoi: parsing "abc": invalid syntax)\n',
    )
    assert [l["ifname"] for l in host.ip_json("link") if l["ifname"].startswith("br-")] == []


def test_internal_network_shows_no_port_mapping(host: Host) -> None:
    host.pynet("network", "create", "--internal", "inet")
    host.pynet("network", "create", "open")
    host.pynet("run", "-d", "--name", "i1", "--network", "inet", "-p", "8080:80", "sleep", "300")
    host.pynet("run", "-d", "--name", "o1", "--network", "open", "-p", "8081:80", "sleep", "300")
    assert host.pynet("port", "i1").stdout == ""
    assert host.pynet("port", "o1").stdout == "80/tcp -> 0.0.0.0:8081\n80/tcp -> [::]:8081\n"  # control
    ports = dict(
        line.split("\t") for line in host.pynet("ps", "--format", "{{.Names}}\t{{.Ports}}").stdout.splitlines()
    )
    assert ports == {"i1": "", "o1": "0.0.0.0:8081->80/tcp, [::]:8081->80/tcp"}
    assert "8080" not in _ruleset(host)
    # Nothing holds 8080: another container can publish it.
    assert host.pynet("run", "-d", "--name", "o2", "--network", "open", "-p", "8080:80", "sleep", "300").returncode == 0
    host.pynet("rm", "-f", "i1", "o1", "o2")


def test_bridge_name_of_an_existing_non_bridge_device_is_refused(host: Host) -> None:
    cp = host.pynet("network", "create", "-o", "com.docker.network.bridge.name=lo", "t", check=False)
    assert cp.returncode == 1
    assert cp.stderr == "Error response from daemon: existing interface lo is not a bridge\n", cp.stderr
    assert "t" not in host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    lo = host.ip_json("link", "show", "lo")[0]
    assert "UP" in lo["flags"] and "master" not in lo
    # Control: an existing bridge of that name is adopted, as Docker does.
    host.sh("ip", "link", "add", "br-mine", "type", "bridge")
    assert host.pynet("network", "create", "-o", "com.docker.network.bridge.name=br-mine", "t").returncode == 0
    host.pynet("network", "rm", "t")


def test_system_reset_removes_a_container_with_a_damaged_record(host: Host) -> None:
    seen = _started(host)
    (host.state_dir / "containers" / f"{seen['id']}.json").write_text("{")
    cp = host.pynet("system", "reset", "-f", check=False)
    assert (cp.returncode, cp.stderr) == (0, ""), cp
    wait_for(lambda: not alive(seen["pid"]), timeout=10, desc="container process gone")
    assert not Path(seen["netns"]).exists()
    wait_for(lambda: _veths(host) == [], timeout=10, desc="veth gone")
    assert "8080" not in _ruleset(host)

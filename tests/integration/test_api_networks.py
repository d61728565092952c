"""Networks through the Engine API: the same core, lock and state as the CLI.

A `pynet system service` in a throwaway host; requests as the docker CLI (map-form filters)
and docker-py (list-form filters, only ``Name`` in create) send them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from apiclient import call
from harness import Host
from test_api_security import Served, sock_dir  # noqa: F401 (fixture)


@pytest.fixture
def api(host: Host, sock_dir: Path):  # noqa: F811
    server = Served(host, sock_dir)
    yield server
    server.stop()


def _filters(obj: dict) -> str:
    return "?filters=" + quote(json.dumps(obj))


def test_a_network_made_by_either_door_has_identical_inspect_json(host: Host, api: Served) -> None:
    host.pynet("network", "create", "--subnet", "10.61.0.0/24", "--label", "k=v", "bycli")
    status, body = call(
        api.sock,
        "POST",
        "/v1.41/networks/create",
        {
            "Name": "byapi",
            "Driver": "bridge",
            "IPAM": {
                "Driver": "default",
                "Options": {},
                "Config": [{"Subnet": "10.62.0.0/24", "Gateway": "10.62.0.1"}],
            },
            "Labels": {"k": "v"},
            "Options": {},
            "CheckDuplicate": True,
            "SomethingNewer": {"ignored": True},
        },
    )
    assert status == 201 and set(body) == {"Id", "Warning"}
    for name in ("bycli", "byapi"):
        cli = host.pynet_json("network", "inspect", name)[0]
        status, via_api = call(api.sock, "GET", f"/v1.41/networks/{name}")
        assert status == 200 and via_api == cli
    assert call(api.sock, "GET", "/v1.41/networks/byapi?verbose=true")[1]["Name"] == "byapi"
    assert host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split() == [
        "bridge",
        "byapi",
        "bycli",
        "host",
        "none",
    ]


def test_docker_pys_minimal_create_gets_dockers_defaults(api: Served) -> None:
    status, body = call(api.sock, "POST", "/networks/create", {"Name": "pyn"})
    assert status == 201
    net = call(api.sock, "GET", f"/networks/{body['Id']}")[1]
    assert (net["Driver"], net["Scope"], net["Internal"], net["EnableIPv6"]) == ("bridge", "local", False, False)
    assert net["IPAM"]["Driver"] == "default" and net["IPAM"]["Options"] is None
    assert len(net["IPAM"]["Config"]) == 1 and net["IPAM"]["Config"][0]["Subnet"]
    assert call(api.sock, "POST", "/networks/create", {"Name": "pyn"}) == (
        409,
        {"message": "network with name pyn already exists"},
    )


def test_list_filters_in_both_encodings(api: Served) -> None:
    ids = {}
    for name, labels in (("alpha", {"tier": "a"}), ("beta", {"tier": "b"}), ("alphabet", {})):
        ids[name] = call(api.sock, "POST", "/networks/create", {"Name": name, "Labels": labels})[1]["Id"]

    def names(query: str) -> list[str]:
        status, body = call(api.sock, "GET", "/v1.41/networks" + query)
        assert status == 200, body
        return sorted(n["Name"] for n in body)

    assert names(_filters({"name": {"alpha": True}})) == ["alpha", "alphabet"]  # CLI map form
    assert names(_filters({"name": ["beta"]})) == ["beta"]  # docker-py list form
    assert names(_filters({"id": [ids["beta"][:8]]})) == ["beta"]
    assert names(_filters({"label": {"tier=a": True}})) == ["alpha"]
    assert names(_filters({"label": ["tier"]})) == ["alpha", "beta"]
    assert names(_filters({"driver": ["null"]})) == ["none"]
    assert names(_filters({"type": ["custom"]})) == ["alpha", "alphabet", "beta"]
    assert names(_filters({"scope": ["local"], "type": ["builtin"]})) == ["bridge", "host", "none"]
    assert names(_filters({"dangling": ["true"]})) == ["alpha", "alphabet", "beta"]
    assert names("") == ["alpha", "alphabet", "beta", "bridge", "host", "none"]
    status, body = call(api.sock, "GET", "/networks" + _filters({"bogus": ["x"]}))
    assert status == 400 and body == {"message": "Invalid filter 'bogus'"}
    status, body = call(api.sock, "GET", "/networks" + _filters({"type": ["nope"]}))
    assert status == 400 and body == {"message": "Invalid filter: 'type'='nope'"}


def test_remove_and_prune_answer_as_dockerd(api: Served) -> None:
    assert call(api.sock, "DELETE", "/networks/bridge") == (
        403,
        {"message": "bridge is a pre-defined network and cannot be removed"},
    )
    assert call(api.sock, "DELETE", "/networks/nope") == (404, {"message": "network nope not found"})
    call(api.sock, "POST", "/networks/create", {"Name": "test 01"})
    assert call(api.sock, "GET", "/networks/test%2001")[1]["Name"] == "test 01"
    assert call(api.sock, "DELETE", "/networks/test%2001") == (204, None)
    for name, labels in (("keep", {"keep": "1"}), ("p1", {}), ("p2", {})):
        call(api.sock, "POST", "/networks/create", {"Name": name, "Labels": labels})
    status, body = call(api.sock, "POST", "/networks/prune" + _filters({"label!": ["keep"]}))
    assert status == 200 and sorted(body["NetworksDeleted"]) == ["p1", "p2"]
    assert call(api.sock, "POST", "/networks/prune")[1] == {"NetworksDeleted": ["keep"]}
    assert call(api.sock, "POST", "/networks/prune")[1] == {"NetworksDeleted": None}


def test_connect_disconnect_and_a_created_container_holds_nothing(host: Host, api: Served) -> None:
    call(api.sock, "POST", "/networks/create", {"Name": "n1", "IPAM": {"Config": [{"Subnet": "10.63.0.0/24"}]}})
    call(api.sock, "POST", "/networks/create", {"Name": "n2"})
    status, body = call(
        api.sock,
        "POST",
        "/v1.41/containers/create?name=c1",
        {
            "Cmd": ["sleep", "300"],
            "Image": "",
            "HostConfig": {"NetworkMode": "n1", "LogConfig": {"Type": "json-file"}},
            "NetworkingConfig": {
                "EndpointsConfig": {"n1": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "10.63.0.9"}}}
            },
        },
    )
    assert status == 201, body
    cid = body["Id"]
    # created: no sandbox, no veth, nothing in the network; the settings asked for are shown
    links = {link["ifname"] for link in host.ip_json("link")}
    assert not any(name.startswith("veth") for name in links)
    c = call(api.sock, "GET", "/containers/c1/json")[1]
    assert c["State"]["Status"] == "created" and c["NetworkSettings"]["SandboxKey"] == ""
    assert c["HostConfig"]["LogConfig"]["Type"] == "json-file"
    n1 = c["NetworkSettings"]["Networks"]["n1"]
    assert (n1["IPAMConfig"], n1["Aliases"], n1["IPAddress"]) == ({"IPv4Address": "10.63.0.9"}, ["db"], "")
    assert call(api.sock, "GET", "/networks/n1")[1]["Containers"] == {}
    # connect before the start: recorded, joined at start
    body = {"Container": "c1", "EndpointConfig": {"MacAddress": "02:42:ac:11:00:02", "Aliases": ["x"]}}
    assert call(api.sock, "POST", "/networks/n2/connect", body) == (200, None)
    assert call(api.sock, "POST", "/networks/n2/connect", {"Container": "c1"})[0] == 409
    c = call(api.sock, "GET", "/containers/c1/json")[1]
    assert c["NetworkSettings"]["Networks"]["n2"]["MacAddress"] == "02:42:ac:11:00:02"
    assert call(api.sock, "POST", f"/containers/{cid[:12]}/start") == (204, None)
    assert call(api.sock, "POST", "/containers/c1/start") == (304, None)
    c = call(api.sock, "GET", "/containers/c1/json")[1]
    nets = c["NetworkSettings"]["Networks"]
    assert nets["n1"]["IPAddress"] == "10.63.0.9" and "db" in nets["n1"]["Aliases"]
    assert nets["n2"]["MacAddress"] == "02:42:ac:11:00:02"
    # the kernel agrees: eth0 on n1 with the asked address, eth1 with the asked MAC
    key = c["NetworkSettings"]["SandboxKey"]
    addrs = json.loads(host.sh("nsenter", f"--net={key}", "ip", "-j", "addr").stdout)
    by_name = {a["ifname"]: a for a in addrs}
    assert "10.63.0.9" in [i["local"] for i in by_name["eth0"]["addr_info"]]
    assert by_name["eth1"]["address"] == "02:42:ac:11:00:02"
    assert cid in call(api.sock, "GET", "/networks/n2")[1]["Containers"]
    # the CLI sees the same container
    assert host.pynet_json("inspect", "c1")[0] == c
    # disconnect, with and without Force; a second one fails
    assert call(api.sock, "POST", "/networks/n2/disconnect", {"Container": "c1", "Force": True}) == (200, None)
    assert call(api.sock, "GET", "/networks/n2")[1]["Containers"] == {}
    status, body = call(api.sock, "POST", "/networks/n2/disconnect", {"Container": "c1"})
    assert status == 409 and body["message"] == f"container {cid} is not connected to network n2"
    assert call(api.sock, "DELETE", "/containers/c1") == (
        409,
        {
            "message": f"You cannot remove a running container {cid}. Stop the container before "
            "attempting removal or force remove"
        },
    )
    assert call(api.sock, "DELETE", "/containers/c1?force=1") == (204, None)
    assert call(api.sock, "GET", "/containers/c1/json") == (404, {"message": "No such container: c1"})


def test_a_missing_network_fails_the_start_not_the_create(host: Host, api: Served) -> None:
    """As dockerd 20.10: create takes a network that does not exist, start answers its 404
    and makes nothing; once the network exists, the same container starts on it."""
    body = {"Cmd": ["sleep", "30"], "HostConfig": {"NetworkMode": "later"}}
    assert call(api.sock, "POST", "/containers/create?name=c1", body)[0] == 201
    assert call(api.sock, "POST", "/containers/c1/start") == (404, {"message": "network later not found"})
    state = call(api.sock, "GET", "/containers/c1/json")[1]["State"]
    assert (state["Status"], state["ExitCode"], state["Error"]) == ("created", 128, "network later not found")
    assert host.pynet("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == "c1 created\n"
    assert host.ip_json("link", "show", "type", "veth") == []  # nothing made
    host.pynet("network", "create", "--subnet", "10.77.0.0/24", "later")
    assert call(api.sock, "POST", "/containers/c1/start") == (204, None)
    [info] = host.pynet_json("inspect", "c1")
    assert info["State"]["Status"] == "running" and info["State"]["Error"] == ""
    assert info["NetworkSettings"]["Networks"]["later"]["IPAddress"] == "10.77.0.2"
    assert call(api.sock, "DELETE", "/containers/c1?force=1") == (204, None)


def test_twenty_clients_at_once_lose_nothing(host: Host, api: Served) -> None:
    errors: list[str] = []

    def client(i: int) -> None:
        try:
            status, body = call(api.sock, "POST", "/networks/create", {"Name": f"cc{i}"}, timeout=120)
            assert status == 201, body
            status, body = call(
                api.sock,
                "POST",
                f"/containers/create?name=w{i}",
                {"Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": f"cc{i}"}},
                timeout=120,
            )
            assert status == 201, body
            assert call(api.sock, "POST", f"/containers/w{i}/start", timeout=120)[0] == 204
            if i % 2:
                assert call(api.sock, "DELETE", f"/containers/w{i}?force=1", timeout=120)[0] == 204
                assert call(api.sock, "DELETE", f"/networks/cc{i}", timeout=120)[0] == 204
        except Exception as exc:  # collected: the assertion below names every failure
            errors.append(f"client {i}: {exc!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == []
    running = sorted(c["Names"][0] for c in call(api.sock, "GET", "/containers/json")[1])
    assert running == sorted(f"/w{i}" for i in range(0, 20, 2))
    assert sorted(host.pynet("network", "ls", "--format", "{{.Name}}", "--filter", "name=cc").stdout.split()) == sorted(
        f"cc{i}" for i in range(0, 20, 2)
    )
    # every running container has its own address and veth: the kernel agrees with the state
    veths = [link for link in host.ip_json("link") if link["ifname"].startswith("veth")]
    assert len(veths) == 10
    for i in range(0, 20, 2):
        assert call(api.sock, "DELETE", f"/containers/w{i}?force=1", timeout=120)[0] == 204


def test_info_counts_what_the_cli_sees(host: Host, api: Served) -> None:
    host.pynet("network", "create", "i1")
    host.pynet("run", "-d", "--name", "r1", "--network", "i1", "sleep", "60")
    call(api.sock, "POST", "/containers/create?name=r2", {"Cmd": ["true"], "HostConfig": {"NetworkMode": "i1"}})
    status, info = call(api.sock, "GET", "/v1.41/info")
    assert status == 200
    assert (info["Containers"], info["ContainersRunning"], info["ContainersStopped"]) == (2, 1, 1)
    assert info["OSType"] == "linux" and info["Swarm"]["LocalNodeState"] == "inactive"
    assert info["DockerRootDir"] == str(host.state_dir)
    # the container list: running by default, all=1, filters in both encodings
    assert [c["Names"] for c in call(api.sock, "GET", "/containers/json")[1]] == [["/r1"]]
    listed = call(api.sock, "GET", "/containers/json?all=1")[1]
    assert sorted(c["Names"][0] for c in listed) == ["/r1", "/r2"]
    assert {c["Names"][0]: c["State"] for c in listed} == {"/r1": "running", "/r2": "created"}
    r1 = next(c for c in listed if c["Names"] == ["/r1"])
    assert r1["HostConfig"] == {"NetworkMode": "i1"} and "i1" in r1["NetworkSettings"]["Networks"]
    assert [
        c["Names"]
        for c in call(api.sock, "GET", "/containers/json?all=1" + _filters({"name": ["r2"]}).replace("?", "&"))[1]
    ] == [["/r2"]]
    assert [
        c["Names"]
        for c in call(
            api.sock, "GET", "/containers/json?all=1" + _filters({"status": {"created": True}}).replace("?", "&")
        )[1]
    ] == [["/r2"]]
    assert call(api.sock, "GET", "/containers/json" + _filters({"bogus": ["x"]}))[0] == 400
    assert call(api.sock, "DELETE", "/containers/r1?force=1")[0] == 204


def test_wait_sends_its_headers_at_once_and_the_code_of_a_removed_container(api: Served) -> None:
    """As `docker run --rm` orders it: create, wait?condition=removed, start."""
    from apiclient import UnixConnection

    body = {"Cmd": ["sh", "-c", "sleep 0.2; exit 3"], "HostConfig": {"AutoRemove": True}}
    assert call(api.sock, "POST", "/v1.41/containers/create?name=rm1", body)[0] == 201
    conn = UnixConnection(api.sock, timeout=30)
    try:
        conn.request("POST", "/v1.41/containers/rm1/wait?condition=removed")
        resp = conn.getresponse()  # the headers come before the container even starts
        assert resp.status == 200
        assert call(api.sock, "POST", "/v1.41/containers/rm1/start")[0] == 204
        assert json.loads(resp.read()) == {"StatusCode": 3, "Error": None}
    finally:
        conn.close()
    assert call(api.sock, "GET", "/containers/rm1/json")[0] == 404
    # next-exit of a container that does not run yet waits for its run
    body = {"Cmd": ["sh", "-c", "exit 7"]}
    assert call(api.sock, "POST", "/containers/create?name=ne1", body)[0] == 201
    conn = UnixConnection(api.sock, timeout=30)
    try:
        conn.request("POST", "/containers/ne1/wait?condition=next-exit")
        resp = conn.getresponse()
        assert call(api.sock, "POST", "/containers/ne1/start")[0] == 204
        assert json.loads(resp.read()) == {"StatusCode": 7, "Error": None}
    finally:
        conn.close()
    # not-running answers at once for a container that has exited
    assert call(api.sock, "POST", "/containers/ne1/wait") == (200, {"StatusCode": 7, "Error": None})
    assert call(api.sock, "POST", "/containers/ne1/wait?condition=bogus")[0] == 400

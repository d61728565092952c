"""The Engine API's image and exec endpoints that need no kernel: an in-process server
on a temp state (images imported by the core's ImageService)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiclient import call, request, served_in_process
from pynet.cnm.images import ImageService
from pynet.state.store import Store

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).parent.parent / "reference" / "docker"


@pytest.fixture
def sock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    root = tmp_path / "rootfs" / "bin"
    root.mkdir(parents=True)
    (root / "sh").write_text("#!/bin/true\n")
    ImageService(Store(tmp_path / "state")).import_(str(root.parent), "alpine:3.10", ['CMD ["sh"]'])
    with served_in_process(tmp_path, monkeypatch) as path:
        yield path


def test_images_json_and_inspect(sock: str) -> None:
    status, listed = call(sock, "GET", "/v1.41/images/json")
    assert status == 200 and [i["RepoTags"] for i in listed] == [["alpine:3.10"]]
    assert set(listed[0]) >= {"Id", "ParentId", "RepoTags", "RepoDigests", "Created", "Size", "Labels", "Containers"}
    status, info = call(sock, "GET", "/images/alpine:3.10/json")
    assert status == 200 and info["Id"] == listed[0]["Id"] and info["Config"]["Cmd"] == ["sh"]
    assert call(sock, "GET", "/images/docker.io%2Flibrary%2Falpine:3.10/json")[1]["Id"] == info["Id"]
    assert call(sock, "GET", "/images/alpine/json") == (404, {"message": "No such image: alpine:latest"})
    filtered = call(sock, "GET", '/images/json?filters={"reference":["busy*"]}')
    assert filtered == (200, [])
    assert call(sock, "GET", '/images/json?filters={"nope":["x"]}') == (400, {"message": "Invalid filter 'nope'"})


def test_exec_instances_unknown_are_404(sock: str) -> None:
    assert call(sock, "GET", "/exec/abc/json") == (404, {"message": "No such exec instance: abc"})
    assert call(sock, "POST", "/exec/abc/start", {"Detach": True}) == (404, {"message": "No such exec instance: abc"})
    assert call(sock, "POST", "/exec/abc/resize?h=1&w=2") == (404, {"message": "No such exec instance: abc"})


@pytest.mark.parametrize("agent", ["Docker-Client/20.10.24+dfsg1 (linux)", "python-requests/2.32", ""])
def test_a_missing_network_is_taken_at_create_and_fails_the_start(sock: str, agent: str) -> None:
    """dockerd 20.10 (checked with curl and both docker clients): create answers 201 whoever
    asks; start answers the network's 404 and leaves the container "created" with State.Error
    and exit code 128; with AutoRemove it is removed instead. Only an image is create's 404."""
    headers = {"User-Agent": agent} if agent else {}
    body = {"Image": "alpine:3.10", "HostConfig": {"NetworkMode": "nosuch"}}
    status, _, raw = request(sock, "POST", "/containers/create?name=c1", body, headers=headers)
    assert status == 201, raw
    cid = json.loads(raw)["Id"]
    status, _, raw = request(sock, "POST", "/containers/c1/start", headers=headers)
    assert (status, json.loads(raw)) == (404, {"message": "network nosuch not found"})
    info = call(sock, "GET", "/containers/c1/json")[1]
    state = info["State"]
    assert (state["Status"], state["ExitCode"], state["Error"]) == ("created", 128, "network nosuch not found")
    assert info["HostConfig"]["NetworkMode"] == "nosuch"
    assert list(info["NetworkSettings"]["Networks"]) == ["nosuch"]
    assert info["NetworkSettings"]["Networks"]["nosuch"]["NetworkID"] == ""
    listed = call(sock, "GET", "/containers/json?all=1")[1]
    assert [(c["Id"], c["State"]) for c in listed] == [(cid, "created")]
    assert call(sock, "DELETE", "/containers/c1") == (204, None)
    # AutoRemove: the failed start removes it
    auto = {**body, "HostConfig": {"NetworkMode": "nosuch", "AutoRemove": True}}
    assert call(sock, "POST", "/containers/create?name=c2", auto)[0] == 201
    assert call(sock, "POST", "/containers/c2/start") == (404, {"message": "network nosuch not found"})
    assert call(sock, "GET", "/containers/json?all=1") == (200, [])
    # an image that does not exist is create's 404
    assert call(sock, "POST", "/containers/create", {**body, "Image": "busybox"}) == (
        404,
        {"message": "No such image: busybox:latest"},
    )
    status, made = call(sock, "POST", "/containers/create", {**body, "HostConfig": {"NetworkMode": "none"}})
    assert status == 201 and made["Warnings"] == []  # host notices go to the service's stderr


def test_a_missing_container_target_is_taken_at_create_and_fails_the_start(sock: str) -> None:
    """dockerd 20.10: ``container:nosuch`` is a 201 at create and the start's 404."""
    body = {"Image": "alpine:3.10", "HostConfig": {"NetworkMode": "container:nosuch"}}
    assert call(sock, "POST", "/containers/create?name=j1", body)[0] == 201
    assert call(sock, "POST", "/containers/j1/start") == (404, {"message": "No such container: nosuch"})
    info = call(sock, "GET", "/containers/j1/json")[1]
    assert (info["State"]["ExitCode"], info["State"]["Error"]) == (128, "No such container: nosuch")
    assert info["HostConfig"]["NetworkMode"] == "container:nosuch"


@pytest.mark.parametrize("path", ["/networks", "/containers/json", "/images/json"])
def test_an_unknown_filter_has_dockerd_20_10s_words(sock: str, path: str) -> None:
    assert call(sock, "GET", path + '?filters={"bogus":["1"]}') == (400, {"message": "Invalid filter 'bogus'"})


#: HostConfig keys pynet does not claim: it has no runtime, shm, IPC/cgroup namespaces or masks
NOT_CLAIMED = {"Runtime", "ShmSize", "IpcMode", "CgroupnsMode", "MaskedPaths", "ReadonlyPaths"}


def test_container_inspect_has_dockerds_keys(sock: str) -> None:
    """Clients index HostConfig without .get (docker-py: HostConfig['RestartPolicy'])."""
    ref = json.loads((REFERENCE / "inspect-container-c1.json").read_text())[0]
    body = {"Image": "alpine:3.10", "HostConfig": {"NetworkMode": "none"}}
    made = call(sock, "POST", "/containers/create", body)[1]
    status, info = call(sock, "GET", f"/containers/{made['Id']}/json")
    assert status == 200
    assert set(ref) - set(info) == {"GraphDriver"}
    assert set(ref["HostConfig"]) - set(info["HostConfig"]) == NOT_CLAIMED
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert info["HostConfig"]["NetworkMode"] == "none" and info["Mounts"] == []


def test_an_overlapping_pool_is_dockerds_403() -> None:
    from pynet.api.errors import status_and_message
    from pynet.drivers.ipam.pools import ERR_POOL_OVERLAP
    from pynet.errors import Conflict, PoolOverlap

    assert status_and_message(PoolOverlap(ERR_POOL_OVERLAP)) == (403, ERR_POOL_OVERLAP)
    assert status_and_message(Conflict("taken"))[0] == 409


def test_info_has_the_hosts_own_facts(sock: str) -> None:
    """/info's host fields come from the host (kernel/procnet via cnm/info), as dockerd's."""
    status, info = call(sock, "GET", "/info")
    assert status == 200
    meminfo = Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0]
    assert info["MemTotal"] == int(meminfo) * 1024
    assert info["IPv4Forwarding"] is (Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1")
    pretty = [ln for ln in Path("/etc/os-release").read_text().splitlines() if ln.startswith("PRETTY_NAME=")]
    assert info["OperatingSystem"] == (pretty[0].partition("=")[2].strip('"') if pretty else "Linux")

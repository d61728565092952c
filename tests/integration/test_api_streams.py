"""The Engine API's images, logs, attach, exec and events, spoken to over the socket in
raw HTTP (the docker CLI drives them in test_docker_cli.py): containers of an imported
busybox image in a throwaway host."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from apiclient import call, request
from apiserve import Service, frames
from harness import Host, busybox_rootfs

pytestmark = pytest.mark.integration


def by_stream(got: list[tuple[int, bytes]]) -> dict[int, bytes]:
    """Each stream's bytes in order (the order across two pipes is not kept, as in Docker)."""
    out: dict[int, bytes] = {}
    for stream, payload in got:
        out[stream] = out.get(stream, b"") + payload
    return out


@pytest.fixture
def api(host: Host, tmp_path: Path):  # type: ignore[no-untyped-def]
    host.pynet("image", "import", busybox_rootfs(tmp_path / "bb"), "busybox")
    host.pynet("network", "create", "n1")
    sock_dir = Path(tempfile.mkdtemp(prefix="pn-api-", dir="/tmp"))
    service = Service(host, sock_dir)
    try:
        yield service
    finally:
        service.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_images_list_inspect_and_remove(api: Service) -> None:
    status, listed = call(api.sock, "GET", "/v1.41/images/json")
    assert status == 200 and [i["RepoTags"] for i in listed] == [["busybox:latest"]]
    image_id = listed[0]["Id"]
    assert image_id.startswith("sha256:") and listed[0]["Size"] > 100_000
    status, info = call(api.sock, "GET", "/images/docker.io/library/busybox:latest/json")
    assert status == 200 and info["Id"] == image_id and info["Os"] == "linux"
    assert info == api.host.pynet_json("image", "inspect", "busybox")[0]
    assert call(api.sock, "GET", "/images/nope/json") == (404, {"message": "No such image: nope:latest"})
    api.host.pynet("run", "-d", "--name", "user", "--image", "busybox", "sleep", "300")
    status, refused = call(api.sock, "DELETE", "/images/busybox")
    assert status == 409 and refused["message"].startswith('conflict: unable to remove repository reference "busybox"')
    api.host.pynet("rm", "-f", "user")
    assert call(api.sock, "DELETE", "/images/busybox") == (
        200,
        [{"Untagged": "busybox:latest"}, {"Deleted": image_id}],
    )
    assert call(api.sock, "GET", "/images/json") == (200, [])


def test_logs_keep_stdout_and_stderr_apart(api: Service) -> None:
    api.host.pynet(
        "run", "-d", "--name", "c1", "--network", "n1", "--image", "busybox", "sh", "-c",
        "echo out; echo err >&2; echo more; exec sleep 300",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        status, _, body = request(api.sock, "GET", "/containers/c1/logs?stdout=1&stderr=1")
        if by_stream(frames(body)) == {1: b"out\nmore\n", 2: b"err\n"} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200 and by_stream(frames(body)) == {1: b"out\nmore\n", 2: b"err\n"}
    only_out = request(api.sock, "GET", "/containers/c1/logs?stdout=1&stderr=0")[2]
    assert frames(only_out) == [(1, b"out\n"), (1, b"more\n")]
    assert len(frames(request(api.sock, "GET", "/containers/c1/logs?stdout=1&stderr=1&tail=1")[2])) == 1
    assert call(api.sock, "GET", "/containers/c1/logs") == (
        400,
        {"message": "Bad parameters: you must choose at least one stream"},
    )
    # pynet logs gives the same streams back to stdout and stderr
    cp = api.host.pynet("logs", "c1")
    assert (cp.stdout, cp.stderr) == ("out\nmore\n", "err\n")
    # attach with logs=1 and no stream: what is there, then the server closes
    status_line, raw = api.hijack("/v1.41/containers/c1/attach?logs=1&stream=0&stdout=1&stderr=1")
    assert status_line == "HTTP/1.1 101 UPGRADED"
    assert by_stream(frames(raw)) == {1: b"out\nmore\n", 2: b"err\n"}


def test_attach_follows_until_the_container_exits(api: Service) -> None:
    api.host.pynet("run", "-d", "--name", "late", "--image", "busybox", "sh", "-c", "sleep 1; echo late; echo bad >&2")
    started = time.monotonic()
    status_line, raw = api.hijack("/containers/late/attach?stream=1&stdout=1&stderr=1")
    assert status_line == "HTTP/1.1 101 UPGRADED"
    assert by_stream(frames(raw)) == {1: b"late\n", 2: b"bad\n"}
    assert time.monotonic() - started < 15  # ended with the container, not by the timeout
    status, info = call(api.sock, "GET", "/containers/late/json")
    assert status == 200 and info["State"]["Status"] == "exited"
    # attached while exited, it follows the next run (`docker start -a` attaches, then starts)
    got: list[tuple[str, bytes]] = []
    attacher = threading.Thread(target=lambda: got.append(api.hijack("/containers/late/attach?stream=1&stdout=1")))
    attacher.start()
    time.sleep(0.5)
    assert call(api.sock, "POST", "/containers/late/start") == (204, None)
    attacher.join(timeout=20)
    assert got and frames(got[0][1]) == [(1, b"late\n")]


def test_exec_streams_and_exit_code(api: Service) -> None:
    api.host.pynet("run", "-d", "--name", "c1", "--network", "n1", "--image", "busybox", "sleep", "300")
    status, made = call(
        api.sock,
        "POST",
        "/v1.41/containers/c1/exec",
        {
            "Cmd": ["sh", "-c", "echo a; echo b >&2; nslookup c1 >/dev/null && exit 5"],
            "AttachStdout": True,
            "AttachStderr": True,
        },
    )
    assert status == 201
    status_line, raw = api.hijack(f"/v1.41/exec/{made['Id']}/start", {"Detach": False, "Tty": False})
    assert status_line == "HTTP/1.1 101 UPGRADED"
    assert sorted(frames(raw)) == [(1, b"a\n"), (2, b"b\n")]
    status, info = call(api.sock, "GET", f"/exec/{made['Id']}/json")
    assert status == 200 and (info["Running"], info["ExitCode"]) == (False, 5)
    # a command that does not exist: the CLI's 126/127 come back as the exit code
    status, made = call(api.sock, "POST", "/containers/c1/exec", {"Cmd": ["nope"], "AttachStdout": True})
    _, raw = api.hijack(f"/exec/{made['Id']}/start", {})
    assert b"executable file not found" in raw
    assert call(api.sock, "GET", f"/exec/{made['Id']}/json")[1]["ExitCode"] == 127
    assert call(api.sock, "GET", "/exec/nope/json") == (404, {"message": "No such exec instance: nope"})
    api.host.pynet("stop", "-t", "1", "c1")
    status, refused = call(api.sock, "POST", "/containers/c1/exec", {"Cmd": ["true"]})
    assert status == 409 and refused["message"].endswith("is not running")


def test_events_replay_and_filters(api: Service) -> None:
    since = int(time.time()) - 1
    api.host.pynet("run", "-d", "--name", "c1", "--network", "n1", "--image", "busybox", "sleep", "300")
    api.host.pynet("rm", "-f", "c1")
    until = time.time() + 0.5
    time.sleep(0.6)
    filters = urllib.parse.quote(json.dumps({"type": {"container": True}}))
    status, headers, body = request(api.sock, "GET", f"/events?since={since}&until={until:.3f}&filters={filters}")
    assert status == 200 and headers["content-type"] == "application/json"
    events = [json.loads(line) for line in body.splitlines()]
    assert [(e["Type"], e["Action"]) for e in events] == [
        ("container", "create"),
        ("container", "start"),
        ("container", "die"),
        ("container", "destroy"),
    ]
    assert events[0]["Actor"]["Attributes"]["image"] == "busybox" and events[0]["from"] == "busybox"

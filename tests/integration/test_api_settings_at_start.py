"""Through the Engine API, an address or alias a network cannot take is refused by the
start, not the create — as dockerd does (tests/reference/docker/api-settings-at-start.txt:
the 20.10 client against dockerd 20.10; here the same client against pynet's API).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

from apiclient import call
from apiserve import Service
from harness import Host, busybox_rootfs, run

pytestmark = pytest.mark.integration

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "docker" / "api-settings-at-start.txt"
DOCKER_2010 = "/usr/bin/docker"
# not output of the command: the 20.10 client's log line when `run`'s wait is cancelled (timestamped)
NOISE = re.compile(r'^time="[^"]*" level=error msg="error waiting for container: context canceled"$')


def _blocks(text: str) -> list[tuple[str, list[str], str]]:
    """``$ ARGS`` / output lines / ``exit N`` blocks; IDs, blank and noise lines dropped."""
    out: list[tuple[str, list[str], str]] = []
    for chunk in text.split("$ ")[1:]:
        args, *lines = chunk.rstrip("\n").split("\n")
        status = lines.pop()
        kept = [line for line in lines if line and not re.fullmatch(r"[0-9a-f]{64}", line) and not NOISE.match(line)]
        out.append((args, kept, status))
    return out


@pytest.fixture
def api(host: Host, tmp_path: Path):  # type: ignore[no-untyped-def]
    host.pynet("image", "import", busybox_rootfs(tmp_path / "bb"), "busybox")
    sock_dir = Path(tempfile.mkdtemp(prefix="pn-api-", dir="/tmp"))
    server = Service(host, sock_dir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_the_start_refuses_what_dockerds_start_refuses(api: Service, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / ".docker"),
        "DOCKER_HOST": f"unix://{api.sock}",
    }
    expected = _blocks(REFERENCE.read_text())
    got = []
    for args, _, _ in expected:
        p = run([DOCKER_2010, *shlex.split(args)], check=False, env=env, timeout=60)
        got.append(_blocks(f"$ {args}\n{p.stdout}{p.stderr}\nexit {p.returncode}\n")[0])
    assert got == expected


def test_an_alias_on_host_is_taken_by_create_and_refused_by_start(api: Service) -> None:
    """docker-py may send one (the docker CLI refuses it itself); dockerd 20.10 answers 201, then 400."""
    body = {
        "Image": "busybox",
        "Cmd": ["true"],
        "HostConfig": {"NetworkMode": "host"},
        "NetworkingConfig": {"EndpointsConfig": {"host": {"Aliases": ["foo"]}}},
    }
    status, created = call(api.sock, "POST", "/v1.41/containers/create?name=al", body)
    assert status == 201, created
    assert call(api.sock, "POST", "/v1.41/containers/al/start") == (
        400,
        {"message": "network-scoped alias is supported only for containers in user defined networks"},
    )
    body["NetworkingConfig"] = {"EndpointsConfig": {"host": {}}}  # control: without the alias it starts
    assert call(api.sock, "POST", "/v1.41/containers/create?name=ok", body)[0] == 201
    assert call(api.sock, "POST", "/v1.41/containers/ok/start")[0] == 204

"""docker-py's own network integration tests, unmodified, against `pynet system service`.

The files are upstream's (tests/vendor/docker_py, hash-checked by
tests/unit/test_docker_py_vendored.py). They run in a throwaway host with its own state
dir (test_prune_networks removes every unused network) against a server this test starts
and stops by PID; the image they use, ``alpine:3.10`` (and ``alpine``), is a busybox root
filesystem imported under those names. Swarm tests are deselected: pynet is no swarm node.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from apiserve import Service
from harness import Host, busybox_rootfs

pytestmark = pytest.mark.integration

VENDOR = Path(__file__).resolve().parents[1] / "vendor" / "docker_py"
SWARM_ONLY = (
    "integration/api_network_test.py::TestNetworks::test_create_network_attachable",
    "integration/api_network_test.py::TestNetworks::test_create_network_ingress",
    "integration/api_network_test.py::TestNetworks::test_create_inspect_network_with_scope",
)
# every test of the two files but the swarm ones: a test added upstream must be seen here
EXPECTED = 30


def test_docker_pys_network_tests_pass_unmodified(host: Host, tmp_path: Path) -> None:
    pytest.importorskip("docker", reason="docker-py is in the test extras (pyproject.toml)")
    rootfs = busybox_rootfs(tmp_path / "alpine")
    host.pynet("image", "import", rootfs, "alpine:3.10")
    host.pynet("image", "import", rootfs, "alpine:latest")
    sock_dir = Path(tempfile.mkdtemp(prefix="pn-dpy-", dir="/tmp"))
    service = Service(host, sock_dir)
    try:
        env = {k: v for k, v in host.env.items() if not k.startswith("DOCKER_")}
        env.update(DOCKER_HOST=f"unix://{service.sock}", PYTHONDONTWRITEBYTECODE="1")
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--confcutdir",
            str(VENDOR),
            "--rootdir",
            str(VENDOR),
            "-o",
            "addopts=",
            "-o",
            "timeout=120",
            "-q",
            "-rfE",
            *(a for node in SWARM_ONLY for a in ("--deselect", node)),
            "integration/api_network_test.py",
            "integration/models_networks_test.py",
        ]
        cp = subprocess.run(host.nsenter(argv), cwd=VENDOR, env=env, capture_output=True, text=True, timeout=600)
        summary = cp.stdout.strip().splitlines()[-1] if cp.stdout.strip() else ""
        assert cp.returncode == 0, f"{cp.stdout[-6000:]}\n{cp.stderr[-3000:]}\n--- server ---\n{_log(sock_dir)}"
        assert f"{EXPECTED} passed, {len(SWARM_ONLY)} deselected" in summary, cp.stdout[-3000:]
    finally:
        service.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def _log(sock_dir: Path) -> str:
    log = sock_dir / "server.log"
    return log.read_text()[-3000:] if log.exists() else ""

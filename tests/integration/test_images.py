"""Images: `pynet image import/ls/inspect/rm` and containers that run in an image's root
filesystem (`run --image`) with /proc, /dev and pynet's /etc files — on a bare busybox
root (only bin/busybox and its links) imported in a throwaway host."""

from __future__ import annotations

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness import Host, busybox_rootfs

pytestmark = pytest.mark.integration

SHA = re.compile(r"^sha256:[0-9a-f]{64}$")


@pytest.fixture
def imaged(host: Host, tmp_path: Path) -> Host:
    """A host with `busybox` imported and a network `n1` holding `c1` (busybox sleep)."""
    out = host.pynet("image", "import", busybox_rootfs(tmp_path / "bb"), "busybox").stdout.strip()
    assert SHA.match(out), out
    host.pynet("network", "create", "n1")
    host.pynet("run", "-d", "--name", "c1", "--network", "n1", "--image", "busybox", "sleep", "300")
    return host


def run_in_image(host: Host, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return host.pynet("run", "--rm", "--network", "n1", "--image", "busybox", *argv, check=check, timeout=30)


def test_image_ls_and_inspect(imaged: Host) -> None:
    lines = imaged.pynet("image", "ls").stdout.splitlines()
    assert re.match(r"^REPOSITORY\s{3}TAG\s+IMAGE ID\s+CREATED\s+SIZE$", lines[0]), lines
    repo, tag, short_id, *_rest, size = re.split(r"\s{2,}", lines[1])
    assert (repo, tag) == ("busybox", "latest")
    assert re.match(r"^\d+(\.\d+)?[kM]B$", size), size
    [info] = imaged.pynet_json("image", "inspect", "busybox")
    assert info["Id"] == "sha256:" + info["Id"][7:] and info["Id"][7:19] == short_id
    assert info["RepoTags"] == ["busybox:latest"] and info["Os"] == "linux" and info["Size"] > 100_000
    assert imaged.pynet("image", "ls", "-q").stdout == short_id + "\n"
    assert imaged.pynet("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout == "busybox:latest\n"
    # the container shows its image as Docker does
    assert imaged.pynet("inspect", "-f", "{{.Config.Image}} {{.Image}}", "c1").stdout.split() == ["busybox", info["Id"]]
    assert "busybox" in imaged.pynet("ps", "--format", "{{.Image}}").stdout


def test_name_resolution_ping_and_top_in_bare_busybox(imaged: Host) -> None:
    c1_ip = imaged.pynet("inspect", "-f", "{{.NetworkSettings.Networks.n1.IPAddress}}", "c1").stdout.strip()
    looked = run_in_image(imaged, "nslookup", "c1")
    assert "Server:\t\t127.0.0.11" in looked.stdout and f"Address: {c1_ip}" in looked.stdout, looked.stdout
    # positive control for "a name that does not exist does not resolve"
    missing = run_in_image(imaged, "nslookup", "nosuchname", check=False)
    assert missing.returncode != 0 and c1_ip not in missing.stdout
    pinged = run_in_image(imaged, "ping", "-c1", "-W2", "c1")
    assert "1 packets received" in pinged.stdout
    top = run_in_image(imaged, "top", "-b", "-n1")
    assert "PID" in top.stdout and "sleep 300" in top.stdout
    etc = run_in_image(imaged, "sh", "-c", "cat /etc/resolv.conf /etc/hostname; ls /dev /dev/pts")
    assert "nameserver 127.0.0.11" in etc.stdout
    for node in ("null", "zero", "urandom", "random", "tty", "ptmx", "pts", "shm"):
        assert re.search(rf"^{node}$", etc.stdout, re.M), (node, etc.stdout)


def test_containers_do_not_write_into_the_image(imaged: Host) -> None:
    run_in_image(imaged, "touch", "/made-by-a-container")
    seen = run_in_image(imaged, "ls", "/", check=False)
    assert "made-by-a-container" not in seen.stdout and "bin" in seen.stdout
    [info] = imaged.pynet_json("image", "inspect", "busybox")
    rootfs = Path(info["GraphDriver"]["Data"]["RootDir"])
    assert (rootfs / "bin" / "busybox").is_file() and not (rootfs / "made-by-a-container").exists()
    assert not (rootfs / "proc").exists() and not (rootfs / "etc").exists()


def test_an_image_container_s_layer_goes_with_it(imaged: Host) -> None:
    layer = imaged.state_dir / "containers" / imaged.pynet("inspect", "-f", "{{.Id}}", "c1").stdout.strip() / "layer"
    assert (layer / "upper").is_dir()
    imaged.pynet("rm", "-f", "c1")
    assert not layer.exists() and not layer.parent.exists()


def test_image_rm_refused_while_used(imaged: Host) -> None:
    short_c1 = imaged.pynet("inspect", "-f", "{{.Id}}", "c1").stdout.strip()[:12]
    short_img = imaged.pynet("image", "ls", "-q").stdout.strip()
    refused = imaged.pynet("image", "rm", "busybox", check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        'Error response from daemon: conflict: unable to remove repository reference "busybox" (must force) - '
        f"container {short_c1} is using its referenced image {short_img}\n"
    )
    forced = imaged.pynet("image", "rm", "-f", short_img, check=False)
    assert forced.returncode == 1 and "(cannot be forced) - image is being used by running container" in forced.stderr
    imaged.pynet("rm", "-f", "c1")
    removed = imaged.pynet("image", "rm", "busybox")
    assert removed.stdout.splitlines()[0] == "Untagged: busybox:latest"
    assert removed.stdout.splitlines()[1].startswith("Deleted: sha256:" + short_img)
    assert imaged.pynet("image", "ls", "-q").stdout == ""
    gone = imaged.pynet("run", "--rm", "--image", "busybox", "true", check=False)
    assert (gone.returncode, gone.stderr) == (
        125,
        "pynet: Error response from daemon: No such image: busybox:latest.\n",
    )


def test_tarball_import_with_cmd_and_bare_rootfs(host: Host, tmp_path: Path) -> None:
    root = busybox_rootfs(tmp_path / "bb")
    tarball = tmp_path / "bb.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, arcname=".")
    host.pynet("image", "import", "--change", 'CMD ["cat", "/etc/hostname"]', tarball, "alpine:3.10")
    out = host.pynet("run", "--rm", "--hostname", "fromcmd", "--image", "alpine:3.10").stdout
    assert out == "fromcmd\n"
    # `run --rootfs DIR` (no image): mount points made, /proc mounted, as with an image
    host.pynet("network", "create", "n2")
    host.pynet("run", "-d", "--name", "c2", "--network", "n2", "sleep", "300")
    looked = host.pynet("run", "--rm", "--network", "n2", "--rootfs", root, "nslookup", "c2", timeout=30)
    assert "Address: 172." in looked.stdout
    assert "sleep 300" in host.pynet("run", "--rm", "--rootfs", root, "ps").stdout

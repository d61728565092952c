"""Images without root or kernel: references, import (directory and tarball), lookup,
``image ls`` rendering and ``image rm``'s rules with containers that use an image."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pynet.cnm import image_views
from pynet.cnm.images import ImageService, parse_changes, run_argv
from pynet.errors import Conflict, InvalidArgument, NotFound
from pynet.records import image as refs
from pynet.records.model import Container, to_dict
from pynet.state.store import Store

pytestmark = pytest.mark.unit
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("busybox", "busybox:latest"),
        ("alpine:3.10", "alpine:3.10"),
        ("docker.io/library/alpine:3.10", "alpine:3.10"),
        ("docker.io/me/app", "me/app:latest"),
        ("localhost:5000/x/y:v1", "localhost:5000/x/y:v1"),
    ],
)
def test_references_are_normalized_as_docker_does(ref: str, expected: str) -> None:
    assert refs.normalize(ref) == expected


def test_a_repository_name_is_at_most_255_characters() -> None:
    assert refs.normalize("a" * 255) == "a" * 255 + ":latest"
    with pytest.raises(InvalidArgument, match="^invalid reference format: repository name must not be more than 255"):
        refs.normalize("a" * 256)


@pytest.mark.parametrize("ref", ["", "Busybox", "a b", "x:", "../etc", "x@sha256:abc", "bad:tag/with/slash:"])
def test_bad_references_are_docker_s_invalid_reference_format(ref: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        refs.normalize(ref)


def _rootfs(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    (path / "bin" / "tool").chmod(0o755)
    (path / "bin" / "alias").symlink_to("tool")
    return path


@pytest.fixture
def svc(tmp_path: Path) -> ImageService:
    return ImageService(Store(tmp_path / "state"))


def _container(svc: ImageService, cid: str, image_id: str, status: str) -> None:
    c = Container(
        id=cid, name="c-" + cid[:4], created="2026-01-01T00:00:00Z", path="sh", image_id=image_id, status=status
    )
    with svc.store.locked():
        txn = svc.store.begin()
        txn.put("containers", cid, {**to_dict(c), "schema_version": 1})
        txn.commit()


def test_import_a_directory_then_look_it_up_every_way(svc: ImageService, tmp_path: Path) -> None:
    img = svc.import_(str(_rootfs(tmp_path / "r")), "busybox", ['CMD ["sh"]', "ENV A=1 B=2", "WORKDIR /w"])
    assert img.repo_tags == ["busybox:latest"] and img.cmd == ["sh"] and img.env == ["A=1", "B=2"]
    assert img.workdir == "/w" and img.size == len("#!/bin/sh\necho hi\n")
    for ref in ("busybox", "busybox:latest", "docker.io/library/busybox", "sha256:" + img.id, img.id[:8]):
        assert svc.lookup(ref).id == img.id, ref
    root = svc.rootfs(img)
    assert (root / "bin" / "tool").read_text().endswith("echo hi\n") and os.readlink(root / "bin" / "alias") == "tool"
    with pytest.raises(NotFound, match=r"^No such image: busybox:1$"):
        svc.lookup("busybox:1")
    # nothing staged is left behind
    assert [p.name for p in svc.files.root.iterdir()] == [img.id]


def test_import_a_tarball_refuses_escaping_members(svc: ImageService, tmp_path: Path) -> None:
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tar:
        tar.add(_rootfs(tmp_path / "r"), arcname=".")
    img = svc.import_(str(good), "t:1", [])
    assert (svc.rootfs(img) / "bin" / "tool").is_file()
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../escaped")
        data = b"x"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(InvalidArgument, match="importing .*evil.tar"):
        svc.import_(str(evil), "evil", [])
    assert not (svc.files.root.parent / "escaped").exists() and not (tmp_path / "escaped").exists()
    assert [i.repo_tags for i in svc.images()] == [["t:1"]]  # the failed import left nothing


def test_import_under_a_used_tag_moves_it(svc: ImageService, tmp_path: Path) -> None:
    first = svc.import_(str(_rootfs(tmp_path / "r")), "app", [])
    second = svc.import_(str(tmp_path / "r"), "app", ['CMD ["x"]'])
    assert second.id != first.id
    assert svc.lookup("app").id == second.id
    rows = {r["ID"]: (r["Repository"], r["Tag"]) for i in svc.images() for r in image_views.image_ls_rows(i, 0)}
    assert rows[first.id[:12]] == ("<none>", "<none>") and rows[second.id[:12]] == ("app", "latest")


def test_rm_follows_dockerd_rules(svc: ImageService, tmp_path: Path) -> None:
    img = svc.import_(str(_rootfs(tmp_path / "r")), "busybox", [])
    cid = "ab" * 32
    _container(svc, cid, img.id, "running")
    with pytest.raises(Conflict) as exc:
        svc.remove("busybox")
    assert exc.value.render() == (
        'Error response from daemon: conflict: unable to remove repository reference "busybox" (must force) - '
        f"container {cid[:12]} is using its referenced image {img.id[:12]}"
    )
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running container abababababab"):
        svc.remove(img.id[:12], force=True)
    _container(svc, cid, img.id, "exited")
    with pytest.raises(Conflict, match="must be forced\\) - image is being used by stopped container abababababab"):
        svc.remove(img.id[:12])
    assert svc.remove("busybox", force=True) == ["Untagged: busybox:latest"]
    assert svc.images()[0].repo_tags == []  # kept: a container still uses it
    with svc.store.locked():
        txn = svc.store.begin()
        txn.delete("containers", cid)
        txn.commit()
    assert svc.remove(img.id[:12]) == [f"Deleted: sha256:{img.id}"]
    assert svc.images() == [] and not svc.rootfs(img).exists()


def test_rm_by_id_of_an_image_with_two_tags_must_be_forced(svc: ImageService, tmp_path: Path) -> None:
    img = svc.import_(str(_rootfs(tmp_path / "r")), "a", [])
    img.repo_tags.append("b:latest")
    svc.files.put(img.id, to_dict(img))
    with pytest.raises(Conflict, match="image is referenced in multiple repositories"):
        svc.remove(img.id)
    assert svc.remove("a") == ["Untagged: a:latest"]  # the other tag keeps it
    assert svc.remove(img.id, force=True) == ["Untagged: b:latest", f"Deleted: sha256:{img.id}"]


def test_run_defaults_and_changes() -> None:
    assert parse_changes(["CMD top -b", 'ENTRYPOINT ["/bin/env"]', "ENV K v w"]) == {
        "cmd": ["/bin/sh", "-c", "top -b"],
        "entrypoint": ["/bin/env"],
        "env": ["K=v w"],
    }
    with pytest.raises(InvalidArgument, match="^FROM is not a valid change command$"):
        parse_changes(["FROM x"])
    from pynet.records.image import Image

    img = Image(id="0" * 64, created="", entrypoint=["/e"], cmd=["c"])
    assert run_argv(img, []) == ["/e", "c"] and run_argv(img, ["x"]) == ["/e", "x"]
    with pytest.raises(InvalidArgument, match="no command specified"):
        run_argv(Image(id="0" * 64, created=""), [])


@pytest.mark.parametrize(
    "size, text",
    [(0, "0B"), (999, "999B"), (1_234, "1.23kB"), (4_261_000, "4.26MB"), (77_800_000, "77.8MB"), (128e6, "128MB")],
)
def test_sizes_are_go_units(size: float, text: str) -> None:
    assert image_views.human_size(size) == text


def test_image_ls_imports_neither_pyroute2_nor_rich(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom pynet.cli.main import main\n"
        "try:\n    main(['image', 'ls'])\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('pyroute2', 'rich', 'yaml', 'tarfile') if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYNET_STATE_DIR": str(tmp_path), "PYNET_RUN_DIR": str(tmp_path)}
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert cp.stdout.splitlines() == ["REPOSITORY   TAG       IMAGE ID   CREATED   SIZE", "[]"], cp.stderr


@pytest.mark.parametrize("ref", ["../../etc", "/etc/passwd", "..", "a/../../b", "sha256:" + "0" * 63 + "/"])
def test_no_reference_or_id_reaches_outside_the_images_directory(svc: ImageService, ref: str) -> None:
    assert svc.files.get(ref) is None
    assert svc.find(ref) is None
    with pytest.raises((NotFound, InvalidArgument)):
        svc.remove(ref)


def _tar_with_hardlink(path: Path, linkname: str) -> Path:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("inside")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"i"))
        link = tarfile.TarInfo("h")
        link.type, link.linkname = tarfile.LNKTYPE, linkname
        tar.addfile(link)
    return path


def test_import_refuses_a_hard_link_to_a_host_file(svc: ImageService, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host")
    img = svc.import_(str(_tar_with_hardlink(tmp_path / "ok.tar", "inside")), "ok", [])
    assert (svc.rootfs(img) / "h").read_text() == "i"  # a link inside the archive is fine
    for name, linkname in (("abs", str(secret)), ("rel", "../../../secret")):
        with pytest.raises(InvalidArgument, match="importing .*which is outside the destination"):
            svc.import_(str(_tar_with_hardlink(tmp_path / f"{name}.tar", linkname)), name, [])
    assert secret.stat().st_nlink == 1 and [i.repo_tags for i in svc.images()] == [["ok:latest"]]


def test_import_of_a_file_that_is_no_tarball_is_one_line(svc: ImageService, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 10)
    with pytest.raises(InvalidArgument) as caught:
        svc.import_(str(junk), "junk", [])
    assert caught.value.message == f"importing {junk}: not a tar archive (plain, gzip, bzip2 or xz)"

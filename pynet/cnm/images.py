"""Images: import, look up, list and remove local root filesystems (Docker's rules).

pynet has no registry. ``pynet image import DIR|TARBALL NAME[:TAG]`` registers a root
filesystem; ``run --image``, the Engine API and compose find it with :func:`lookup`
(by ``NAME[:TAG]``, ``sha256:<id>`` or an ID prefix). A container of an image records
``image`` (the reference it was created with) and ``image_id``; ``image rm`` refuses
while a container uses the image, with dockerd's words.
"""

from __future__ import annotations

import hashlib
import json
import os

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pathlib import Path

    from pynet.records.model import Container
    from pynet.state.store import Store

from pynet.errors import Conflict, InvalidArgument, NotFound
from pynet.ids import short
from pynet.records import image as refs
from pynet.records.image import Image
from pynet.records.model import from_dict, to_dict
from pynet.state.images import ImageFiles, copy_tree, digest_and_size, discard, extract_tar

#: Dockerfile instructions ``import --change`` accepts (Docker also takes USER, EXPOSE...)
CHANGES = ("CMD", "ENTRYPOINT", "ENV", "WORKDIR")


class ImageService:
    """Images of one state dir. Reads need no lock; import and remove take the store's."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.files = ImageFiles(store.root)

    # -- reads -------------------------------------------------------------------------
    def images(self) -> list[Image]:
        """Every image, newest first (as dockerd lists them)."""
        out = [self._read(i) for i in self.files.ids()]
        return sorted((i for i in out if i is not None), key=lambda i: i.created, reverse=True)

    def find(self, ref: str) -> Image | None:
        """The image a reference names: ``NAME[:TAG]`` first, then an ID (prefix)."""
        try:
            wanted = refs.normalize(ref)
        except InvalidArgument:
            wanted = ""
        images = self.images()
        if wanted:
            for img in images:
                if wanted in img.repo_tags:
                    return img
        if refs.looks_like_id(ref):
            prefix = ref.removeprefix("sha256:")
            hits = [img for img in images if img.id.startswith(prefix)]
            if len(hits) == 1:
                return hits[0]
        return None

    def lookup(self, ref: str) -> Image:
        """The image ``ref`` names, or NotFound with dockerd's ``No such image: ...``."""
        img = self.find(ref)
        if img is None:
            raise NotFound(f"No such image: {_shown(ref)}")
        return img

    def rootfs(self, img: Image) -> Path:
        """The directory containers of ``img`` start from (read-only lower layer)."""
        return self.files.rootfs(img.id)

    def users(self, img: Image) -> list[Container]:
        """Containers created from ``img`` (any state)."""
        from pynet.cnm.repo import Repo

        return [c for c in Repo(self.store).containers() if c.image_id == img.id]

    # -- import ------------------------------------------------------------------------
    def import_(self, source: str, ref: str, changes: list[str], message: str = "") -> Image:
        """Register ``source`` (a directory, a tarball or ``-``) as ``ref``."""
        from pynet.cnm.networks import now_rfc3339

        tag = refs.normalize(ref) if ref else ""
        config = parse_changes(changes)
        if source != "-" and not os.path.exists(source):
            raise InvalidArgument(f"open {source}: no such file or directory", from_daemon=False)
        stage = self.files.new_stage()
        try:
            if os.path.isdir(source):
                copy_tree(source, stage / "rootfs")
            else:
                extract_tar(source, stage / "rootfs")
            digest, size = digest_and_size(stage / "rootfs")
            img = Image(
                id="",
                created=now_rfc3339(),
                size=size,
                comment=message or ("Imported from " + ("-" if source == "-" else os.path.abspath(source))),
                layer_digest=digest,
                **config,
            )
            img.id = _image_id(img)
            with self.store.locked():
                self.files.sweep()
                if tag:
                    self._untag_others(tag)
                    img.repo_tags = [tag]
                self.files.register(stage, img.id, to_dict(img))
        except BaseException:
            discard(stage)
            raise
        return img

    def _untag_others(self, tag: str) -> None:
        """A tag names one image: importing under a used tag moves it (the old one dangles)."""
        for other in self.images():
            if tag in other.repo_tags:
                other.repo_tags.remove(tag)
                self.files.put(other.id, to_dict(other))

    # -- remove ------------------------------------------------------------------------
    def remove(self, ref: str, *, force: bool = False) -> list[str]:
        """``image rm``: untag a reference (deleting the image with its last tag) or an ID.

        Returns dockerd's lines (``Untagged: ...``, ``Deleted: sha256:...``).
        """
        with self.store.locked():
            img = self.lookup(ref)
            users = self.users(img)
            running = [c for c in users if c.status == "running"]
            try:
                by_tag = refs.normalize(ref) in img.repo_tags
            except InvalidArgument:
                by_tag = False
            if by_tag:
                return self._remove_tag(img, ref, users, running, force)
            return self._remove_id(img, users, running, force)

    def _remove_tag(self, img: Image, ref: str, users: list, running: list, force: bool) -> list[str]:
        tag = refs.normalize(ref)
        if len(img.repo_tags) == 1 and users:
            if not force:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - '
                    f"container {short(users[0].id)} is using its referenced image {short(img.id)}"
                )
            if running:
                raise Conflict(_running_conflict(img, running[0]))
        img.repo_tags.remove(tag)
        lines = [f"Untagged: {tag}"]
        if img.repo_tags or users:
            self.files.put(img.id, to_dict(img))
            return lines
        self.files.delete(img.id)
        return [*lines, f"Deleted: sha256:{img.id}"]

    def _remove_id(self, img: Image, users: list, running: list, force: bool) -> list[str]:
        if running:
            raise Conflict(_running_conflict(img, running[0]))
        if not force and len(img.repo_tags) > 1:
            raise Conflict(
                f"conflict: unable to delete {short(img.id)} (must be forced) - image is referenced in multiple repositories"
            )
        if not force and users:
            raise Conflict(
                f"conflict: unable to delete {short(img.id)} (must be forced) - "
                f"image is being used by stopped container {short(users[0].id)}"
            )
        lines = [f"Untagged: {t}" for t in img.repo_tags]
        if users:  # forced: the stopped containers keep their root filesystem (pynet's choice)
            img.repo_tags = []
            self.files.put(img.id, to_dict(img))
            return lines
        self.files.delete(img.id)
        return [*lines, f"Deleted: sha256:{img.id}"]

    # -- helpers -----------------------------------------------------------------------
    def _read(self, image_id: str) -> Image | None:
        from pynet.errors import StateCorrupt
        from pynet.records.model import RecordInvalid

        raw = self.files.get(image_id)
        if raw is None:
            return None
        try:
            return from_dict(Image, raw)
        except RecordInvalid as exc:
            raise StateCorrupt(
                f"state file {self.files.root / image_id}/image.json is corrupt: {exc.message}"
            ) from None


def run_argv(img: Image, argv: list[str]) -> list[str]:
    """The command a container of ``img`` runs: Entrypoint + (the given command or Cmd)."""
    full = [*(img.entrypoint or []), *(argv or img.cmd or [])]
    if not full:
        raise InvalidArgument("no command specified")
    return full


def parse_changes(changes: list[str]) -> dict:
    """``import --change`` lines (Dockerfile syntax) as Image fields."""
    config: dict = {"env": []}
    for line in changes:
        instr, _, rest = line.strip().partition(" ")
        instr, rest = instr.upper(), rest.strip()
        if instr not in CHANGES:
            raise InvalidArgument(f"{instr} is not a valid change command", from_daemon=True)
        if instr in ("CMD", "ENTRYPOINT"):
            config[instr.lower()] = _command_form(rest)
        elif instr == "ENV":
            config["env"] += _env_form(rest)
        else:
            config["workdir"] = rest
    return config


def _command_form(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", rest]


def _env_form(rest: str) -> list[str]:
    if "=" not in rest.split(" ", 1)[0]:  # the old form: ENV KEY value with spaces
        key, _, value = rest.partition(" ")
        return [f"{key}={value.strip()}"]
    import shlex

    return [item for item in shlex.split(rest) if "=" in item]


def _image_id(img: Image) -> str:
    """sha256 of the image's configuration (as Docker's IDs are): created, defaults, layer."""
    config = {k: v for k, v in to_dict(img).items() if k not in ("id", "repo_tags", "size")}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _running_conflict(img: Image, c: Container) -> str:
    return f"conflict: unable to delete {short(img.id)} (cannot be forced) - image is being used by running container {short(c.id)}"


def _shown(ref: str) -> str:
    """A reference as dockerd echoes it in errors (``busybox`` -> ``busybox:latest``)."""
    if refs.looks_like_id(ref):
        return ref
    try:
        return refs.normalize(ref)
    except InvalidArgument:
        return ref

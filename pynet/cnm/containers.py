"""Container service: a Sandbox with its endpoints and files, and its teardown.

The process itself is started by the controller after the state is committed (so the
embedded DNS and other commands already see the container when its command runs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from pynet import paths
from pynet.cnm import etcfiles, events, shared_sandbox
from pynet.cnm.endpoints import AttachRequest, EndpointService
from pynet.records.model import DEFAULT_NETWORK, ENDPOINTLESS_MODES, HOST_MODE, Container, Network, PortBinding
from pynet.cnm.networks import now_rfc3339
from pynet.cnm.repo import Repo
from pynet.cnm.sandboxes import SandboxService
from pynet.firewall import hooks as fw
from pynet.drivers import driver_class
from pynet.kernel import procnet
from pynet.records.undo import UndoLog
from pynet.errors import Conflict, InvalidArgument
from pynet.faults import fault
from pynet.ids import new_id

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from pynet.records.image import Image

_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ADJ = (
    "admiring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "boring",
    "brave",
    "busy",
    "charming",
    "clever",
    "cool",
    "compassionate",
    "competent",
    "confident",
    "cranky",
    "crazy",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "eloquent",
    "epic",
    "festive",
    "flamboyant",
    "focused",
    "friendly",
    "frosty",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "happy",
    "hardcore",
    "heuristic",
    "hopeful",
    "hungry",
    "infallible",
    "inspiring",
    "jolly",
    "jovial",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "magical",
    "modest",
    "musing",
    "mystifying",
    "naughty",
    "nervous",
    "nifty",
    "nostalgic",
    "objective",
    "optimistic",
    "peaceful",
    "pedantic",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "quizzical",
    "relaxed",
    "reverent",
    "romantic",
    "sad",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "strange",
    "stupefied",
    "suspicious",
    "sweet",
    "tender",
    "thirsty",
    "trusting",
    "unruffled",
    "upbeat",
    "vibrant",
    "vigilant",
    "vigorous",
    "wizardly",
    "wonderful",
    "xenodochial",
    "youthful",
    "zealous",
    "zen",
)
_NOUN = (
    "albattani",
    "allen",
    "archimedes",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bell",
    "bhabha",
    "blackwell",
    "bohr",
    "booth",
    "borg",
    "bose",
    "brahmagupta",
    "brown",
    "carson",
    "cerf",
    "chandrasekhar",
    "chatelet",
    "clarke",
    "curie",
    "darwin",
    "davinci",
    "diffie",
    "dijkstra",
    "einstein",
    "elion",
    "engelbart",
    "euclid",
    "euler",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "gagarin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hermann",
    "hodgkin",
    "hopper",
    "hypatia",
    "jackson",
    "jennings",
    "johnson",
    "kalam",
    "kapitsa",
    "kepler",
    "khorana",
    "knuth",
    "kowalevski",
    "lamarr",
    "lamport",
    "leakey",
    "lehmann",
    "lovelace",
    "lumiere",
    "mahavira",
    "mayer",
    "mccarthy",
    "mcclintock",
    "meitner",
    "mendel",
    "merkle",
    "mirzakhani",
    "montalcini",
    "moore",
    "morse",
    "napier",
    "nash",
    "newton",
    "nightingale",
    "nobel",
    "noether",
    "noyce",
    "pare",
    "pascal",
    "pasteur",
    "payne",
    "perlman",
    "pike",
    "poincare",
    "ptolemy",
    "raman",
    "ramanujan",
    "ride",
    "ritchie",
    "rosalind",
    "sammet",
    "shannon",
    "shaw",
    "shockley",
    "sinoussi",
    "snyder",
    "spence",
    "stallman",
    "swartz",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volhard",
    "wescoff",
    "wiles",
    "williams",
    "wilson",
    "wing",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
)


@dataclass
class RunRequest:
    """What ``pynet run`` asked for (already parsed by the CLI)."""

    argv: list[str]
    name: str = ""
    network: str = DEFAULT_NETWORK
    attach: AttachRequest = field(default_factory=AttachRequest)
    hostname: str = ""
    domainname: str = ""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    rootfs: str = ""
    image: str = ""  # NAME[:TAG] or ID of an imported image (pynet.cnm.images)
    detach: bool = False
    auto_remove: bool = False
    tty: bool = False
    interactive: bool = False
    ports: list[PortBinding] = field(default_factory=list)
    publish_all: bool = False
    exposed: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


class ContainerService:
    def __init__(self, repo: Repo, undo: UndoLog) -> None:
        self.repo = repo
        self.undo = undo
        self.endpoints = EndpointService(repo, undo)
        self.sandboxes = SandboxService(undo)
        self.new_id = ""  # the container ``create`` is making (its files go if it fails)

    # -- create ----------------------------------------------------------------------
    def create(self, req: RunRequest, net: Network) -> Container:
        """Sandbox + endpoint + files for a new container on ``net`` (not started yet)."""
        c = self.new_record(req, net)
        self.provision(c, [(net, req.attach)], req.ports)
        self.write_files(c)
        self.repo.put_container(c)
        return c

    def new_record(self, req: RunRequest, net: Network | None, *, settings_at_start: bool = False) -> Container:
        """The record of a new container on ``net`` (None: one that does not exist yet, by the
        name asked): no kernel resource, nothing stored. ``settings_at_start``: an address
        or alias host/none cannot take is refused by the start (dockerd's create takes it)."""
        img = _image_of(self.repo, req)
        mode = network_mode_for(net) if net is not None else req.network
        c = self._record(req, mode, req.hostname or (procnet.host_hostname() if mode == HOST_MODE else ""))
        if img is not None:
            _use_image(c, img, req, self.repo)
        self.repo.emit(events.container_event("create", c))
        _check_mode_mac(mode, req.attach)
        if not settings_at_start:
            check_mode_settings(mode, req.attach)
        return c

    def provision(self, c: Container, nets: list[tuple[Network, AttachRequest]], ports: list[PortBinding]) -> None:
        """The sandbox, one endpoint per network (in order), the first one's published ports."""
        if c.network_mode in ENDPOINTLESS_MODES:  # no endpoint, but Docker tells the join all the same
            for net, _attach in nets[:1]:
                self.repo.emit(events.network_event("connect", net, container=c.id))
        if c.network_mode != HOST_MODE:
            self.sandboxes.create(c)
        if c.network_mode in ENDPOINTLESS_MODES:
            return
        for i, (net, attach) in enumerate(nets):
            ep = self.endpoints.attach(c, net, attach)
            if i == 0 and ports and driver_class(net.driver).publishes_ports and not net.internal:
                # Docker programs port mappings only for bridge networks (macvlan: none), and
                # none on an internal one: no host port is taken, `port`/`ps` show no mapping.
                c.ports = fw.publish(net, ep, ports, self._published(), self.undo)

    def join(self, req: RunRequest, target: Container | None, ref: str = "") -> Container:
        """A container in ``target``'s sandbox (``--network container:``): no sandbox,
        endpoint or files of its own; the target's hostname (``pynet.cnm.shared_sandbox``).
        ``target`` None: the API's create of a joiner whose target ``ref`` does not exist
        (yet): its start looks ``ref`` up, as dockerd's does."""
        if target is None:
            c = self._record(req, shared_sandbox.PREFIX + ref, "")
        else:
            c = self._record(req, shared_sandbox.PREFIX + target.id, target.hostname)
            c.domainname = target.domainname
        img = _image_of(self.repo, req)
        if img is not None:
            _use_image(c, img, req, self.repo)
        paths.container_dir(c.id).mkdir(parents=True, exist_ok=True)  # its log lives there
        self.repo.emit(events.container_event("create", c))
        self.repo.put_container(c)
        return c

    def _record(self, req: RunRequest, mode: str, hostname: str) -> Container:
        """The new container's record (named, not stored yet)."""
        cid = self.new_id = new_id()
        return Container(
            id=cid,
            name=self._name(req.name, cid),
            created=now_rfc3339(),
            path=req.argv[0] if req.argv else "",
            args=req.argv[1:],
            hostname=hostname or cid[:12],
            domainname=req.domainname,
            network_mode=mode,
            auto_remove=req.auto_remove,
            detach=req.detach,
            tty=req.tty,
            interactive=req.interactive,
            env=list(req.env),
            workdir=req.workdir,
            rootfs=req.rootfs,
            dns=list(req.dns),
            dns_search=list(req.dns_search),
            dns_options=list(req.dns_options),
            extra_hosts=list(req.extra_hosts),
            publish_all=req.publish_all,
            exposed=list(req.exposed),
            labels=dict(req.labels),
        )

    def _name(self, wanted: str, cid: str = "") -> str:
        names = self.repo.container_names()
        if not wanted:
            return _generate_name(names, cid)
        if not _NAME_RE.match(wanted):
            raise InvalidArgument(f"Invalid container name ({wanted}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        name = wanted.lstrip("/")
        if name in names:
            raise Conflict(
                f'Conflict. The container name "/{name}" is already in use by container "{names[name]}". '
                "You have to remove (or rename) that container to be able to reuse that name."
            )
        return name

    def _published(self) -> set[tuple[str, str, int]]:
        taken: set[tuple[str, str, int]] = set()
        for other in self.repo.containers():
            # A created container whose start failed (or whose pynet died) holds no ports.
            if other.status in ("created", "running") and other.endpoints:
                taken |= {(p.host_ip, p.proto, p.host_port) for p in other.ports}
        return taken

    # -- files -----------------------------------------------------------------------
    def write_files(self, c: Container) -> None:
        """(Re)write hosts, hostname and resolv.conf in the container's directory."""
        d = paths.container_dir(c.id)
        d.mkdir(parents=True, exist_ok=True)
        host_text = procnet.read_resolv_conf()
        if c.network_mode == HOST_MODE:
            hosts = procnet.read_or_empty("/etc/hosts") or etcfiles.hosts_file([], c.extra_hosts)
            resolv = host_text
        else:
            entries = []
            for net_id, ep_id in c.endpoints.items():
                ep = self.repo.endpoint(ep_id)
                if ep and ep.ipv4:
                    entries.append((ep.ipv4.split("/")[0], _host_names(c)))
                if ep and ep.ipv6:
                    entries.append((ep.ipv6.split("/")[0], _host_names(c)))
            hosts = etcfiles.hosts_file(entries, c.extra_hosts)
            resolv = etcfiles.resolv_conf(
                embedded=self.uses_embedded_dns(c),
                host_text=host_text,
                dns=c.dns,
                search=c.dns_search,
                options=c.dns_options,
            )
        _write(d / "hosts", hosts)
        _write(d / "hostname", c.hostname + "\n")
        _write(d / "resolv.conf", resolv)

    def uses_embedded_dns(self, c: Container) -> bool:
        """User-defined networks get 127.0.0.11; the default bridge and none do not."""
        for net_id in c.endpoints:
            net = self.repo.network(net_id)
            if net is not None and not net.builtin:
                return True
        return False

    # -- teardown --------------------------------------------------------------------
    def teardown(self, c: Container) -> None:
        """Leave every network, drop published ports and the sandbox; idempotent."""
        if c.network_mode in ENDPOINTLESS_MODES and c.status in ("created", "running"):
            net = self.repo.find_network(c.network_mode)
            if net is not None:
                self.repo.emit(events.network_event("disconnect", net, container=c.id))
        if c.endpoints:
            c.last_networks = list(c.endpoints)
        for net_id in list(c.endpoints):
            net = self.repo.network(net_id)
            if net is None:
                c.endpoints.pop(net_id, None)
                continue
            ep = self.repo.endpoint(c.endpoints[net_id])
            if ep is not None and c.ports:
                fw.unpublish(net, ep, c.ports)
            if ep is not None and self.repo.damaged & {c.id, ep.id}:
                fw.unpublish_targets(net, ep)  # a damaged record may have lost its ports
            fault("endpoint_detach")
            self.endpoints.detach(c, net)
        fault("sandbox_delete")
        self.sandboxes.delete(c)

    def died(self, c: Container, code: int) -> None:
        """Docker's ``container die`` (before the network disconnects it causes)."""
        self.repo.emit(events.container_event("die", c, exitCode=str(code)))

    def mark_exited(self, c: Container, code: int) -> None:
        c.status = "exited"
        c.exit_code = code
        c.pid = 0
        c.finished_at = now_rfc3339()

    def remove(self, c: Container) -> None:
        if c.status == "running":  # rm -f got here before its supervisor recorded the exit
            self.died(c, 137)
        self.teardown(c)
        self.repo.delete_container(c.id)
        self.repo.emit(events.container_event("destroy", c))


def network_mode_for(net: Network) -> str:
    """A container's NetworkMode on ``net``: its driver's ("host", "none"), else the network's name."""
    return driver_class(net.driver).container_mode or net.name


def _check_mode_mac(mode: str, attach: AttachRequest) -> None:
    """dockerd's validateNetMode (at create, before the address checks): host mode has no MAC of its own."""
    if mode == HOST_MODE and attach.mac:
        raise InvalidArgument("conflicting options: mac-address and the network mode")


def check_mode_settings(mode: str, attach: AttachRequest) -> None:
    """host/none have no endpoint: per-network settings are refused (before kernel work)."""
    if mode not in ENDPOINTLESS_MODES:
        return
    if attach.ipv4 or attach.ipv6:
        raise InvalidArgument("user specified IP address is supported on user defined networks only")
    if attach.aliases:
        raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")


def _generate_name(taken: dict[str, str], cid: str) -> str:
    """Docker's namesgenerator: adjective_surname, a digit appended on retries, else the short ID."""
    for attempt in range(12):
        name = f"{_pick(_ADJ)}_{_pick(_NOUN)}"
        if attempt >= 6:
            name += str(_pick(range(100)))
        if name not in taken:
            return name
    return cid[:12]


def _pick(choices: Sequence[Any]) -> Any:
    """A random element (``random`` itself costs a `run` ~1 ms of imports for two picks)."""
    return choices[int.from_bytes(os.urandom(4), "little") % len(choices)]


def remove_files(container_id: str) -> None:
    d = paths.container_dir(container_id)
    for name in ("hosts", "hostname", "resolv.conf", "container.log", "launch.json", "stdin.fifo", "waiter"):
        try:
            os.unlink(d / name)
        except FileNotFoundError:
            pass
    if os.path.isdir(d / "layer"):  # an image container's writes (pynet.kernel.rootfs)
        import shutil

        shutil.rmtree(d / "layer")
    try:
        os.rmdir(d)
    except OSError:
        pass


def _host_names(c: Container) -> str:
    names = c.hostname
    if c.domainname:
        names = f"{c.hostname}.{c.domainname} {c.hostname}"
    return names


def _write(path: os.PathLike[str], text: str) -> None:
    # In place, not replace(): a running container has this very inode bind-mounted
    # over its /etc file, so a new inode would never reach it (Docker writes in place too).
    with open(path, "w") as f:
        f.write(text)


def _image_of(repo: Repo, req: RunRequest) -> Image | None:
    """The image ``req`` names (looked up under the lock: ``image rm`` cannot race it)."""
    if not req.image:
        return None
    from pynet.cnm.images import ImageService

    return ImageService(repo.store).lookup(req.image)


def _use_image(c: Container, img: Image, req: RunRequest, repo: Repo) -> None:
    """A container of ``img``: its command, environment, working dir and root filesystem."""
    from pynet.cnm.images import ImageService, run_argv

    argv = run_argv(img, req.argv)
    c.path, c.args = argv[0], argv[1:]
    c.image, c.image_id = req.image, img.id
    c.rootfs = str(ImageService(repo.store).rootfs(img))
    given = {e.partition("=")[0] for e in req.env}
    c.env = [*(e for e in img.env if e.partition("=")[0] not in given), *req.env]
    c.workdir = req.workdir or img.workdir

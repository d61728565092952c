"""The CNM records: Network, Endpoint, Sandbox (a container owns one), and IPAM pools.

These are plain dataclasses persisted as JSON by ``pynet.state``. They hold IDs, never
user names, for cross references (an Endpoint names its Network and Container by ID).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

from pynet.records.fields import DEFAULT_NETWORK as DEFAULT_NETWORK  # (constants: fields.py)
from pynet.records.fields import ENDPOINTLESS_MODES as ENDPOINTLESS_MODES
from pynet.records.fields import EMPTY, NESTED, check_for, checked
from pynet.records.fields import RecordInvalid as RecordInvalid
from pynet.records.fields import HOST_MODE as HOST_MODE
from pynet.records.fields import NONE_MODE as NONE_MODE


def to_dict(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict: what ``dataclasses.asdict`` gives, without importing
    ``copy`` (with ``weakref``) for the str, int, bool values records hold (design.md, "Start-up")."""
    return _plain(record)


_ATOMS = frozenset({str, int, float, bool, type(None)})  # deepcopy gives these back as they are


def _plain(value: Any) -> Any:
    """``dataclasses._asdict_inner``, with its ``copy.deepcopy`` only for other values."""
    if type(value) in _ATOMS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    import copy

    return copy.deepcopy(value)


def from_dict(cls: type[T], data: Any, *, lenient: bool = False) -> T:
    """Build a record from a dict, ignoring unknown keys (forward-compatible reads).

    Every known field must have its declared type (a state file with valid JSON but a
    wrong type would otherwise fail far away, as an AttributeError): RecordInvalid names
    the first bad field. ``lenient`` instead keeps what is well-typed and gives the rest
    its default (or an empty value): used to tear down what a damaged record describes.
    """
    kwargs = checked(
        _schema(cls), data, lambda name, item: from_dict(_NESTED[name], item, lenient=lenient), lenient=lenient
    )
    return cls(**kwargs)


_SCHEMAS: dict[type, list[tuple[str, Any, Any, bool, Any]]] = {}


def _schema(cls: type) -> list[tuple[str, Any, Any, bool, Any]]:
    """(name, type check, nested record name, required, empty value) per field; cached."""
    if cls not in _SCHEMAS:
        rows = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            check = check_for(str(f.type))
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
            rows.append((f.name, check, NESTED.get(str(f.type)), required, EMPTY.get(check)))
        _SCHEMAS[cls] = rows
    return _SCHEMAS[cls]


@dataclass
class IPAMPool:
    """One subnet of a network, as the user configured it (or IPAM chose it)."""

    subnet: str  # "172.18.0.0/16"
    gateway: str = ""  # "172.18.0.1" ("" = none, e.g. built-ins)
    ip_range: str = ""  # sub-range addresses are handed out from
    aux_addresses: dict[str, str] = field(default_factory=dict)  # name -> reserved address
    user_configured: bool = False  # --subnet given: static --ip allowed
    show_gateway: bool = True  # Docker hides an implied gateway of --subnet

    @property
    def is_ipv6(self) -> bool:
        return ":" in self.subnet


@dataclass
class Network:
    """A group of endpoints that can talk directly (a Linux bridge, a VXLAN segment...)."""

    id: str
    name: str
    driver: str  # "bridge", "host", "null", "macvlan"...
    created: str  # RFC 3339 with nanoseconds, UTC
    scope: str = "local"  # "local" | "global" | "swarm"
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    ipam_driver: str = "default"
    ipam_options: dict[str, str] | None = None  # None renders as JSON null (built-ins)
    ipam_config: list[IPAMPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)  # -o key=value, Docker's keys
    labels: dict[str, str] = field(default_factory=dict)
    builtin: bool = False  # bridge/host/none: cannot be removed
    embedded_dns: bool = True  # its driver's ability: the helper serves DNS on user networks
    driver_data: dict[str, Any] = field(default_factory=dict)  # e.g. {"bridge": "br-..", "mtu": 1500}


@dataclass
class Endpoint:
    """Joins one Sandbox to one Network (a veth pair, a macvlan sub-interface)."""

    id: str
    network_id: str
    container_id: str
    name: str  # the container's name (Docker shows it)
    ifname: str = ""  # inside the sandbox: eth0, eth1...
    ipv4: str = ""  # "172.18.0.2/16" ("" = none)
    ipv6: str = ""  # "fd00::2/64"
    gateway: str = ""
    gateway6: str = ""
    mac: str = ""
    aliases: list[str] = field(default_factory=list)  # --network-alias / connect --alias
    ipam_request: dict[str, str] = field(default_factory=dict)  # {"IPv4Address":..,"IPv6Address":..}
    driver_opts: dict[str, str] | None = None
    driver_data: dict[str, Any] = field(default_factory=dict)  # e.g. {"host_ifname": "veth1a2b3c4"}
    link: dict[str, str] = field(default_factory=dict)  # link shaping, records/links.py: {"rate": "10mbit"}


@dataclass
class PortBinding:
    """One published port: host (ip, port) -> container port."""

    container_port: int
    proto: str = "tcp"  # "tcp" | "udp" | "sctp"
    host_ip: str = ""  # "" = all addresses
    host_port: int = 0  # 0 = pick a free one
    host_port_end: int = 0  # -p 8000-8010:80: pick one in this range


@dataclass
class Sandbox:
    """A container's network stack: a netns bind-mounted at ``netns_path``.

    Stored in its container's record (``Container.sandbox_id``/``netns_path``, the shape
    Docker shows as SandboxID/SandboxKey); ``Container.sandbox()`` gives this view of it,
    made and removed by ``pynet.cnm.sandboxes``.
    """

    id: str
    netns_path: str
    container_id: str
    #: for a join: this endpoint's gateway becomes the sandbox's default route
    default_gateway: bool = True


@dataclass
class Container:
    """A process in its own Sandbox (net + uts + mount namespaces).

    ``sandbox_id``/``netns_path`` store the Sandbox (``sandbox()`` is its record); ``endpoints``
    maps network ID to endpoint ID in attach order (so eth0, eth1... follow that order).
    """

    id: str
    name: str
    created: str
    path: str  # the command (Docker's "Path")
    args: list[str] = field(default_factory=list)
    hostname: str = ""
    domainname: str = ""
    network_mode: str = "bridge"  # network name given to run, "host", "none"
    sandbox_id: str = ""
    netns_path: str = ""  # "" for --network host
    endpoints: dict[str, str] = field(default_factory=dict)
    last_networks: list[str] = field(default_factory=list)  # kept after exit, as Docker shows them
    status: str = "created"  # created|running|exited|dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = "0001-01-01T00:00:00Z"
    finished_at: str = "0001-01-01T00:00:00Z"
    auto_remove: bool = False
    detach: bool = False
    tty: bool = False
    interactive: bool = False
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    rootfs: str = ""
    image: str = ""  # the reference it was created from (Config.Image)
    image_id: str = ""  # its image (64 hex); rootfs is then the image's, under an overlay
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)  # "name:ip"
    ports: list[PortBinding] = field(default_factory=list)  # resolved published ports
    publish_all: bool = False
    exposed: list[str] = field(default_factory=list)  # "80/tcp"
    labels: dict[str, str] = field(default_factory=dict)
    supervisor_pid: int = 0  # the process that waits for a detached one
    pid_start: int = 0  # start times of pid and supervisor_pid: a pid
    supervisor_start: int = 0  # whose start time differs was reused (0: unknown)
    #: networks asked for before the sandbox exists (the Engine API's create/connect of a
    #: "created" container, which holds no kernel resources): network ID -> the
    #: AttachRequest's fields + "network_id", in attach order (a list: the store sorts
    #: keys); kept to show what was asked (inspect). Read it with cnm.lifecycle.asked()
    requested_networks: list[Any] = field(default_factory=list)
    port_requests: list[PortBinding] = field(default_factory=list)  # published at start

    def asked_networks(self) -> dict[str, dict[str, Any]]:
        """``requested_networks`` as network ID -> settings, in attach order."""
        return {e["network_id"]: e for e in self.requested_networks if isinstance(e, dict) and "network_id" in e}

    def sandbox(self, *, default_gateway: bool = True) -> Sandbox:
        """This container's Sandbox (``netns_path`` "" when it has none: --network host)."""
        return Sandbox(self.sandbox_id, self.netns_path, self.id, default_gateway)


_NESTED = {"IPAMPool": IPAMPool, "PortBinding": PortBinding}

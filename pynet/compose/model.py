"""The Compose project as pynet runs it: networks, services and their network entries.

Plain dataclasses, made by ``pynet.compose.schema`` from a loaded file; the planner
compares them with what the state holds. Names follow Compose: networks
``PROJECT_KEY`` (or ``name:``), containers ``PROJECT-SERVICE-N`` (or ``container_name``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

# Labels Compose sets (docker/compose api.*Label) that `ps --filter label=` users rely on.
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
HASH_LABEL = "com.docker.compose.config-hash"
NETWORK_LABEL = "com.docker.compose.network"
WORKDIR_LABEL = "com.docker.compose.project.working_dir"
FILES_LABEL = "com.docker.compose.project.config_files"
DEPENDS_LABEL = "com.docker.compose.depends_on"
IMAGE_LABEL = "com.docker.compose.image"
VERSION_LABEL = "com.docker.compose.version"
COMPOSE_VERSION = "2.0.0-pynet"


def digest(value: Any) -> str:
    """A stable hash of a JSON-able value (Compose's config-hash is a sha256 too)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@dataclass
class IpamConfig:
    """One ``ipam.config`` entry."""

    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkSpec:
    """A top-level ``networks:`` entry (``key`` as written, ``name`` as made)."""

    key: str
    name: str
    external: bool = False
    driver: str = "bridge"
    driver_opts: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    ipam: list[IpamConfig] = field(default_factory=list)
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    def config_hash(self) -> str:
        """What, when it changes, means the network must be made again."""
        data = asdict(self)
        data.pop("key")
        return digest(data)

    def summary(self) -> str:
        """What the plan shows after its name: subnets, ``internal``, ``external``."""
        parts = [c.subnet for c in self.ipam if c.subnet]
        parts += [word for word, on in (("internal", self.internal), ("ipv6", self.enable_ipv6)) if on]
        if self.driver != "bridge":
            parts.append(f"driver {self.driver}")
        return " ".join(parts)


@dataclass
class LinkSpec:
    """``x-pynet-link`` under a service's network entry: pynet's link shaping."""

    rate: str = ""
    delay: str = ""
    jitter: str = ""
    loss: str = ""
    duplicate: str = ""
    corrupt: str = ""

    def settings(self) -> dict[str, str]:
        """Only what was given."""
        return {k: v for k, v in asdict(self).items() if v}


@dataclass
class ServiceNetwork:
    """A service's entry under its ``networks:`` (list item or map entry)."""

    key: str
    aliases: list[str] = field(default_factory=list)
    ipv4_address: str = ""
    ipv6_address: str = ""
    link: LinkSpec | None = None


@dataclass
class Service:
    """A ``services:`` entry, normalised."""

    name: str
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    image: str = ""
    container_name: str = ""
    hostname: str = ""
    domainname: str = ""
    network_mode: str = ""  # "" (networks), "host", "none"
    networks: list[ServiceNetwork] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)  # short syntax, as `run -p`
    expose: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opt: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)  # "name:ip"
    environment: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    replicas: int = 1

    def argv(self) -> list[str]:
        """What the container runs: entrypoint + command (``sleep infinity`` when neither:
        the container then holds its place on the networks, as a pause container)."""
        argv = [*self.entrypoint, *self.command]
        return argv or ["sleep", "infinity"]

    def config_hash(self) -> str:
        """What, when it changes, means the container is made again (not its networks,
        which are connected live; not replicas or depends_on)."""
        data = asdict(self)
        for key in ("networks", "replicas", "depends_on"):
            data.pop(key)
        data["network_mode"] = self.network_mode
        return digest(data)

    def container_names(self, project: str) -> list[str]:
        """``PROJECT-SERVICE-N`` for each replica (``container_name`` when given)."""
        if self.container_name:
            return [self.container_name]
        return [f"{project}-{self.name}-{n}" for n in range(1, self.replicas + 1)]


@dataclass
class Project:
    """A whole Compose file, ready to plan: services in start order (``depends_on``)."""

    name: str
    working_dir: str
    config_files: list[str]
    networks: dict[str, NetworkSpec] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def network(self, key: str) -> NetworkSpec:
        return self.networks[key]

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

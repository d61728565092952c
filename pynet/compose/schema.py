"""The Compose specification's networking subset: a loaded file -> a checked ``Project``.

Every bad value is one ``file:line:column: path: problem`` error before anything is made;
a key pynet does not implement is a warning naming its path (``x-`` extensions are
silent, as the spec says). See docs/topologies.md, "Compose", for the keys.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex

from pynet.compose.loader import ComposeFileError, Source, dotted, project_name
from pynet.compose.model import IpamConfig, LinkSpec, NetworkSpec, Project, Service, ServiceNetwork
from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

Path = tuple
_SCALAR = (str, int, float)
_TOP_KEYS = {"version", "name", "services", "networks"}
_NETWORK_KEYS = {"driver", "driver_opts", "ipam", "internal", "attachable", "enable_ipv6", "labels", "name", "external"}
_IPAM_KEYS = {"driver", "config", "options"}
_POOL_KEYS = {"subnet", "gateway", "ip_range", "aux_addresses"}
_ENTRY_KEYS = {"aliases", "ipv4_address", "ipv6_address", "x-pynet-link"}
_LINK_KEYS = {"rate", "delay", "jitter", "loss", "duplicate", "corrupt"}
_NETWORK_MODES = {"host", "none", "bridge"}
_SERVICE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")


def parse(source: Source, *, name: str, working_dir: str, environ: dict[str, str]) -> Project:
    """The project described by ``source`` (``name``: -p, already checked, or "")."""
    return _Parser(source, environ, working_dir).project(name, working_dir)


def check_project_name(name: str) -> str:
    """``-p NAME`` as given: Compose refuses what its normalisation would change."""
    if not name or project_name(name) != name:
        raise InvalidArgument(
            f'invalid project name "{name}": must consist only of lowercase alphanumeric characters, '
            "hyphens, and underscores as well as start with a letter or number",
            from_daemon=False,
        )
    return name


class _Parser:
    def __init__(self, source: Source, environ: dict[str, str], working_dir: str) -> None:
        self.src = source
        self.environ = environ
        self.working_dir = working_dir  # relative paths in the file (env_file) start here
        self.warnings: list[str] = []

    # -- helpers -----------------------------------------------------------------------
    def fail(self, path: Path, message: str) -> ComposeFileError:
        return self.src.error(path, message)

    def warn_unknown(self, data: dict[str, Any], known: set[str], path: Path) -> None:
        for key in data:
            if key not in known and not key.startswith("x-"):
                where = self.src.where((*path, key))
                self.warnings.append(f"WARNING: {dotted((*path, key))}: not supported by pynet, ignored ({where})")

    def mapping(self, value: Any, path: Path) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        return value

    def string(self, value: Any, path: Path) -> str:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, _SCALAR):
            raise self.fail(path, "must be a string")
        return str(value)

    def boolean(self, value: Any, path: Path) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(path, "must be a boolean (true or false)")
        return value

    def strings(self, value: Any, path: Path, *, single: bool = True) -> list[str]:
        """A list of strings (or one string where Compose allows it)."""
        if value is None:
            return []
        if single and isinstance(value, _SCALAR) and not isinstance(value, bool):
            return [str(value)]
        if not isinstance(value, list):
            raise self.fail(path, "must be a list of strings")
        return [self.string(item, (*path, i)) for i, item in enumerate(value)]

    def dictionary(self, value: Any, path: Path, *, sep: str = "=") -> dict[str, str]:
        """Compose's ``list or dict`` (labels, environment, driver_opts...)."""
        if value is None:
            return {}
        if isinstance(value, list):
            out = {}
            for i, item in enumerate(value):
                key, _, val = self.string(item, (*path, i)).partition(sep)
                out[key] = val
            return out
        return {str(k): "" if v is None else self.string(v, (*path, k)) for k, v in self.mapping(value, path).items()}

    def address(self, value: Any, path: Path, version: int) -> str:
        text = self.string(value, path)
        if not text:
            return ""
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            addr = None
        if addr is None or addr.version != version:
            raise self.fail(path, f"invalid IPv{version} address: {text}")
        return text

    def network_prefix(self, value: Any, path: Path) -> str:
        text = self.string(value, path)
        if text:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise self.fail(path, f"invalid CIDR address: {text}") from None
        return text

    # -- the project -------------------------------------------------------------------
    def project(self, name: str, working_dir: str) -> Project:
        data = self.src.data
        self.warn_unknown(data, _TOP_KEYS, ())
        name = name or self._default_name(data, working_dir)
        project = Project(
            name=name,
            working_dir=working_dir,
            config_files=[os.path.abspath(p) for p in self.src.paths or [self.src.path]],
        )
        for key, value in self.mapping(data.get("networks"), ("networks",)).items():
            project.networks[key] = self.network(key, value, ("networks", key), name)
        services = self.mapping(data.get("services"), ("services",))
        if not services:
            raise self.fail(("services",), "no service defined")
        parsed = [self.service(key, value, ("services", key)) for key, value in services.items()]
        self._check_container_names(parsed)
        self._check_references(parsed, project, name)
        project.services = self._start_order(parsed)
        project.warnings = self.warnings
        return project

    def _check_container_names(self, services: list[Service]) -> None:
        """Two services with one ``container_name``: refused before ``up`` makes either."""
        owner: dict[str, str] = {}
        for svc in services:
            if svc.container_name in owner:
                raise self.fail(
                    ("services", svc.name, "container_name"),
                    f'container name "{svc.container_name}" is already in use by service "{owner[svc.container_name]}"',
                )
            if svc.container_name:
                owner[svc.container_name] = svc.name

    def _default_name(self, data: dict[str, Any], working_dir: str) -> str:
        """Compose's order after -p: ``$COMPOSE_PROJECT_NAME`` (``.env`` too), the file's
        ``name:``, the project directory's name."""
        given = self.environ.get("COMPOSE_PROJECT_NAME", "")
        if given:
            return check_project_name(given)
        given = self.string(data.get("name"), ("name",))
        if given:
            try:
                return check_project_name(given)
            except InvalidArgument as exc:
                raise self.fail(("name",), exc.message) from None
        name = project_name(os.path.basename(os.path.abspath(working_dir)))
        if not name:
            raise InvalidArgument(
                f"project name must not be empty: give one with -p (the directory {working_dir!r} has none)",
                from_daemon=False,
            )
        return name

    # -- networks ------------------------------------------------------------------------
    def network(self, key: str, value: Any, path: Path, project: str) -> NetworkSpec:
        data = self.mapping(value, path)
        self.warn_unknown(data, _NETWORK_KEYS, path)
        external = data.get("external")
        external_name = ""
        if isinstance(external, dict):  # the legacy `external: {name: x}`
            external_name = self.string(external.get("name"), (*path, "external", "name"))
            external = True
        external = self.boolean(external, (*path, "external"))
        given = self.string(data.get("name"), (*path, "name")) or external_name
        spec = NetworkSpec(key=key, name=given or (key if external else f"{project}_{key}"), external=external)
        if external:
            return spec
        spec.driver = self.string(data.get("driver"), (*path, "driver")) or "bridge"
        spec.driver_opts = self.dictionary(data.get("driver_opts"), (*path, "driver_opts"))
        spec.internal = self.boolean(data.get("internal"), (*path, "internal"))
        spec.attachable = self.boolean(data.get("attachable"), (*path, "attachable"))
        spec.enable_ipv6 = self.boolean(data.get("enable_ipv6"), (*path, "enable_ipv6"))
        spec.labels = self.dictionary(data.get("labels"), (*path, "labels"))
        ipam = self.mapping(data.get("ipam"), (*path, "ipam"))
        self.warn_unknown(ipam, _IPAM_KEYS, (*path, "ipam"))
        spec.ipam_driver = self.string(ipam.get("driver"), (*path, "ipam", "driver")) or "default"
        spec.ipam_options = self.dictionary(ipam.get("options"), (*path, "ipam", "options"))
        pools = ipam.get("config")
        if pools is not None and not isinstance(pools, list):
            raise self.fail((*path, "ipam", "config"), "must be a list")
        spec.ipam = [self.pool(item, (*path, "ipam", "config", i)) for i, item in enumerate(pools or [])]
        return spec

    def pool(self, value: Any, path: Path) -> IpamConfig:
        data = self.mapping(value, path)
        self.warn_unknown(data, _POOL_KEYS, path)
        aux = self.dictionary(data.get("aux_addresses"), (*path, "aux_addresses"))
        for host, addr in aux.items():
            if not _is_ip(addr):
                raise self.fail((*path, "aux_addresses", host), f"invalid IP address: {addr}")
        gateway = self.string(data.get("gateway"), (*path, "gateway"))
        if gateway and not _is_ip(gateway):
            raise self.fail((*path, "gateway"), f"invalid IP address: {gateway}")
        return IpamConfig(
            subnet=self.network_prefix(data.get("subnet"), (*path, "subnet")),
            gateway=gateway,
            ip_range=self.network_prefix(data.get("ip_range"), (*path, "ip_range")),
            aux_addresses=aux,
        )

    # -- services ------------------------------------------------------------------------
    def service(self, name: str, value: Any, path: Path) -> Service:
        from pynet.compose import service_keys

        if not _SERVICE_NAME.match(name):
            raise self.fail(
                path, f'invalid service name "{name}": only [a-zA-Z0-9._-], starting with a letter or digit'
            )
        data = self.mapping(value, path)
        self.warn_unknown(data, set(service_keys.READERS), path)
        svc = Service(name=name)
        for key, read in service_keys.READERS.items():
            if key in data:
                read(self, svc, data[key], (*path, key))
        if svc.network_mode and svc.networks:
            raise self.fail((*path, "network_mode"), "network_mode and networks cannot be combined")
        if not svc.network_mode and not svc.networks:
            svc.networks = [ServiceNetwork(key="default")]
        if svc.container_name and svc.replicas > 1:
            raise self.fail(
                (*path, "container_name"),
                f'a container name must be unique: "{svc.container_name}" cannot be used with {svc.replicas} replicas',
            )
        return svc

    def command(self, value: Any, path: Path) -> list[str]:
        """``command``/``entrypoint``: a list, or a string split as a shell would."""
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise self.fail(path, str(exc)) from None
        return self.strings(value, path, single=False)

    def port(self, value: Any, path: Path) -> str:
        """One ``ports`` item, short or long syntax, as ``run -p`` takes it (checked)."""
        from pynet.records import ports

        if isinstance(value, dict):
            self.warn_unknown(value, {"target", "published", "host_ip", "protocol", "mode", "name"}, path)
            target = self.string(value.get("target"), (*path, "target"))
            if not target:
                raise self.fail((*path, "target"), "is required")
            published = self.string(value.get("published"), (*path, "published"))
            host_ip = self.string(value.get("host_ip"), (*path, "host_ip"))
            proto = self.string(value.get("protocol"), (*path, "protocol")) or "tcp"
            host_ip = f"[{host_ip}]" if ":" in host_ip else host_ip
            spec = ":".join(p for p in (host_ip, published) if p or host_ip)
            spec = f"{spec}:{target}/{proto}" if spec else f"{target}/{proto}"
        else:
            spec = self.string(value, path)
        try:
            ports.parse_publish([spec])
        except InvalidArgument as exc:
            raise self.fail(path, exc.message) from None
        return spec

    def expose(self, value: Any, path: Path) -> str:
        from pynet.records import ports

        spec = self.string(value, path)
        try:
            ports.parse_expose([spec])
        except InvalidArgument as exc:
            raise self.fail(path, exc.message) from None
        return spec

    def extra_hosts(self, value: Any, path: Path) -> list[str]:
        pairs = (
            [(str(k), self.string(v, (*path, k))) for k, v in value.items()]
            if isinstance(value, dict)
            else [self._host_pair(item, (*path, i)) for i, item in enumerate(self.strings(value, path, single=False))]
        )
        for i, (host, addr) in enumerate(pairs):
            bare = addr[1:-1] if addr.startswith("[") and addr.endswith("]") else addr
            if not host or not (_is_ip(bare) or bare == "host-gateway"):
                raise self.fail((*path, i), f'invalid extra host "{host}:{addr}"')
        return [f"{host}:{addr.strip('[]')}" for host, addr in pairs]

    def _host_pair(self, item: str, path: Path) -> tuple[str, str]:
        sep = "=" if "=" in item else ":"
        host, found, addr = item.partition(sep)
        if not found:
            raise self.fail(path, f'invalid extra host "{item}": want HOST:IP')
        return host, addr

    def service_network(self, key: str, value: Any, path: Path) -> ServiceNetwork:
        data = self.mapping(value, path)
        self.warn_unknown(data, _ENTRY_KEYS, path)
        entry = ServiceNetwork(
            key=key,
            aliases=self.strings(data.get("aliases"), (*path, "aliases"), single=False),
            ipv4_address=self.address(data.get("ipv4_address"), (*path, "ipv4_address"), 4),
            ipv6_address=self.address(data.get("ipv6_address"), (*path, "ipv6_address"), 6),
        )
        if "x-pynet-link" in data:
            entry.link = self.link(data["x-pynet-link"], (*path, "x-pynet-link"))
        return entry

    def link(self, value: Any, path: Path) -> LinkSpec:
        """``x-pynet-link``: checked by the link shaping core's own parser, kept in its
        notation (what the endpoint stores, so ``up`` compares like with like)."""
        from pynet.records.links import parse_link_shape

        data = self.mapping(value, path)
        unknown = [k for k in data if k not in _LINK_KEYS]
        if unknown:
            raise self.fail((*path, unknown[0]), f"unknown link setting (one of {', '.join(sorted(_LINK_KEYS))})")
        try:
            shape = parse_link_shape(data)
        except InvalidArgument as exc:
            raise self.fail(path, exc.message) from None
        return LinkSpec(**shape.to_text())

    # -- the whole ---------------------------------------------------------------------
    def _check_references(self, services: list[Service], project: Project, name: str) -> None:
        known = {s.name for s in services}
        for svc in services:
            path = ("services", svc.name)
            for entry in svc.networks:
                if entry.key == "default" and "default" not in project.networks:
                    project.networks["default"] = NetworkSpec(key="default", name=f"{name}_default")
                if entry.key not in project.networks:
                    raise self.fail(
                        (*path, "networks", entry.key), f'service "{svc.name}" refers to undefined network {entry.key}'
                    )
            for dep in svc.depends_on:
                if dep not in known:
                    raise self.fail((*path, "depends_on"), f'service "{svc.name}" depends on undefined service "{dep}"')

    def _start_order(self, services: list[Service]) -> list[Service]:
        """``depends_on`` first (file order otherwise); a cycle is an error naming it."""
        by_name = {s.name: s for s in services}
        done: dict[str, Service] = {}

        def visit(svc: Service, chain: list[str]) -> None:
            if svc.name in done:
                return
            if svc.name in chain:
                cycle = " -> ".join([*chain[chain.index(svc.name) :], svc.name])
                raise self.fail(("services", svc.name, "depends_on"), f"dependency cycle detected: {cycle}")
            for dep in svc.depends_on:
                visit(by_name[dep], [*chain, svc.name])
            done[svc.name] = svc

        for svc in services:
            visit(svc, [])
        return list(done.values())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

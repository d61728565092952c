"""What ``up`` must do: the project as written vs. what the state holds, as ordered steps.

Pure (no state, no kernel): ``apply`` observes the state into ``Observed`` and runs the
steps. Each step that a user should see has a line (``+ network demo_front 10.60.0.0/24``,
``~ container demo-app-1: connect demo_back``, ``- container demo-old-1``); the summary
counts objects, not steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynet.compose.model import HASH_LABEL, PROJECT_LABEL, SERVICE_LABEL, LinkSpec
from pynet.errors import NotFound

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from pynet.compose.model import NetworkSpec, Project, Service, ServiceNetwork


@dataclass
class ObservedNetwork:
    """A network as the state holds it."""

    id: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ObservedEndpoint:
    """A container's membership of one network."""

    aliases: list[str] = field(default_factory=list)
    ipv4_address: str = ""  # as requested (a static address), "" when allocated
    ipv6_address: str = ""
    link: dict[str, str] = field(default_factory=dict)  # link shaping in force


@dataclass
class ObservedContainer:
    """A container of this project as the state holds it."""

    id: str
    name: str
    status: str
    labels: dict[str, str] = field(default_factory=dict)
    networks: dict[str, ObservedEndpoint] = field(default_factory=dict)  # by network name

    @property
    def service(self) -> str:
        return self.labels.get(SERVICE_LABEL, "")


@dataclass
class Observed:
    """Every network (by name) and this project's containers."""

    networks: dict[str, ObservedNetwork] = field(default_factory=dict)
    containers: list[ObservedContainer] = field(default_factory=list)


@dataclass
class Step:
    """One thing ``up``/``down`` does; ``line`` is what the plan shows ("" for none)."""

    op: str  # create_network remove_network create_container remove_container connect disconnect link
    sign: str  # "+" add, "~" change, "-" remove
    kind: str  # "network" | "container"
    name: str
    line: str = ""
    network: NetworkSpec | None = None
    service: Service | None = None
    number: int = 0
    entry: ServiceNetwork | None = None
    target: str = ""  # the ID of an existing object, or a network's name for connect


@dataclass
class Plan:
    """Ordered steps and the notices planning produced."""

    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> tuple[int, int, int]:
        """(add, change, remove): objects, each counted once under its strongest sign."""
        signs: dict[tuple[str, str], str] = {}
        for step in self.steps:
            key = (step.kind, step.name)
            if step.line and (key not in signs or step.sign == "~"):
                signs[key] = step.sign
        values = list(signs.values())
        return values.count("+"), values.count("~"), values.count("-")

    def summary(self) -> str:
        add, change, remove = self.counts()
        return f"{add} to add, {change} to change, {remove} to remove"

    def empty(self) -> bool:
        return not any(step.line for step in self.steps)


def plan_up(project: Project, seen: Observed, *, remove_orphans: bool = False) -> Plan:
    """The steps that bring the state to ``project`` (idempotent: none when it is there)."""
    return _UpPlanner(project, seen, remove_orphans).make()


def plan_down(project_name: str, seen: Observed) -> Plan:
    """Remove exactly what the project made: its containers, then its networks (by label)."""
    plan = Plan()
    for c in sorted(seen.containers, key=lambda c: c.name):
        plan.steps.append(Step("remove_container", "-", "container", c.name, f"- container {c.name}", target=c.id))
    for net in sorted(seen.networks.values(), key=lambda n: n.name):
        if net.labels.get(PROJECT_LABEL) == project_name:
            plan.steps.append(Step("remove_network", "-", "network", net.name, f"- network {net.name}", target=net.id))
    return plan


def desired_aliases(service: Service, entry: ServiceNetwork) -> list[str]:
    """A service's containers answer to the service name on each network (so replicas
    round-robin in DNS), plus the entry's own aliases."""
    return list(dict.fromkeys([service.name, *entry.aliases]))


class _UpPlanner:
    def __init__(self, project: Project, seen: Observed, remove_orphans: bool) -> None:
        self.project = project
        self.seen = seen
        self.remove_orphans = remove_orphans
        self.plan = Plan()
        self.early: list[Step] = []  # container removals: before networks change
        self.net_removals: list[Step] = []
        self.net_creations: list[Step] = []
        self.later: list[Step] = []  # containers made or changed, in start order
        self.recreated_networks: set[str] = set()

    def make(self) -> Plan:
        for spec in self.project.networks.values():
            self._network(spec)
        self._orphans()
        by_service: dict[str, list[ObservedContainer]] = {}
        for c in self.seen.containers:
            by_service.setdefault(c.service, []).append(c)
        for service in self.project.services:
            self._service(service, by_service.get(service.name, []))
        self.plan.steps = [*self.early, *self.net_removals, *self.net_creations, *self.later]
        return self.plan

    # -- networks ----------------------------------------------------------------------
    def _network(self, spec: NetworkSpec) -> None:
        if not self._used(spec):
            return
        found = self.seen.networks.get(spec.name)
        if spec.external:
            if found is None:
                raise NotFound(f"network {spec.name} declared as external, but could not be found", from_daemon=False)
            return
        summary = spec.summary()
        if found is None:
            line = f"+ network {spec.name}" + (f" {summary}" if summary else "")
            self.net_creations.append(Step("create_network", "+", "network", spec.name, line, network=spec))
            return
        if found.labels.get(PROJECT_LABEL) != self.project.name:
            self.plan.warnings.append(
                f"WARNING: a network with name {spec.name} exists but was not created by project "
                f"{self.project.name}: it is used as it is. Set `external: true` to use an existing network"
            )
            return
        if found.labels.get(HASH_LABEL) != spec.config_hash():
            self.recreated_networks.add(spec.name)
            line = f"~ network {spec.name}: recreate (settings changed)" + (f" {summary}" if summary else "")
            self.net_removals.append(Step("remove_network", "~", "network", spec.name, line, target=found.id))
            self.net_creations.append(Step("create_network", "~", "network", spec.name, network=spec))

    def _used(self, spec: NetworkSpec) -> bool:
        """Compose makes only networks some service uses (and ``default`` only then)."""
        return any(entry.key == spec.key for s in self.project.services for entry in s.networks)

    # -- containers --------------------------------------------------------------------
    def _orphans(self) -> None:
        known = {s.name for s in self.project.services}
        orphans = sorted((c for c in self.seen.containers if c.service not in known), key=lambda c: c.name)
        if orphans and not self.remove_orphans:
            names = ", ".join(c.name for c in orphans)
            self.plan.warnings.append(
                f"WARNING: Found orphan containers ([{names}]) for this project. If you removed or renamed this "
                "service in your compose file, you can run this command with the --remove-orphans flag to clean it up."
            )
            return
        for c in orphans:
            self._remove(c)

    def _remove(self, c: ObservedContainer) -> None:
        self.early.append(Step("remove_container", "-", "container", c.name, f"- container {c.name}", target=c.id))

    def _service(self, service: Service, existing: list[ObservedContainer]) -> None:
        names = service.container_names(self.project.name)
        by_name = {c.name: c for c in existing}
        for c in existing:
            if c.name not in names:  # scaled down, or container_name changed
                self._remove(c)
        for number, name in enumerate(names, start=1):
            found = by_name.get(name)
            if found is None:
                self.later.append(
                    Step(
                        "create_container",
                        "+",
                        "container",
                        name,
                        f"+ container {name}",
                        service=service,
                        number=number,
                    )
                )
                continue
            reason = self._recreate_reason(service, found)
            if reason:
                line = f"~ container {name}: recreate ({reason})"
                self.early.append(Step("remove_container", "~", "container", name, line, target=found.id))
                self.later.append(Step("create_container", "~", "container", name, service=service, number=number))
            else:
                self._networks(service, found)

    def _recreate_reason(self, service: Service, c: ObservedContainer) -> str:
        if c.labels.get(HASH_LABEL) != service.config_hash():
            return "config changed"
        if c.status != "running":
            return c.status
        on_recreated = sorted(set(c.networks) & self.recreated_networks)
        if on_recreated:
            return f"network {on_recreated[0]} recreated"
        return ""

    def _networks(self, service: Service, c: ObservedContainer) -> None:
        """Connect, disconnect, reconnect or re-shape a running container in place."""
        if service.network_mode:
            return
        wanted = {self.project.network(e.key).name: e for e in service.networks}
        for net_name in sorted(set(c.networks) - set(wanted)):
            line = f"~ container {c.name}: disconnect {net_name}"
            self.later.append(Step("disconnect", "~", "container", c.name, line, target=net_name))
        for net_name, entry in wanted.items():
            have = c.networks.get(net_name)
            if have is None:
                self._connect(service, c.name, net_name, entry, "connect")
            elif not self._same_entry(service, entry, have):
                self.later.append(Step("disconnect", "~", "container", c.name, "", target=net_name))
                self._connect(service, c.name, net_name, entry, "reconnect")
            elif (entry.link or LinkSpec()).settings() != have.link:
                self._link(c.name, net_name, entry)

    def _same_entry(self, service: Service, entry: ServiceNetwork, have: ObservedEndpoint) -> bool:
        return (
            sorted(desired_aliases(service, entry)) == sorted(have.aliases)
            and entry.ipv4_address == have.ipv4_address
            and entry.ipv6_address == have.ipv6_address
        )

    def _connect(self, service: Service, name: str, net_name: str, entry: ServiceNetwork, verb: str) -> None:
        line = f"~ container {name}: {verb} {net_name}"
        self.later.append(Step("connect", "~", "container", name, line, service=service, entry=entry, target=net_name))
        if entry.link and entry.link.settings():
            self.later.append(Step("link", "~", "container", name, service=service, entry=entry, target=net_name))

    def _link(self, name: str, net_name: str, entry: ServiceNetwork) -> None:
        settings = (entry.link or LinkSpec()).settings()
        shown = " ".join(f"{k}={v}" for k, v in settings.items()) or "cleared"
        line = f"~ container {name}: link {net_name} {shown}"
        self.later.append(Step("link", "~", "container", name, line, entry=entry, target=net_name))

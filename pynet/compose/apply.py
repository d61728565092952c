"""Running a plan with the core's controller operations (networks, containers, connect).

``observe`` reads the state into the planner's terms; ``Applier`` runs each step through
the Controller the composition root gives (``pynet.wiring``), one operation per step, and
reports each line once it is done. A failed step stops ``up`` there: what was done stays
(the next ``up`` goes on from it), and a container whose networks could not all be joined
is removed again, so no half-made container stays behind.
"""

from __future__ import annotations

from pynet.compose import model
from pynet.compose.planner import Observed, ObservedContainer, ObservedEndpoint, ObservedNetwork, desired_aliases
from pynet.errors import PynetError

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable

    from pynet.cnm.controller import Controller
    from pynet.cnm.repo import Repo
    from pynet.compose.model import NetworkSpec, Project, Service, ServiceNetwork
    from pynet.compose.planner import Plan, Step


def observe(repo: Repo, project_name: str) -> Observed:
    """Every network by name, and the containers labelled as this project's."""
    seen = Observed(networks={n.name: ObservedNetwork(n.id, n.name, dict(n.labels)) for n in repo.networks()})
    names = {n.id: n.name for n in repo.networks()}
    for c in repo.containers():
        if c.labels.get(model.PROJECT_LABEL) != project_name or c.labels.get(model.ONEOFF_LABEL) == "True":
            continue
        found = ObservedContainer(c.id, c.name, c.status, dict(c.labels))
        for net_id, ep_id in c.endpoints.items():
            ep = repo.endpoint(ep_id)
            if ep is None or net_id not in names:
                continue
            found.networks[names[net_id]] = ObservedEndpoint(
                aliases=list(ep.aliases),
                ipv4_address=ep.ipam_request.get("IPv4Address", ""),
                ipv6_address=ep.ipam_request.get("IPv6Address", ""),
                link=dict(ep.link),
            )
        seen.containers.append(found)
    return seen


class Applier:
    """Runs a plan's steps with one Controller; ``report`` gets each line when done."""

    def __init__(
        self, ctl: Controller, project: Project | None, report: Callable[[str], None], *, timeout: float = 10.0
    ) -> None:
        self.ctl = ctl
        self.project = project
        self.report = report
        self.timeout = timeout  # how long a container may take to stop on SIGTERM

    def run(self, plan: Plan) -> None:
        doomed = [step.target for step in plan.steps if step.op == "remove_container"]
        if doomed:
            self._terminate(doomed)
        for step in plan.steps:
            getattr(self, step.op)(step)
            if step.line:
                self.report(step.line)

    def _terminate(self, container_ids: list[str]) -> None:
        """SIGTERM to every container about to be removed, all at once, then wait (bounded)
        for them to end, as Compose stops before it removes; ``rm -f`` kills what is left."""
        import signal
        import time

        from pynet.cnm.processes import container_running
        from pynet.errors import Conflict, NotFound

        for cid in container_ids:
            try:
                self.ctl.kill(cid, signal.SIGTERM)
            except (Conflict, NotFound):  # not running, or gone: nothing to stop
                continue
        repo = self.ctl.reader()
        running = [c for c in (repo.container(cid) for cid in container_ids) if c is not None]
        deadline = time.monotonic() + self.timeout
        while running and time.monotonic() < deadline:
            running = [c for c in running if container_running(c)]
            time.sleep(0.02 if running else 0)

    # -- networks ----------------------------------------------------------------------
    def create_network(self, step: Step) -> None:
        from pynet.cnm.networks import NetworkCreateRequest

        spec: NetworkSpec = step.network  # type: ignore[assignment]
        assert self.project is not None
        aux: dict[str, str] = {}
        for pool in spec.ipam:
            aux.update(pool.aux_addresses)
        labels = {
            **spec.labels,
            model.PROJECT_LABEL: self.project.name,
            model.NETWORK_LABEL: spec.key,
            model.VERSION_LABEL: model.COMPOSE_VERSION,
            model.HASH_LABEL: spec.config_hash(),
        }
        self.ctl.create_network(
            NetworkCreateRequest(
                name=spec.name,
                driver=spec.driver,
                subnets=[p.subnet for p in spec.ipam if p.subnet],
                gateways=[p.gateway for p in spec.ipam if p.gateway],
                ip_ranges=[p.ip_range for p in spec.ipam if p.ip_range],
                aux_addresses=aux,
                enable_ipv6=spec.enable_ipv6,
                internal=spec.internal,
                attachable=spec.attachable,
                options=dict(spec.driver_opts),
                labels=labels,
                ipam_driver=spec.ipam_driver,
                ipam_options=dict(spec.ipam_options),
            )
        )

    def remove_network(self, step: Step) -> None:
        self.ctl.remove_network(step.target)

    # -- containers --------------------------------------------------------------------
    def remove_container(self, step: Step) -> None:
        self.ctl.remove_container(step.target, force=True)

    def create_container(self, step: Step) -> None:
        from pynet.cnm.containers import RunRequest
        from pynet.compose import images

        service: Service = step.service  # type: ignore[assignment]
        first, rest = self._entries(service)
        in_image = bool(service.image) and images.known(service.image)
        req = RunRequest(
            # in an image, no command means the image's Cmd (pynet.cnm.images.run_argv)
            argv=[*service.entrypoint, *service.command] if in_image else service.argv(),
            image=service.image if in_image else "",
            name=step.name,
            network=service.network_mode or self._net_name(first),
            attach=self._attach(service, first),
            hostname=service.hostname,
            domainname=service.domainname,
            dns=list(service.dns),
            dns_search=list(service.dns_search),
            dns_options=list(service.dns_opt),
            extra_hosts=list(service.extra_hosts),
            env=[f"{k}={v}" for k, v in service.environment.items()],
            workdir=service.working_dir,
            detach=True,
            labels=self._labels(service, step.number),
        )
        self._ports(req, service)
        c = self.ctl.create_container(req)
        try:
            for entry in rest:
                self.ctl.connect(self._net_name(entry), c.id, self._attach(service, entry))
            self.ctl.start_detached(c, self._env(service, c.hostname))
            for entry in [first, *rest]:  # shaping lives in the running sandbox
                if entry is not None and entry.link is not None and entry.link.settings():
                    self._shape(c.id, self._net_name(entry), entry)
        except BaseException:
            self._discard(c.id)
            raise

    def _discard(self, container_id: str) -> None:
        try:
            self.ctl.remove_container(container_id, force=True)
        except PynetError as exc:  # the step's own error is the one reported
            self.ctl.notices.append(f"WARNING: removing the half-made container {container_id[:12]}: {exc.message}")

    def connect(self, step: Step) -> None:
        self.ctl.connect(step.target, step.name, self._attach(step.service, step.entry))  # type: ignore[arg-type]

    def disconnect(self, step: Step) -> None:
        self.ctl.disconnect(step.target, step.name, False)

    def link(self, step: Step) -> None:
        self._shape(step.name, step.target, step.entry)  # type: ignore[arg-type]

    def _shape(self, container: str, network: str, entry: ServiceNetwork) -> None:
        from pynet.compose import shaping

        shaping.apply(self.ctl, container, network, entry.link)

    # -- pieces of a container ---------------------------------------------------------
    def _entries(self, service: Service) -> tuple[ServiceNetwork | None, list[ServiceNetwork]]:
        """The network ``run`` joins (the first that is not internal: it gives the default
        route and publishes the ports), and the ones connected before the start."""
        if service.network_mode:
            return None, []
        entries = list(service.networks)
        first = next((e for e in entries if not self._spec(e).internal), entries[0])
        return first, [e for e in entries if e is not first]

    def _spec(self, entry: ServiceNetwork) -> NetworkSpec:
        assert self.project is not None
        return self.project.network(entry.key)

    def _net_name(self, entry: ServiceNetwork | None) -> str:
        return self._spec(entry).name if entry is not None else ""

    def _attach(self, service: Service, entry: ServiceNetwork | None):  # type: ignore[no-untyped-def]
        from pynet.cnm.endpoints import AttachRequest

        if entry is None:
            return AttachRequest()
        return AttachRequest(ipv4=entry.ipv4_address, ipv6=entry.ipv6_address, aliases=desired_aliases(service, entry))

    def _labels(self, service: Service, number: int) -> dict[str, str]:
        assert self.project is not None
        labels = {
            **service.labels,
            model.PROJECT_LABEL: self.project.name,
            model.SERVICE_LABEL: service.name,
            model.NUMBER_LABEL: str(number),
            model.ONEOFF_LABEL: "False",
            model.HASH_LABEL: service.config_hash(),
            model.WORKDIR_LABEL: self.project.working_dir,
            model.FILES_LABEL: ",".join(self.project.config_files),
            model.DEPENDS_LABEL: ",".join(f"{d}:service_started:false" for d in service.depends_on),
            model.VERSION_LABEL: model.COMPOSE_VERSION,
        }
        if service.image:
            labels[model.IMAGE_LABEL] = service.image
        return labels

    def _ports(self, req, service: Service) -> None:  # type: ignore[no-untyped-def]
        from pynet.records import ports

        if service.network_mode == "host" and service.ports:
            self.ctl.notices.append(
                f"WARNING: service {service.name}: published ports are discarded when using host network mode"
            )
            return
        req.ports = ports.parse_publish(list(service.ports))
        req.exposed = sorted(
            set(ports.parse_expose(list(service.expose))) | {f"{p.container_port}/{p.proto}" for p in req.ports}
        )

    def _env(self, service: Service, hostname: str) -> dict[str, str]:
        from pynet.cnm.containers import DEFAULT_PATH

        return {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root", **service.environment}

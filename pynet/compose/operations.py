"""The compose operations the cli calls: load, up, down, ps rows, config.

Each takes what the user typed and a ``report`` callable for plan lines; warnings go to
``warn``. Nothing here renders tables or parses flags (``pynet.cli.compose`` does).
"""

from __future__ import annotations

import os

from pynet.compose import loader, model
from pynet.compose.loader import ComposeFileError

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from pynet.cnm.controller import Controller
    from pynet.compose.model import Project
    from pynet.compose.planner import Plan


def load_project(files: Sequence[str], project: str, cwd: str | None = None) -> Project:
    """The project in ``files`` (-f, several merged in order; else ``$COMPOSE_FILE``; else
    Compose's names in ``cwd``), named ``project`` (-p), by the file's ``name:``,
    ``$COMPOSE_PROJECT_NAME`` or the first file's directory's name."""
    from pynet.compose import merge, schema

    cwd = cwd or os.getcwd()
    if project:
        schema.check_project_name(project)
    environ = loader.environment(files, cwd, os.environ)
    paths = [loader.find_file(file, cwd) for file in files or loader.files_from_env(environ) or [""]]
    if paths.count("-") > 1:
        raise ComposeFileError("-f -: the standard input can be read once")
    working_dir = cwd if paths[0] == "-" else os.path.dirname(os.path.abspath(paths[0]))
    source = merge.merge([loader.load(path, environ) for path in paths])
    return schema.parse(source, name=project, working_dir=working_dir, environ=environ)


def project_name_only(files: Sequence[str], project: str, cwd: str | None = None) -> str:
    """``down``/``ps`` need only the name: from -p, else the file, else (no file here)
    ``$COMPOSE_PROJECT_NAME`` (``.env`` too), else the directory."""
    from pynet.compose import schema

    if project:
        return schema.check_project_name(project)
    try:
        return load_project(files, "", cwd).name
    except ComposeFileError:
        environ = loader.environment(files, cwd or os.getcwd(), os.environ)
        if files or loader.files_from_env(environ):
            raise
        if environ.get("COMPOSE_PROJECT_NAME"):
            return schema.check_project_name(environ["COMPOSE_PROJECT_NAME"])
        name = loader.project_name(os.path.basename(cwd or os.getcwd()))
        if not name:
            raise
        return name


def _observe(ctl: Controller | None, name: str):  # type: ignore[no-untyped-def]
    from pynet import wiring
    from pynet.compose import apply

    repo = ctl.reader() if ctl is not None else wiring.open_repo()
    return apply.observe(repo, name)


def _controller() -> Controller:
    from pynet import wiring

    ctl = wiring.controller()
    ctl.ensure_ready()
    return ctl


def up(
    project: Project,
    *,
    dry_run: bool,
    remove_orphans: bool,
    report: Callable[[str], None],
    warn: Callable[[str], None],
) -> tuple[Plan, Controller | None]:
    """Plan the project against the state; unless ``dry_run``, apply it (``report`` gets
    each line once done). Returns the plan and the controller that applied it."""
    from pynet.compose import apply, planner

    for line in project.warnings:
        warn(line)
    _check_link_support(project)
    _image_notice(project, warn)
    ctl = None if dry_run else _controller()
    plan = planner.plan_up(project, _observe(ctl, project.name), remove_orphans=remove_orphans)
    for line in plan.warnings:
        warn(line)
    if dry_run:
        for step in plan.steps:
            if step.line:
                report(step.line)
        return plan, None
    assert ctl is not None
    try:
        apply.Applier(ctl, project, report).run(plan)
    finally:
        for line in dict.fromkeys(ctl.notices):
            warn(line)
        ctl.notices.clear()
    return plan, ctl


def down(name: str, *, dry_run: bool, timeout: float, report: Callable[[str], None]) -> Plan:
    """Remove the project's containers, then its networks (all found by label)."""
    from pynet.compose import apply, planner

    ctl = None if dry_run else _controller()
    plan = planner.plan_down(name, _observe(ctl, name))
    if dry_run:
        for step in plan.steps:
            report(step.line)
        return plan
    assert ctl is not None
    apply.Applier(ctl, None, report, timeout=timeout).run(plan)
    return plan


def project_containers(name: str, *, all_states: bool) -> list[dict[str, Any]]:
    """``compose ps`` rows: the project's containers (running ones unless ``all_states``)."""
    import time

    from pynet import wiring
    from pynet.cnm import views

    repo = wiring.open_repo()
    now = time.time_ns()
    rows = []
    for c in sorted(repo.containers(), key=lambda c: c.name):
        if c.labels.get(model.PROJECT_LABEL) != name or (not all_states and c.status != "running"):
            continue
        item = views.ps_item(c, repo, now)
        item["Name"] = c.name
        item["Service"] = c.labels.get(model.SERVICE_LABEL, "")
        item["Project"] = name
        item["Image"] = c.labels.get(model.IMAGE_LABEL, "")
        item["ID"] = c.id[:12]
        rows.append(item)
    return rows


def config(project: Project) -> dict[str, Any]:
    """The project as pynet understood it, in Compose's canonical shape."""
    from dataclasses import asdict

    out: dict[str, Any] = {"name": project.name, "services": {}, "networks": {}}
    for svc in sorted(project.services, key=lambda s: s.name):
        data = {k: v for k, v in asdict(svc).items() if v not in ("", [], {}, None) and k != "name"}
        data.pop("replicas", None)
        if svc.environment:
            data["environment"] = dict(sorted(svc.environment.items()))  # as docker-compose config
        if svc.replicas != 1:
            data["deploy"] = {"replicas": svc.replicas}
        if not svc.network_mode:
            data["networks"] = {e.key: _entry(e) for e in svc.networks}
        out["services"][svc.name] = data
    for key, spec in sorted(project.networks.items()):
        data = {k: v for k, v in asdict(spec).items() if v not in ("", [], {}, None, False) and k != "key"}
        if spec.ipam or spec.ipam_options or spec.ipam_driver != "default":
            data.pop("ipam_driver", None)
            data.pop("ipam_options", None)
            pools = [{k: v for k, v in pool.items() if v} for pool in data.pop("ipam", [])]
            data["ipam"] = {"driver": spec.ipam_driver, "config": pools}
            if spec.ipam_options:
                data["ipam"]["options"] = spec.ipam_options
        else:
            data.pop("ipam_driver", None)
        out["networks"][key] = data
    return out


def config_yaml(project: Project) -> str:
    """:func:`config` as YAML, keys in Compose's order, strings written as docker-compose
    1.29 writes them: every ``$`` as ``$$`` (a ``$`` in a value is literal by then, and the
    output stays a Compose file that reads back the same), and ``y``/``n``/``yes``/``on``...
    in double quotes, so no YAML 1.1 reader takes them for booleans."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, _compose_string)
    return yaml.dump(config(project), Dumper=Dumper, sort_keys=False, default_flow_style=False)  # type: ignore[no-any-return]


_BOOLEAN_LIKE = {"y", "n", "yes", "no", "on", "off", "true", "false"}  # docker-compose's serialize_string


def _compose_string(dumper: Any, data: str) -> Any:
    data = data.replace("$", "$$")
    if data.lower() in _BOOLEAN_LIKE:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


def _entry(entry: Any) -> dict[str, Any] | None:
    from dataclasses import asdict

    data = {k: v for k, v in asdict(entry).items() if v not in ("", [], {}, None) and k not in ("key", "link")}
    if entry.link is not None:
        data["x-pynet-link"] = entry.link.settings()
    return data or None


def _check_link_support(project: Project) -> None:
    """Refuse, before anything is made, link settings this kernel cannot apply (netem's)."""
    wanted = {
        (svc.name, entry.key): entry.link.settings()
        for svc in project.services
        for entry in svc.networks
        if entry.link is not None and entry.link.settings()
    }
    if not wanted:
        return
    from pynet.cnm.links import supported_impairments
    from pynet.errors import Unsupported

    supported = supported_impairments()
    for (service, key), settings in wanted.items():
        missing = [name for name in settings if not supported.get(name, False)]
        if missing:
            raise Unsupported(
                f"services.{service}.networks.{key}.x-pynet-link: cannot set {', '.join(missing)}: this kernel "
                "has no netem qdisc (CONFIG_NET_SCH_NETEM); link shaping here supports "
                + ", ".join(name for name, ok in supported.items() if ok),
                from_daemon=False,
            )


def _image_notice(project: Project, warn: Callable[[str], None]) -> None:
    """``image:`` is accepted; said once when pynet runs the command from the host instead."""
    from pynet.compose import images

    on_host = [s.name for s in project.services if s.image and not images.known(s.image)]
    if on_host:
        warn(
            f"WARNING: pynet does not have the image of service(s) {', '.join(on_host)}: "
            "their command runs from the host's filesystem"
        )

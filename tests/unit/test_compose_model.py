"""`pynet compose` without root: the loader (marks, interpolation), the schema, the planner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.compose import loader, model, planner, schema
from pynet.compose.loader import ComposeFileError
from pynet.compose.planner import Observed, ObservedContainer, ObservedEndpoint, ObservedNetwork
from pynet.errors import InvalidArgument, NotFound

REPO_ROOT = Path(__file__).resolve().parents[2]

DEMO = """
services:
  proxy:
    command: sleep infinity
    networks: [front, back]
    ports: ["8080:80", {target: 443, published: 8443, protocol: tcp}]
    depends_on: [app]
  app:
    command: ["sleep", "infinity"]
    networks:
      back:
        aliases: [api]
        x-pynet-link: {rate: 10mbit, loss: 1%}
    depends_on:
      db: {condition: service_healthy}
  db:
    networks:
      back: {ipv4_address: 10.61.0.10}
networks:
  front:
    ipam: {config: [{subnet: 10.60.0.0/24}]}
  back:
    internal: true
"""


def load(tmp_path: Path, text: str, name: str = "demo", environ: dict[str, str] | None = None) -> model.Project:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    env = environ or {}
    return schema.parse(loader.load(str(path), env), name=name, working_dir=str(tmp_path), environ=env)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(InvalidArgument) as info:
        load(tmp_path, text)
    return info.value.message.replace(str(tmp_path) + "/", "")


# -- loader ------------------------------------------------------------------------------
def test_a_malformed_file_is_one_line_with_file_line_and_column(tmp_path: Path) -> None:
    assert error_of(tmp_path, "services:\n  app:\n   command: x\n  bad\n") == (
        "compose.yaml:5:1: could not find expected ':'"
    )
    assert error_of(tmp_path, "services:\n  a: {}\n  a: {}\n") == (
        'compose.yaml:3:3: mapping key "a" already defined at line 2'
    )


def test_interpolation_and_dotenv(tmp_path: Path) -> None:
    env = {"NET": "10.9.0.0/24", "EMPTY": ""}
    assert loader.interpolate("${NET}", env, ValueError) == "10.9.0.0/24"
    assert loader.interpolate("${MISSING:-d} ${EMPTY:-e} ${EMPTY-f} $$HOME $NET", env, ValueError) == (
        "d e  $HOME 10.9.0.0/24"
    )
    with pytest.raises(ComposeFileError, match="required variable MISSING is missing a value: say it"):
        load(tmp_path, "services:\n  a:\n    command: ${MISSING:?say it}\n")
    with pytest.raises(ComposeFileError, match=r'services.a.command: invalid interpolation format for "echo \$\{A"'):
        load(tmp_path, "services:\n  a:\n    command: echo ${A\n")  # never closed: was kept as text
    assert loader.interpolate("$${A", env, ValueError) == "${A"
    (tmp_path / ".env").write_text("# comment\nexport SUB='10.7.0.0/24'\nX=1\n")
    assert loader.dotenv(str(tmp_path)) == {"SUB": "10.7.0.0/24", "X": "1"}


def test_merge_keys_and_anchors(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "x-base: &base\n  command: sleep 5\n  dns: 10.0.0.53\nservices:\n  a:\n    <<: *base\n    hostname: h\n",
    )
    (a,) = project.services
    assert (a.command, a.dns, a.hostname) == (["sleep", "5"], ["10.0.0.53"], "h")
    assert project.warnings == []  # x- keys are the spec's extensions: silent


def test_default_file_names_and_project_name(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="no configuration file provided: not found"):
        loader.find_file("", str(tmp_path))
    (tmp_path / "docker-compose.yml").write_text("services: {a: {}}\n")
    assert loader.find_file("", str(tmp_path)).endswith("docker-compose.yml")
    (tmp_path / "compose.yaml").write_text("services: {a: {}}\n")
    assert loader.find_file("", str(tmp_path)).endswith("compose.yaml")
    assert loader.project_name("My_Project.v2") == "my_projectv2"
    assert loader.project_name("-_x") == "x"
    with pytest.raises(InvalidArgument, match='invalid project name "Demo"'):
        schema.check_project_name("Demo")


# -- schema ------------------------------------------------------------------------------
def test_the_demo_file(tmp_path: Path) -> None:
    project = load(tmp_path, DEMO)
    assert [s.name for s in project.services] == ["db", "app", "proxy"]  # depends_on first
    proxy = project.service("proxy")
    assert proxy is not None and proxy.ports == ["8080:80", "8443:443/tcp"]
    assert [e.key for e in proxy.networks] == ["front", "back"]
    app = project.service("app")
    assert app is not None and app.networks[0].aliases == ["api"]
    assert app.networks[0].link is not None and app.networks[0].link.settings() == {"rate": "10mbit", "loss": "1%"}
    assert project.networks["front"].name == "demo_front" and project.networks["back"].internal
    assert project.networks["front"].summary() == "10.60.0.0/24"
    assert "default" not in project.networks  # every service names its networks
    assert project.warnings == []


def test_unknown_keys_warn_with_their_path(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  a:\n    volumes: [x:/y]\n    deploy: {replicas: 2, resources: {}}\n")
    assert project.warnings == [
        "WARNING: services.a.volumes: not supported by pynet, ignored (compose.yaml:3:5)".replace(
            "compose.yaml", str(tmp_path / "compose.yaml")
        ),
        "WARNING: services.a.deploy.resources: not supported by pynet, ignored (compose.yaml:4:27)".replace(
            "compose.yaml", str(tmp_path / "compose.yaml")
        ),
    ]
    assert project.services[0].replicas == 2
    assert project.networks["default"].name == "demo_default"


@pytest.mark.parametrize(
    "text, message",
    [
        ("services:\n  a:\n    networks: [x]\n", 'compose.yaml:3:16: services.a.networks.x: service "a" refers to'),
        ("services:\n  a:\n    depends_on: [b]\n", 'compose.yaml:3:5: services.a.depends_on: service "a" depends on'),
        ("services:\n  a: {depends_on: [b]}\n  b: {depends_on: [a]}\n", "dependency cycle detected: a -> b -> a"),
        ("services:\n  a:\n    ports: ['1:2:3:4']\n", "compose.yaml:3:13: services.a.ports[0]:"),
        ("services:\n  a:\n    network_mode: service:b\n", 'network_mode "service:b" is not supported'),
        ("services:\n  a: {network_mode: host, networks: [x]}\n", "network_mode and networks cannot be combined"),
        ("services:\n  a: {container_name: c0, scale: 2}\n", 'a container name must be unique: "c0"'),
        (
            "services:\n  a: {container_name: c1}\n  b: {container_name: c1}\n",
            'compose.yaml:3:7: services.b.container_name: container name "c1" is already in use by service "a"',
        ),
        ("services:\n  a: {container_name: x/y}\n", "services.a.container_name: Invalid container name (x/y)"),
        ("services:\n  a:\n    networks: {n: {ipv4_address: 10.1.2}}\nnetworks: {n: {}}\n", "invalid IPv4 address"),
        (
            "services:\n  a:\n    networks: {n: {x-pynet-link: {rate: fast}}}\nnetworks: {n: {}}\n",
            "invalid rate 'fast'",
        ),
        (
            "services:\n  a:\n    networks: {n: {x-pynet-link: {loss: 200%}}}\nnetworks: {n: {}}\n",
            "invalid loss '200%'",
        ),
        ("services:\n  a: {}\nnetworks:\n  n: {ipam: {config: [{subnet: x}]}}\n", "invalid CIDR address: x"),
        ("services: {}\n", "services: no service defined"),
        ("- a\n", "top-level object must be a mapping"),
        ('services:\n  "": {}\n', 'compose.yaml:2:3: services.: invalid service name ""'),
    ],
)
def test_bad_values_are_one_line_naming_their_place(tmp_path: Path, text: str, message: str) -> None:
    assert message in error_of(tmp_path, text)


def test_the_project_name_from_the_file_is_checked_where_it_is_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as info:
        load(tmp_path, "services: {a: {}}\nname: Bad Name\n", name="")
    assert info.value.message.endswith(
        'compose.yaml:2:1: name: invalid project name "Bad Name": must consist only '
        "of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
    )
    assert load(tmp_path, "services: {a: {}}\nname: good\n", name="").name == "good"
    assert load(tmp_path, "services: {a: {}}\n", name="").name == loader.project_name(tmp_path.name)


def test_external_networks_keep_their_name(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "services:\n  a: {networks: [ext, old]}\nnetworks:\n  ext: {external: true}\n"
        "  old: {external: {name: legacy}}\n",
    )
    assert (project.networks["ext"].name, project.networks["old"].name) == ("ext", "legacy")


def test_environment_extra_hosts_and_command_forms(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "services:\n  a:\n    entrypoint: /bin/sh -c\n    command: 'echo \"a b\"'\n"
        "    environment: [A=1, FROM_HOST, UNSET]\n    extra_hosts: ['db:10.0.0.2', 'v6=::1']\n"
        "  b:\n    environment: {B: 2, FROM_HOST: null}\n    extra_hosts: {gw: 10.0.0.1}\n",
        environ={"FROM_HOST": "h"},
    )
    a, b = project.services
    assert a.argv() == ["/bin/sh", "-c", "echo", "a b"]
    assert a.entrypoint == ["/bin/sh", "-c"] and a.command == ["echo", "a b"]
    assert a.environment == {"A": "1", "FROM_HOST": "h"}
    assert b.environment == {"B": "2", "FROM_HOST": "h"}
    assert a.extra_hosts == ["db:10.0.0.2", "v6:::1"] and b.extra_hosts == ["gw:10.0.0.1"]
    assert model.Service(name="idle").argv() == ["sleep", "infinity"]


# -- planner -----------------------------------------------------------------------------
def observed_after_up(project: model.Project) -> Observed:
    """What the state holds right after a successful ``up`` of ``project``."""
    seen = Observed()
    for spec in project.networks.values():
        labels = {model.PROJECT_LABEL: project.name, model.HASH_LABEL: spec.config_hash()}
        seen.networks[spec.name] = ObservedNetwork(id="n-" + spec.name, name=spec.name, labels=labels)
    for svc in project.services:
        for n, name in enumerate(svc.container_names(project.name), start=1):
            labels = {
                model.PROJECT_LABEL: project.name,
                model.SERVICE_LABEL: svc.name,
                model.HASH_LABEL: svc.config_hash(),
            }
            eps = {
                project.networks[e.key].name: ObservedEndpoint(
                    aliases=planner.desired_aliases(svc, e),
                    ipv4_address=e.ipv4_address,
                    link=e.link.settings() if e.link else {},
                )
                for e in svc.networks
            }
            seen.containers.append(ObservedContainer(f"id-{name}", name, "running", labels, eps))
    return seen


def lines(plan: planner.Plan) -> list[str]:
    return [s.line for s in plan.steps if s.line]


def test_a_fresh_plan_adds_everything_in_order(tmp_path: Path) -> None:
    plan = planner.plan_up(load(tmp_path, DEMO), Observed())
    assert lines(plan) == [
        "+ network demo_front 10.60.0.0/24",
        "+ network demo_back internal",
        "+ container demo-db-1",
        "+ container demo-app-1",
        "+ container demo-proxy-1",
    ]
    assert plan.summary() == "5 to add, 0 to change, 0 to remove"


def test_an_unchanged_project_plans_nothing(tmp_path: Path) -> None:
    project = load(tmp_path, DEMO)
    plan = planner.plan_up(project, observed_after_up(project))
    assert plan.empty() and plan.summary() == "0 to add, 0 to change, 0 to remove"


def test_edits_recreate_reconnect_and_reshape(tmp_path: Path) -> None:
    before = load(tmp_path, DEMO)
    seen = observed_after_up(before)
    edited = DEMO.replace("  db:\n", "  db:\n    command: sleep 5\n")
    edited = edited.replace("aliases: [api]", "aliases: [api, api2]")
    edited = edited.replace("{rate: 10mbit, loss: 1%}", "{rate: 5mbit}")
    edited = edited.replace("networks: [front, back]", "networks: [front]")
    plan = planner.plan_up(load(tmp_path, edited), seen)
    assert lines(plan) == [
        "~ container demo-db-1: recreate (config changed)",
        "~ container demo-app-1: reconnect demo_back",
        "~ container demo-proxy-1: disconnect demo_back",
    ]
    assert [s.op for s in plan.steps] == [
        "remove_container",
        "create_container",
        "disconnect",
        "connect",
        "link",
        "disconnect",
    ]
    assert plan.summary() == "0 to add, 3 to change, 0 to remove"
    only_link = planner.plan_up(load(tmp_path, DEMO.replace("{rate: 10mbit, loss: 1%}", "{rate: 5mbit}")), seen)
    assert lines(only_link) == ["~ container demo-app-1: link demo_back rate=5mbit"]


def test_exited_containers_are_recreated(tmp_path: Path) -> None:
    project = load(tmp_path, DEMO)
    seen = observed_after_up(project)
    seen.containers[0].status = "exited"
    assert lines(planner.plan_up(project, seen)) == ["~ container demo-db-1: recreate (exited)"]


def test_orphans_scale_and_changed_networks(tmp_path: Path) -> None:
    project = load(tmp_path, DEMO)
    seen = observed_after_up(project)
    seen.containers.append(ObservedContainer("id-old", "demo-old-1", "running", {model.SERVICE_LABEL: "old"}))
    warned = planner.plan_up(project, seen)
    assert warned.empty() and "Found orphan containers ([demo-old-1])" in warned.warnings[0]
    removed = planner.plan_up(project, seen, remove_orphans=True)
    assert lines(removed) == ["- container demo-old-1"] and removed.summary() == "0 to add, 0 to change, 1 to remove"

    scaled = load(tmp_path, DEMO.replace("  db:\n", "  db:\n    scale: 2\n"))
    assert lines(planner.plan_up(scaled, observed_after_up(project))) == ["+ container demo-db-2"]
    assert lines(planner.plan_up(project, observed_after_up(scaled))) == ["- container demo-db-2"]

    resubnetted = load(tmp_path, DEMO.replace("10.60.0.0/24", "10.70.0.0/24"))
    plan = planner.plan_up(resubnetted, observed_after_up(project))
    assert lines(plan) == [
        "~ container demo-proxy-1: recreate (network demo_front recreated)",
        "~ network demo_front: recreate (settings changed) 10.70.0.0/24",
    ]
    assert [s.op for s in plan.steps] == ["remove_container", "remove_network", "create_network", "create_container"]


def test_external_and_foreign_networks(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  a: {networks: [ext]}\nnetworks:\n  ext: {external: true}\n")
    with pytest.raises(NotFound, match="network ext declared as external, but could not be found"):
        planner.plan_up(project, Observed())
    plan = planner.plan_up(project, Observed(networks={"ext": ObservedNetwork("n1", "ext")}))
    assert lines(plan) == ["+ container demo-a-1"]
    foreign = load(tmp_path, "services:\n  a: {}\n")
    plan = planner.plan_up(foreign, Observed(networks={"demo_default": ObservedNetwork("n2", "demo_default")}))
    assert lines(plan) == ["+ container demo-a-1"] and "was not created by project demo" in plan.warnings[0]


def test_down_removes_what_carries_the_project_label(tmp_path: Path) -> None:
    project = load(tmp_path, DEMO)
    seen = observed_after_up(project)
    seen.networks["other"] = ObservedNetwork("n9", "other", {model.PROJECT_LABEL: "else"})
    plan = planner.plan_down("demo", seen)
    assert lines(plan) == [
        "- container demo-app-1",
        "- container demo-db-1",
        "- container demo-proxy-1",
        "- network demo_back",
        "- network demo_front",
    ]


# -- start-up cost -----------------------------------------------------------------------
def test_only_compose_imports_yaml() -> None:
    importers = subprocess.run(
        ["grep", "-rlE", r"^\s*(import yaml|from yaml)", "pynet"], capture_output=True, text=True, cwd=REPO_ROOT
    ).stdout.split()
    assert importers and all(path.startswith("pynet/compose/") for path in importers), importers


def test_read_only_commands_never_load_yaml(tmp_path: Path) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from pynet.cli.main import boundary, _dispatch\n"
        "for args in (['network', 'ls'], ['ps', '-a'], ['compose', '--help'], ['--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        boundary(lambda: _dispatch(args))\n"
        "    assert 'yaml' not in sys.modules, args\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYNET_STATE_DIR": str(tmp_path), "PYNET_RUN_DIR": str(tmp_path)}
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert cp.returncode == 0, cp.stderr


def test_config_prints_what_pynet_understood(tmp_path: Path) -> None:
    import yaml

    from pynet.compose import operations

    project = load(tmp_path, DEMO)
    printed = yaml.safe_load(operations.config_yaml(project))
    assert list(printed["services"]) == ["app", "db", "proxy"]
    assert printed["services"]["app"]["networks"]["back"] == {
        "aliases": ["api"],
        "x-pynet-link": {"rate": "10mbit", "loss": "1%"},
    }
    assert printed["services"]["proxy"]["ports"] == ["8080:80", "8443:443/tcp"]
    assert printed["networks"]["front"] == {
        "name": "demo_front",
        "driver": "bridge",
        "ipam": {"driver": "default", "config": [{"subnet": "10.60.0.0/24"}]},
    }
    assert printed["networks"]["back"] == {"name": "demo_back", "driver": "bridge", "internal": True}
    again = load(tmp_path, operations.config_yaml(project))  # the output is a valid file: same project
    assert [s.config_hash() for s in again.services] == [s.config_hash() for s in project.services]


def _laughs(depth: int) -> str:
    """Anchors nine wide, ``depth`` deep: 9**depth values once expanded."""
    lines = ['x-a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x-a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\nservices:\n  a:\n    command: sleep 1\n    x-big: *a{depth}\n"


def test_a_billion_laughs_file_is_refused_not_expanded(tmp_path: Path) -> None:
    assert load(tmp_path, _laughs(3)).services[0].command == ["sleep", "1"]  # 729 values: fine
    assert error_of(tmp_path, _laughs(9)).endswith("compose.yaml: yaml: document contains excessive aliasing")


def test_stdin_that_is_not_utf8_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe")))
    with pytest.raises(ComposeFileError, match="^-: 'utf-8' codec can't decode byte 0xff"):
        loader.load("-", {})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"services: {a: {command: sleep 1}}\n")))
    assert loader.load("-", {}).data == {"services": {"a": {"command": "sleep 1"}}}


def test_an_unknown_tag_is_one_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, "services:\n  a:\n    command: !custom x\n") == (
        "compose.yaml:3:5: could not determine a constructor for the tag '!custom'"
    )

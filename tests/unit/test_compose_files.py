"""`pynet compose`: ``env_file:`` and several ``-f`` files, compared with what
docker-compose 1.29 printed for the same files (tests/reference/compose/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pynet.compose import envfile, operations
from pynet.compose.loader import ComposeFileError

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "compose"


def reference_config(path: Path) -> dict:
    """A ``docker-compose config`` output: ``$$`` is its escape of a literal ``$``."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith(("#", "Python-dotenv")))
    return yaml.safe_load(text.replace("$$", "$"))


def copy_reference(tmp_path: Path, name: str) -> Path:
    shutil.copytree(REFERENCE / name, tmp_path / name)
    return tmp_path / name


# -- env_file ----------------------------------------------------------------------------
def test_env_file_lines_as_python_dotenv_reads_them() -> None:
    skipped: list[int] = []
    text = '# c\nA=1\n\nexport B=\'x $Y\'\nC="a\\nb" # note\nD=x #y\nE=x#y\nF\nG="a"b\n  H = 3 \nI='
    assert envfile.parse(text, skipped.append) == {
        "A": "1",
        "B": "x $Y",
        "C": "a\nb",
        "D": "x",
        "E": "x#y",
        "F": None,
        "H": "3",
        "I": "",
    }
    assert skipped == [9]


def test_env_file_environment_as_docker_compose_config_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = copy_reference(tmp_path, "env_file")
    for key, value in {"PASS": "passed", "H": "hh", "D": "fromhost"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MISSINGVAR", raising=False)
    project = operations.load_project([str(directory / "compose.yml")], "demo")
    want = reference_config(REFERENCE / "env_file" / "docker-compose-config.txt")
    for name, service in want["services"].items():
        unset = {k for k, v in service["environment"].items() if v is None}  # the container does not get them
        expected = {k: v for k, v in service["environment"].items() if k not in unset}
        assert project.service(name).environment == expected
    config = operations.config(project)
    assert list(config["services"]["app"]["environment"]) == sorted(expected_keys(want, "app"))
    assert project.warnings == [
        f"WARNING: {directory}/c.env: could not parse statement starting at line 3, ignored (compose.yml:12:5)".replace(
            "compose.yml", str(directory / "compose.yml")
        )
    ]


def expected_keys(want: dict, service: str) -> list[str]:
    return [k for k, v in want["services"][service]["environment"].items() if v is not None]


def test_a_missing_env_file_is_docker_compose_s_error(tmp_path: Path) -> None:
    directory = copy_reference(tmp_path, "env_file")
    with pytest.raises(ComposeFileError) as info:
        operations.load_project([str(directory / "missing.yml")], "demo")
    reference = (REFERENCE / "env_file" / "docker-compose-missing.txt").read_text().splitlines()[1]
    assert info.value.message == f"Couldn't find env file: {directory}/nope.env"
    assert info.value.message.rsplit("/", 1)[1] == reference.rsplit("/", 1)[1]
    assert info.value.message.startswith("Couldn't find env file: /")


def test_env_file_long_syntax_and_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.env").write_text("A=1\nB=2\n")
    (tmp_path / "sub" / "compose.yaml").write_text(
        "services:\n  app:\n    env_file:\n      - path: one.env\n      - path: gone.env\n        required: false\n"
        "    environment: [B=3]\n"
    )
    monkeypatch.chdir(tmp_path)
    project = operations.load_project(["sub/compose.yaml"], "demo")
    assert project.service("app").environment == {"A": "1", "B": "3"}
    (tmp_path / "sub" / "compose.yaml").write_text("services:\n  app:\n    env_file: {path: gone.env}\n")
    with pytest.raises(ComposeFileError, match=f"^Couldn't find env file: {tmp_path}/sub/gone.env$"):
        operations.load_project(["sub/compose.yaml"], "demo")
    (tmp_path / "sub" / "compose.yaml").write_text("services:\n  app:\n    env_file: [{required: false}]\n")
    with pytest.raises(ComposeFileError, match=r"compose.yaml:3:16: services.app.env_file\[0\].path: must be a path"):
        operations.load_project(["sub/compose.yaml"], "demo")


def test_environment_key_alone_unsets_an_env_file_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.env").write_text("A=1\nB=2\n")
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    env_file: x.env\n    environment: [A]\n")
    monkeypatch.delenv("A", raising=False)
    assert operations.load_project([], "demo", str(tmp_path)).service("app").environment == {"B": "2"}


# -- several files -----------------------------------------------------------------------
def port_keys(ports: list) -> list[tuple]:
    """Ports as (container port, published, host IP, protocol), in their order."""
    from pynet.records.ports import parse_publish

    out = []
    for item in ports:
        if isinstance(item, dict):
            out.append((int(item["target"]), int(item.get("published", 0)), "", item.get("protocol", "tcp")))
        else:
            out += [(b.container_port, b.host_port, b.host_ip, b.proto) for b in parse_publish([item])]
    return out


def assert_same_service(ours: dict, theirs: dict) -> None:
    """pynet's ``config`` of a service against docker-compose 1.29's, key by key."""
    for key in ("command", "entrypoint", "dns", "dns_search", "dns_opt", "expose", "image", "labels"):
        assert ours.get(key) == theirs.get(key), key
    assert ours.get("environment", {}) == {k: v for k, v in theirs.get("environment", {}).items() if v is not None}
    assert port_keys(ours.get("ports", [])) == port_keys(theirs.get("ports", []))
    hosts = theirs.get("extra_hosts", {})
    assert ours.get("extra_hosts", []) == [f"{h}:{ip}" for h, ip in hosts.items()]
    assert sorted(ours.get("depends_on", [])) == sorted(theirs.get("depends_on", {}))
    assert ours.get("deploy", {}).get("replicas") == theirs.get("deploy", {}).get("replicas")
    nets = {k: v or {} for k, v in ours["networks"].items() if k != "default"}
    assert nets == {k: v or {} for k, v in theirs.get("networks", {}).items()}


@pytest.mark.parametrize(
    ("files", "reference"),
    [(["a.yml", "sub/b.yml"], "docker-compose-config-a-b.txt"), (["c.yml", "d.yml"], "docker-compose-config-c-d.txt")],
)
def test_several_files_merge_as_docker_compose_merges_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[str], reference: str
) -> None:
    directory = copy_reference(tmp_path, "merge")
    monkeypatch.chdir(directory)
    project = operations.load_project(files, "demo")
    ours = operations.config(project)
    theirs = reference_config(REFERENCE / "merge" / reference)
    assert sorted(ours["services"]) == sorted(theirs["services"])
    for name, service in theirs["services"].items():
        assert_same_service(ours["services"][name], service)
    for name, network in theirs["networks"].items():  # replaced whole by a later file
        assert ours["networks"][name].get("labels") == network.get("labels")
        subnets = [pool["subnet"] for pool in network.get("ipam", {}).get("config", [])]
        assert [pool["subnet"] for pool in ours["networks"][name].get("ipam", {}).get("config", [])] == subnets
    assert project.working_dir == str(directory)  # the first file's directory
    assert project.config_files == [str(directory / f) for f in files]


def test_compose_file_variable_and_errors_name_their_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = copy_reference(tmp_path, "merge")
    monkeypatch.chdir(directory)
    monkeypatch.setenv("COMPOSE_FILE", "c.yml:d.yml")
    merged = operations.config(operations.load_project([], "demo"))
    assert merged == operations.config(operations.load_project(["c.yml", "d.yml"], "demo"))
    assert merged["services"]["app"]["deploy"] == {"replicas": 3}
    monkeypatch.delenv("COMPOSE_FILE")
    (directory / "bad.yml").write_text("services:\n  app:\n    ports: ['1:2:3:4']\n    networks: [nowhere]\n")
    with pytest.raises(ComposeFileError) as info:
        operations.load_project(["c.yml", "bad.yml"], "demo")
    assert info.value.message.startswith("bad.yml:3:13: services.app.ports[")
    (directory / "bad.yml").write_text("services:\n  app:\n    networks: [front, nowhere]\n")
    with pytest.raises(ComposeFileError, match=r"^bad.yml:3:23: services.app.networks.nowhere: service \"app\" refers"):
        operations.load_project(["c.yml", "bad.yml"], "demo")
    (directory / "bad.yml").write_text("services:\n  db:\n    dns: [1.1.1.1]\n")
    project = operations.load_project(["c.yml", "bad.yml"], "demo")
    assert project.warnings == ["WARNING: services.app.deploy.resources: not supported by pynet, ignored (c.yml:14:27)"]
    with pytest.raises(ComposeFileError, match=r"^open .*/nope.yml: no such file or directory$"):
        operations.load_project(["c.yml", "nope.yml"], "demo")


def test_a_third_file_merges_on_the_merged_result(tmp_path: Path) -> None:
    for name, text in {
        "1.yml": "services:\n  app:\n    environment: [A=1]\n    networks: {n: {aliases: [b]}}\nnetworks: {n: {}}\n",
        "2.yml": "services:\n  app:\n    environment: {B: '2'}\n    networks: {n: {aliases: [a]}}\n",
        "3.yml": "services:\n  app:\n    environment: [A=3]\n    networks: {n: {aliases: [c]}}\n    dns: 1.1.1.1\n",
    }.items():
        (tmp_path / name).write_text(text)
    files = [str(tmp_path / n) for n in ("1.yml", "2.yml", "3.yml")]
    app = operations.load_project(files, "demo").service("app")
    assert app.environment == {"A": "3", "B": "2"}
    assert app.networks[0].aliases == ["a", "b", "c"]
    (tmp_path / "3.yml").write_text("services:\n  app:\n    environment: [A=3]\n    dns: [nope]\n")
    with pytest.raises(ComposeFileError, match=r"/3.yml:4:11: services.app.dns\[0\]: invalid IPv4 address: nope$"):
        operations.load_project(files, "demo")


# -- config output -------------------------------------------------------------------------
def escaped_lines(text: str, keys: tuple[str, ...]) -> list[str]:
    """The lines of a ``config`` output under ``keys`` (environment, labels) as written."""
    out, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("      ") and inside:
            out.append(stripped)
        else:
            inside = stripped.rstrip(":") in keys
    return out


def test_config_writes_dollars_and_booleans_as_docker_compose_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = copy_reference(tmp_path, "dollar")
    monkeypatch.setenv("VAR", "v$al")  # a `$` that came from a variable is escaped too
    ours = operations.config_yaml(operations.load_project([str(directory / "compose.yml")], "demo"))
    reference = (REFERENCE / "dollar" / "docker-compose-config.txt").read_text()
    theirs_text = "\n".join(line for line in reference.splitlines() if not line.startswith("#"))
    # each environment and labels line as docker-compose 1.29 wrote it: `$$HOME`, `"y"`, `"n": $$net`
    keys = ("environment", "labels")
    assert sorted(escaped_lines(ours, keys)) == sorted(escaped_lines(theirs_text, keys))
    assert len(escaped_lines(ours, keys)) == 11  # 7 environment, 3 service labels, 1 network label
    assert '      F: "y"\n' in ours and '      "n": $$net\n' in ours
    theirs = yaml.safe_load(theirs_text)
    assert " ".join(yaml.safe_load(ours)["services"]["app"]["command"]) == theirs["services"]["app"]["command"].replace(
        '"', ""
    )
    # the output is itself a Compose file: read back, it is the same project
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "compose.yml").write_text(ours)
    again = operations.load_project([str(tmp_path / "again" / "compose.yml")], "demo")
    assert again.service("app").environment["A"] == "$HOME"
    assert operations.config_yaml(again) == ours


# -- .env: COMPOSE_FILE, COMPOSE_PROJECT_NAME, COMPOSE_PATH_SEPARATOR -----------------------
def dotenv_reference() -> dict[str, tuple[dict, str]]:
    """``## command`` -> (docker-compose 1.29's config, the project name it used)."""
    out, command, lines = {}, "", []
    for line in (REFERENCE / "dotenv" / "docker-compose-config.txt").read_text().splitlines():
        if line.startswith("## "):
            command, lines = line[3:], []
        elif line.startswith("# project name: "):
            out[command] = (yaml.safe_load("\n".join(lines)) or {}, line.rsplit(" ", 1)[1])
        elif command:
            lines.append(line)
    return out


@pytest.mark.parametrize(
    ("command", "environ", "files", "cwd"),
    [
        ("docker-compose config", {}, [], ""),
        ("COMPOSE_FILE=x.yml docker-compose config", {"COMPOSE_FILE": "x.yml"}, [], ""),
        ("COMPOSE_PROJECT_NAME=envname docker-compose config", {"COMPOSE_PROJECT_NAME": "envname"}, [], ""),
        ("COMPOSE_FILE=sub/s.yml docker-compose config", {"COMPOSE_FILE": "sub/s.yml"}, [], ""),
        ("docker-compose -f sub/s.yml config", {}, ["sub/s.yml"], ""),
        ("cd up; docker-compose config", {}, [], "up"),
    ],
)
def test_dotenv_sets_compose_variables_as_docker_compose_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, environ: dict, files: list, cwd: str
) -> None:
    """``.env`` is read where docker-compose 1.29 reads it (the first -f file's or
    $COMPOSE_FILE's directory, else here); the environment wins over it."""
    directory = copy_reference(tmp_path, "dotenv")
    for key in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PATH_SEPARATOR", "V"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(directory / cwd)
    want, name = dotenv_reference()[command]
    project = operations.load_project(files, "")
    assert project.name == name
    if want:
        assert project.service("app").environment == want["services"]["app"]["environment"]
        assert operations.project_name_only(files, "") == name


def test_dotenv_path_separator_is_overridden_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = copy_reference(tmp_path, "dotenv")
    monkeypatch.delenv("COMPOSE_FILE", raising=False)
    monkeypatch.setenv("COMPOSE_PATH_SEPARATOR", ":")  # so .env's COMPOSE_FILE is one path
    monkeypatch.chdir(directory)
    reference = (REFERENCE / "dotenv" / "docker-compose-config.txt").read_text()
    assert "No such file or directory: './x.yml,y.yml'" in reference
    with pytest.raises(ComposeFileError, match=rf"^open {directory}/x.yml,y.yml: no such file or directory$"):
        operations.load_project([], "")


def test_compose_project_name_wins_over_the_file_s_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose's order: -p, $COMPOSE_PROJECT_NAME (.env too), ``name:``, the directory."""
    (tmp_path / "compose.yaml").write_text("name: fromfile\nservices:\n  app: {}\n")
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    assert operations.load_project([], "", str(tmp_path)).name == "fromfile"
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=fromdotenv\n")
    assert operations.load_project([], "", str(tmp_path)).name == "fromdotenv"
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "fromenv")
    assert operations.load_project([], "", str(tmp_path)).name == "fromenv"
    assert operations.load_project([], "given", str(tmp_path)).name == "given"
    (tmp_path / "compose.yaml").unlink()  # down/ps without a file: the name still comes from there
    assert operations.project_name_only([], "", str(tmp_path)) == "fromenv"
    monkeypatch.delenv("COMPOSE_PROJECT_NAME")
    assert operations.project_name_only([], "", str(tmp_path)) == "fromdotenv"


# -- env_file format: raw ------------------------------------------------------------------
def docker_run_env(name: str) -> list[str]:
    """The ``KEY=VALUE`` lines ``docker run --env-file`` gave a container (reference file)."""
    text = (REFERENCE / "raw" / name).read_text()
    return [line for line in text.split("\n") if line and not line.startswith(("#", "docker:"))]


def test_env_file_format_raw_takes_values_as_docker_run_env_file_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``format: raw`` (Compose spec): no interpolation, no quote or comment handling; the
    expected lines are what ``docker run --env-file raw.env`` put in a container."""
    directory = copy_reference(tmp_path, "raw")
    monkeypatch.setenv("B", "fromenv")
    monkeypatch.delenv("M", raising=False)
    env = operations.load_project([str(directory / "compose.yml")], "demo").service("app").environment
    assert [f"{k}={v}" for k, v in env.items()] == docker_run_env("docker-run-env-file.txt")
    assert env["Q"] == '\'{"key": "v"}\'' and env["T"] == "trail  "  # quotes and trailing blanks kept
    # the default format reads the same file with python-dotenv's rules, as before
    (directory / "compose.yml").write_text("services:\n  app:\n    env_file: [raw.env]\n")
    env = operations.load_project([str(directory / "compose.yml")], "demo").service("app").environment
    assert env["Q"] == '{"key": "v"}' and env["N"] == "$HOME x" and env["T"] == "trail"


@pytest.mark.parametrize("name", ["bad-key.env", "no-key.env"])
def test_env_file_format_raw_refuses_what_docker_refuses(tmp_path: Path, name: str) -> None:
    directory = copy_reference(tmp_path, "raw")
    (directory / "compose.yml").write_text(f"services:\n  app:\n    env_file:\n      - {{path: {name}, format: raw}}\n")
    reference = (REFERENCE / "raw" / "docker-run-env-file.txt").read_text()
    docker_says = next(line for line in reference.splitlines() if f"({name})" in line).split("): ", 1)[1]
    with pytest.raises(ComposeFileError) as info:
        operations.load_project([str(directory / "compose.yml")], "demo")
    assert info.value.message == (
        f"{directory}/compose.yml:4:10: services.app.env_file[0].path: "
        f"invalid env file ({directory}/{name}): {docker_says}"
    )


def test_env_file_format_other_than_raw_is_one_clear_line(tmp_path: Path) -> None:
    """docker-compose 1.29 refuses the long form whole (its two lines are in the reference);
    pynet reads it as the Compose spec says and names a format it does not know."""
    assert "it should be a string" in (REFERENCE / "raw" / "docker-compose-config.txt").read_text()
    (tmp_path / "a.env").write_text("A=1\n")
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  app:\n    env_file:\n      - {path: a.env, format: RAW}\n")
    with pytest.raises(ComposeFileError) as info:
        operations.load_project([str(compose)], "demo")
    assert info.value.message == (
        f'{compose}:4:23: services.app.env_file[0].format: unsupported env_file format "RAW": use raw, or leave it out'
    )
    compose.write_text("services:\n  app:\n    env_file:\n      - {path: a.env, format: 1}\n")
    with pytest.raises(
        ComposeFileError, match=r"compose.yml:4:23: services.app.env_file\[0\].format: must be a string$"
    ):
        operations.load_project([str(compose)], "demo")
    for fmt in ("''", ".env"):  # compose-go's names of the default format
        compose.write_text(f"services:\n  app:\n    env_file:\n      - {{path: a.env, format: {fmt}}}\n")
        project = operations.load_project([str(compose)], "demo")
        assert project.service("app").environment == {"A": "1"} and project.warnings == []
    # an optional file that is not there is not judged by its format (docker compose neither)
    compose.write_text("services:\n  app:\n    env_file:\n      - {path: gone.env, format: nope, required: false}\n")
    assert operations.load_project([str(compose)], "demo").service("app").environment == {}

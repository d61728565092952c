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
    project = operations.load_project(str(directory / "compose.yml"), "demo")
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
        operations.load_project(str(directory / "missing.yml"), "demo")
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
    project = operations.load_project("sub/compose.yaml", "demo")
    assert project.service("app").environment == {"A": "1", "B": "3"}
    (tmp_path / "sub" / "compose.yaml").write_text("services:\n  app:\n    env_file: {path: gone.env}\n")
    with pytest.raises(ComposeFileError, match=f"^Couldn't find env file: {tmp_path}/sub/gone.env$"):
        operations.load_project("sub/compose.yaml", "demo")
    (tmp_path / "sub" / "compose.yaml").write_text("services:\n  app:\n    env_file: [{required: false}]\n")
    with pytest.raises(ComposeFileError, match=r"compose.yaml:3:16: services.app.env_file\[0\].path: must be a path"):
        operations.load_project("sub/compose.yaml", "demo")


def test_environment_key_alone_unsets_an_env_file_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.env").write_text("A=1\nB=2\n")
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    env_file: x.env\n    environment: [A]\n")
    monkeypatch.delenv("A", raising=False)
    assert operations.load_project("", "demo", str(tmp_path)).service("app").environment == {"B": "2"}

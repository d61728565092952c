"""CLI wiring: every command answers --help cheaply, flags reach the core as asked, and
the one error boundary prints Docker's one-liners with Docker's exit codes.

No kernel here: the controller is replaced by a fake that records what it was asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from pynet.cli.app import cli
from pynet.cli.main import main
from pynet.errors import Conflict, NotFound

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_ID = "f" * 64


# -- the command tree --------------------------------------------------------------------

BROKEN: dict[str, str] = {}  # command path -> why it could not be loaded


def _command_paths() -> list[tuple[str, ...]]:
    """Every visible command path: ("network",), ("network", "create"), ("run",) ..."""
    paths: list[tuple[str, ...]] = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            try:
                cmd = group.get_command(ctx, name)
            except Exception as exc:  # noqa: BLE001 - reported by test_every_command_loads
                BROKEN[" ".join((*prefix, name))] = f"{type(exc).__name__}: {exc}"
                continue
            if cmd is None:
                BROKEN[" ".join((*prefix, name))] = "get_command returned None"
                continue
            if cmd.hidden:
                continue
            paths.append((*prefix, name))
            if isinstance(cmd, click.Group):
                walk(cmd, (*prefix, name))

    walk(cli, ())
    return paths


COMMAND_PATHS = _command_paths()


def test_every_listed_command_loads() -> None:
    # `pynet --help` lists (and so imports) every command: one broken module breaks it.
    assert BROKEN == {}
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output


def test_the_documented_commands_exist() -> None:
    paths = set(COMMAND_PATHS)
    for name in ("create", "ls", "inspect", "rm", "prune", "connect", "disconnect"):
        assert ("network", name) in paths
    for name in ("run", "ps", "inspect", "exec", "stop", "kill", "rm", "logs"):
        assert (name,) in paths


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p))
def test_help_of_every_command_exits_0(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    assert " ".join(path) in result.output.splitlines()[0]


@pytest.mark.parametrize("alias, name", [("list", "ls"), ("remove", "rm")])
def test_docker_aliases_of_network_commands(alias: str, name: str) -> None:
    result = CliRunner().invoke(cli, ["network", alias, "--help"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["network", name, "--help"]).output == result.output


def test_help_never_imports_pyroute2(tmp_path: Path) -> None:
    """--help of every command, and the top-level help, in ONE fresh interpreter."""
    paths = [list(p) for p in COMMAND_PATHS] + [[]]
    code = (
        "import io, json, sys, contextlib\n"
        "from pynet.cli.main import main\n"
        "bad = {}\n"
        "for path in json.loads(sys.argv[1]):\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
        "        try:\n"
        "            main(path + ['--help'])\n"
        "        except SystemExit as exc:\n"
        "            if exc.code not in (0, None):\n"
        "                bad[' '.join(path)] = f'exit {exc.code}: {out.getvalue()[-300:]}'\n"
        "    if 'pyroute2' in sys.modules and ' '.join(path) not in bad:\n"
        "        bad[' '.join(path)] = 'imported pyroute2'\n"
        "        break\n"
        "print(json.dumps(bad))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PYNET_STATE_DIR": str(tmp_path / "state"),
        "PYNET_RUN_DIR": str(tmp_path / "run"),
    }
    cp = subprocess.run(
        [sys.executable, "-c", code, json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout.strip().splitlines()[-1]) == {}
    assert not (tmp_path / "state").exists(), "--help must not create state"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("pynet version ")


# -- flags reach the core (fake controller) ----------------------------------------------


class FakeController:
    """Stands in for pynet.cnm.controller.Controller; records calls, raises on request."""

    calls: list[tuple[str, Any]] = []
    fail: dict[str, BaseException] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.notices: list[str] = []

    def ensure_ready(self) -> None:
        FakeController.calls.append(("ensure_ready", None))

    def _maybe_fail(self, op: str, arg: Any) -> None:
        FakeController.calls.append((op, arg))
        exc = FakeController.fail.get(op if not isinstance(arg, str) else f"{op}:{arg}") or FakeController.fail.get(op)
        if exc is not None:
            raise exc

    def create_network(self, req: Any) -> Any:
        self._maybe_fail("create_network", req)
        return type("Net", (), {"id": FAKE_ID, "name": req.name})()

    def remove_network(self, ref: str) -> None:
        self._maybe_fail("remove_network", ref)

    def prune_networks(self, keep: Any) -> list[str]:
        self._maybe_fail("prune_networks", keep)
        return ["n1", "n2"]

    def connect(self, net: str, container: str, req: Any) -> None:
        self._maybe_fail("connect", (net, container, req))

    def disconnect(self, net: str, container: str, force: bool) -> None:
        self._maybe_fail("disconnect", (net, container, force))

    def create_container(self, req: Any) -> Any:
        self._maybe_fail("create_container", req)
        raise AssertionError("the fake never starts containers")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeController]:
    import pynet.cnm.controller as controller_mod

    FakeController.calls = []
    FakeController.fail = {}
    monkeypatch.setattr(controller_mod, "Controller", FakeController)
    monkeypatch.setenv("PYNET_DEBUG", "0")  # restored afterwards even if --debug sets it
    return FakeController


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``pynet argv`` through the real entry point; (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def _calls(fake: type[FakeController], op: str) -> list[Any]:
    return [arg for name, arg in fake.calls if name == op]


def test_network_create_passes_every_flag(fake, capsys) -> None:
    code, out, err = _main(
        capsys,
        "network",
        "create",
        "-d",
        "bridge",
        "--subnet",
        "10.1.0.0/24",
        "--subnet",
        "fd00:1::/64",
        "--gateway",
        "10.1.0.254",
        "--ip-range",
        "10.1.0.128/25",
        "--aux-address",
        "host1=10.1.0.5",
        "--ipv6",
        "--internal",
        "--attachable",
        "-o",
        "com.docker.network.bridge.name=br-x",
        "--opt",
        "com.docker.network.driver.mtu=1400",
        "--label",
        "env=dev",
        "--label",
        "team=net",
        "n1",
    )
    assert (code, out, err) == (0, FAKE_ID + "\n", "")
    [req] = _calls(fake, "create_network")
    assert req.name == "n1" and req.driver == "bridge"
    assert req.subnets == ["10.1.0.0/24", "fd00:1::/64"]
    assert req.gateways == ["10.1.0.254"]
    assert req.ip_ranges == ["10.1.0.128/25"]
    assert req.aux_addresses == {"host1": "10.1.0.5"}
    assert req.enable_ipv6 and req.internal and req.attachable
    assert req.options == {"com.docker.network.bridge.name": "br-x", "com.docker.network.driver.mtu": "1400"}
    assert req.labels == {"env": "dev", "team": "net"}


def test_network_create_defaults(fake, capsys) -> None:
    code, out, _ = _main(capsys, "network", "create", "plain")
    assert code == 0 and out == FAKE_ID + "\n"
    [req] = _calls(fake, "create_network")
    assert (req.driver, req.subnets, req.enable_ipv6, req.internal) == ("bridge", [], False, False)
    assert req.labels == {} and req.options == {}


def test_core_error_is_one_docker_line_exit_1(fake, capsys) -> None:
    fake.fail["create_network"] = Conflict("network with name n1 already exists")
    code, out, err = _main(capsys, "network", "create", "n1")
    assert (code, out) == (1, "")
    assert err == "Error response from daemon: network with name n1 already exists\n"


def test_debug_shows_the_traceback(fake, capsys) -> None:
    fake.fail["create_network"] = Conflict("network with name n1 already exists")
    code, _, err = _main(capsys, "--debug", "network", "create", "n1")
    assert code == 1
    assert "Traceback" in err
    assert err.rstrip().endswith("Error response from daemon: network with name n1 already exists")


def test_unexpected_exception_has_no_traceback(fake, capsys) -> None:
    fake.fail["create_network"] = ZeroDivisionError("boom")
    code, out, err = _main(capsys, "network", "create", "n1")
    assert code == 1 and out == ""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "boom" in err


def test_network_rm_goes_on_past_failures(fake, capsys) -> None:
    fake.fail["remove_network:nope"] = NotFound("No such network: nope", prefix="Error: ")
    code, out, err = _main(capsys, "network", "rm", "a", "nope", "b")
    assert code == 1
    assert out == "a\nb\n"
    assert err == "Error: No such network: nope\n"
    assert _calls(fake, "remove_network") == ["a", "nope", "b"]


def test_network_remove_alias_works(fake, capsys) -> None:
    code, out, _ = _main(capsys, "network", "remove", "a")
    assert (code, out) == (0, "a\n")


def test_prune_asks_first_and_prints_dockers_report(fake) -> None:
    result = CliRunner().invoke(cli, ["network", "prune"], input="n\n")
    assert result.exit_code == 0
    assert "WARNING! This will remove all custom networks not used by at least one container." in result.output
    assert _calls(fake, "prune_networks") == []
    result = CliRunner().invoke(cli, ["network", "prune", "-f"])
    assert result.exit_code == 0
    assert result.output == "Deleted Networks:\nn1\nn2\n\n"


def test_connect_and_disconnect_pass_their_flags(fake, capsys) -> None:
    code, _, err = _main(
        capsys, "network", "connect", "--alias", "web", "--alias", "www", "--ip", "10.1.0.9", "othernet", "c1"
    )
    assert code == 0, err
    [(net, container, req)] = _calls(fake, "connect")
    assert (net, container, req.ipv4, req.aliases) == ("othernet", "c1", "10.1.0.9", ["web", "www"])
    code, _, err = _main(capsys, "network", "disconnect", "-f", "othernet", "c1")
    assert code == 0, err
    assert _calls(fake, "disconnect") == [("othernet", "c1", True)]


def test_connect_rejects_a_bad_ip_before_the_core(fake, capsys) -> None:
    code, _, err = _main(capsys, "network", "connect", "--ip", "10.1.0.999", "othernet", "c1")
    assert code != 0
    assert "10.1.0.999" in err and len(err.strip().splitlines()) == 1
    assert _calls(fake, "connect") == []


def test_run_passes_flags_and_keeps_the_commands_own_flags(fake, capsys) -> None:
    fake.fail["create_container"] = NotFound("network n1 not found")
    code, out, err = _main(
        capsys,
        "run",
        "--rm",
        "--name",
        "c1",
        "--network",
        "n1",
        "--ip",
        "10.1.0.9",
        "--hostname",
        "h1",
        "--add-host",
        "db:10.9.9.9",
        "--dns",
        "10.0.0.53",
        "--network-alias",
        "web",
        "-e",
        "A=1",
        "ls",
        "-l",
        "--network",
        "x",
    )
    [req] = _calls(fake, "create_container")
    assert req.argv == ["ls", "-l", "--network", "x"]
    assert (req.name, req.network, req.hostname) == ("c1", "n1", "h1")
    assert req.attach.ipv4 == "10.1.0.9" and req.attach.aliases == ["web"]
    assert req.extra_hosts == ["db:10.9.9.9"] and req.dns == ["10.0.0.53"]
    assert req.auto_remove and not req.detach
    # Docker: "docker: Error response from daemon: network n1 not found." and exit 125
    assert (code, out) == (125, "")
    assert err == "pynet: Error response from daemon: network n1 not found.\n"


def test_run_with_a_bad_add_host_is_a_usage_error(fake, capsys) -> None:
    code, _, err = _main(capsys, "run", "--add-host", "nocolon", "true")
    assert code == 125
    assert 'bad format for add-host: "nocolon"' in err
    assert _calls(fake, "create_container") == []


def test_unknown_flag_exits_125_with_a_help_hint(capsys) -> None:
    # docker/cli FlagErrorFunc: StatusError{StatusCode: 125}, "See 'docker network ls --help'."
    code, out, err = _main(capsys, "network", "ls", "--bogus")
    assert (code, out) == (125, "")
    assert "--bogus" in err
    assert "See 'pynet network ls --help'." in err


def test_wrong_argument_count_exits_1_like_docker(capsys) -> None:
    # docker/cli cli.ExactArgs / RequiresMinArgs return plain errors: exit 1, not 125.
    code, _, err = _main(capsys, "network", "create")
    assert code == 1, err
    assert "network create" in err
    code, _, err = _main(capsys, "network", "connect", "onlyone")
    assert code == 1, err

"""The click-free fast path parses exactly as click does, or defers to click.

Generated invocations of every fast command are parsed both ways: wherever the fast
path answers, its parameters must equal click's ``ctx.params``.
"""

from __future__ import annotations

import random
import subprocess
import sys

import click
import pytest

from pynet.cli import fastpath, genspec
from pynet.cli.app import cli
from pynet.cli.commands_spec import ALIASES, COMMANDS

pytestmark = pytest.mark.unit

VALUES = ["a", "b1", "10.1.0.0/24", "x=y", "", "7", "c d", "=", "mynet"]


def _click_params(key: str, args: list[str]) -> dict | None:
    """What click hands the callback for ``pynet KEY ARGS``; None when click refuses."""
    words = key.split()
    root = click.Context(cli, info_name="pynet")
    cmd, parent = cli.get_command(root, words[0]), root
    if len(words) == 2:
        parent = click.Context(cmd, info_name=words[0], parent=root)
        cmd = cmd.get_command(parent, words[1])
    try:
        with cmd.make_context(words[-1], list(args), parent=parent) as ctx:
            return dict(ctx.params)
    except (click.UsageError, click.exceptions.Exit):
        return None


def _random_argv(spec: dict, rng: random.Random) -> list[str]:
    argv: list[str] = []
    tokens = list(spec["options"])
    for _ in range(rng.randint(0, 6)):
        token = rng.choice(tokens) if tokens else None
        if token is None:
            break
        dest, kind, vtype = spec["options"][token]
        value = str(rng.randint(0, 99)) if vtype == "int" else rng.choice(VALUES)
        if kind == "flag":
            argv.append(token)
        elif token.startswith("--") and rng.random() < 0.3:
            argv.append(f"{token}={value}")
        else:
            argv += [token, value]
    positionals = []
    for _dest, nargs, required, vtype in spec["arguments"]:
        count = rng.randint(0 if not required else 1, 3) if nargs == -1 else int(required or rng.random() < 0.5)
        positionals += [str(rng.randint(0, 9)) if vtype == "int" else rng.choice(VALUES[:3]) for _ in range(count)]
    if spec["interspersed"] and positionals and argv and rng.random() < 0.5:
        cut = rng.randint(0, len(argv))
        return argv[:cut] + positionals + argv[cut:] if cut % 2 == 0 else argv + positionals
    if not spec["interspersed"] and positionals:
        positionals += rng.choice([[], ["-l"], ["--network", "x"], ["-"]])
    return argv + positionals


def test_the_table_is_generated_from_the_click_commands() -> None:
    assert genspec.render(genspec.build()) == genspec.TARGET.read_text(), (
        "pynet/cli/commands_spec.py is stale: run `python -m pynet.cli.genspec`"
    )


def test_the_frequent_commands_have_a_fast_path() -> None:
    for key in (
        "network create",
        "network rm",
        "network ls",
        "network inspect",
        "network connect",
        "network disconnect",
        "run",
        "rm",
        "ps",
        "inspect",
        "exec",
        "stop",
        "kill",
    ):
        assert key in COMMANDS, key
    assert ALIASES["network list"] == "network ls" and ALIASES["network remove"] == "network rm"


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_fast_parse_equals_click(key: str) -> None:
    rng = random.Random(key)
    spec = COMMANDS[key]
    answered = 0
    for _ in range(300):
        argv = _random_argv(spec, rng)
        fast = fastpath.parse(spec, argv)
        if fast is None:
            continue
        answered += 1
        assert fast == _click_params(key, argv), (key, argv)
    assert answered > 100, f"the fast path deferred almost everything for {key}"


@pytest.mark.parametrize(
    "argv",
    [
        ["network", "create", "--help"],
        ["network", "create", "-h", "x"],
        ["network", "rm"],
        ["network", "create", "a", "b"],
        ["network", "create", "--bogus", "x"],
        ["network", "create", "-dbridge", "x"],
        ["network", "create", "--ipv6=true", "x"],
        ["network", "create", "--subnet"],
        ["network", "create", "--", "x"],
        ["network", "create", "--subnet", "-x", "n"],
        ["exec", "-it", "c1", "sh"],
        ["run", "--help"],
        ["ps", "-n", "x"],
        ["stop", "-t", "soon", "c1"],
        ["--debug", "network", "ls"],
        ["network"],
        [],
        ["nosuch"],
        ["network", "nosuch"],
        ["network", "prune", "-f"],
        ["system", "reset", "-f"],
    ],
)
def test_anything_unusual_goes_to_click(argv: list[str]) -> None:
    assert fastpath.resolve(argv) is None


def test_run_keeps_the_commands_own_flags() -> None:
    params = fastpath.parse(COMMANDS["run"], ["--rm", "-h", "h1", "--network", "n1", "ls", "-l", "--network", "x"])
    assert params is not None
    assert params["command"] == ("ls", "-l", "--network", "x")
    assert (params["hostname"], params["network"], params["auto_remove"]) == ("h1", ("n1",), True)


def test_the_fast_path_never_imports_click() -> None:
    code = (
        "import sys\n"
        "from pynet.cli import fastpath\n"
        "for argv in (['network', 'create', '--subnet', '10.1.0.0/24', 'n'], ['network', 'rm', 'n'],\n"
        "             ['network', 'ls', '-q'], ['run', '-d', '--network', 'n', 'sleep', '9'], ['rm', '-f', 'c'],\n"
        "             ['ps', '-a'], ['inspect', 'c'], ['network', 'inspect', 'n']):\n"
        "    assert fastpath.resolve(argv) is not None, argv\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'pyroute2', 'rich')))\n"
    )
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "[]"

"""Fuzz the CLI: `internal error:` and tracebacks must never be reachable from user input.

A seeded generator builds random and malformed argument lists for every command (the
options come from the click declarations, so a new flag is fuzzed without editing this
file) and runs them in-process against a temp state (``cli_inproc``). Two depths:

- every command, with the controller fenced off: read-only commands run for real on the
  state, anything that would build the controller stops there;
- the mutating commands with only the kernel fenced (netlink, nftables, namespaces,
  processes, signals, the helper, plugins): the core's own checks, lookups, IPAM and
  rollback run for real, up to the first kernel call.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import click
import pytest

from cli_inproc import CTR, FENCED, NET, fence_kernel, fence_kernel_deep, invoke, seed_state
from pynet.cli.app import cli

SEED = 20261203
ROUNDS = 20000
BUDGET_S = 25.0

VALUES = [
    "",
    "-",
    "--",
    "x",
    "n1",
    "c1",
    "bridge",
    "host",
    "none",
    NET[:12],
    CTR[:5],
    CTR,
    "a" * 300,
    "10.123.0.300",
    "notanip",
    "0.0.0.0",
    "::",
    "fd00::5",
    "10.9.0.7",
    "10.0.0.0/33",
    "10.0.0.0/8",
    "fd00::/64",
    "1.2.3.4/24",
    "-1",
    "0",
    "1.5",
    "99999999999999999999999",
    "+7",
    " 8 ",
    "1_0",
    "\u0661\u0662",
    "é",
    "{{",
    "{{.Name}}",
    "{{.Nope}}",
    "{{json .}}",
    "{{index . 5}}",
    '{{printf "%d" .Name}}',
    "table {{.ID}}",
    "key=value",
    "=",
    "==",
    "a=b=c",
    "label",
    "label=x",
    "driver=bridge",
    "name=n1",
    "until=abc",
    "until=10m",
    "dangling=maybe",
    "type=custom",
    "foo=bar",
    "/",
    "/nonexistent/file",
    "8080:80",
    "99999:80",
    "80/xyz",
    "1-65536:80",
    "[::1]:80:80",
    "127.0.0.1::80",
    "80-70",
    "com.docker.network.driver.mtu=abc",
    "com.docker.network.bridge.name=" + "b" * 20,
    "SIGFOO",
    "KILL",
    "9",
    "0x1f",
    "all",
    "tcp",
    "80",
    "80/udp",
    "a:notip",
    "a:10.0.0.1",
    "02:42:ac:11:00:02",
    "zz:zz",
    "etcd://",
    "etcd://300.1.1.1:2379",
    "http://x",
    ":",
    "::1",
    "-h",
    "--help",
    "-x",
]
GARBAGE_FLAGS = ["--nope", "-Z", "--ip=", "--=x", "-", "---", "-dq", "--format=", "-f=x"]


def _commands() -> dict[tuple[str, ...], click.Command]:
    """Every command path with its click command (hidden ones too: users can type them)."""
    out: dict[tuple[str, ...], click.Command] = {}

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        names = set(group.list_commands(ctx)) | set(getattr(group, "lazy", {}))
        for name in sorted(names):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, (*prefix, name))
            elif cmd is not None:
                out[(*prefix, name)] = cmd

    walk(cli, ())
    return out


COMMANDS = _commands()


def _argv(rng: random.Random, path: tuple[str, ...], cmd: click.Command) -> list[str]:
    options = [p for p in cmd.params if isinstance(p, click.Option)]
    args: list[str] = list(path)
    for _ in range(rng.randint(0, 6)):
        roll = rng.random()
        if options and roll < 0.55:
            opt = rng.choice(options)
            flag = rng.choice(opt.opts + opt.secondary_opts)
            if opt.is_flag and rng.random() < 0.9:
                args.append(flag)
            elif rng.random() < 0.3 and flag.startswith("--"):
                args.append(f"{flag}={rng.choice(VALUES)}")
            else:
                args += [flag, rng.choice(VALUES)]
        elif roll < 0.62:
            args.append(rng.choice(GARBAGE_FLAGS))
        else:
            args.append(rng.choice(VALUES))
    if rng.random() < 0.8:  # mostly the right number of arguments, so the bodies run
        for param in cmd.params:
            if isinstance(param, click.Argument):
                count = rng.randint(1, 3) if param.nargs == -1 else param.nargs
                args += [rng.choice(VALUES) for _ in range(count)]
    if path == ("run",) or path == ("exec",):
        args += rng.choice([[], ["true"], ["sh", "-c", "exit 3"]])
    return args


def _check(args: list[str], result) -> str | None:  # type: ignore[no-untyped-def]
    text = result.err + result.out
    if "internal error" in text or "Traceback" in text:
        return "internal error/traceback"
    if args[:2] == ["network", "diagnose"] and result.code in (1, 2) and result.out.strip():
        return None  # its verdict (1 not reachable, 2 cannot tell) is its output, on stdout
    # Docker's codes: 1 errors, 125 usage, 64 a template that does not parse, 130 a declined prompt
    if result.code is not None and result.code not in (0, 1, 64, 125, 130):
        return f"exit code {result.code}"
    if result.code not in (None, 0, 130) and not result.err.strip():  # 130: a declined prompt
        return "failed without a message"
    return None


def _fuzz(rng: random.Random, paths: list[tuple[str, ...]], rounds: int, budget: float) -> tuple[int, int]:
    """Run ``rounds`` random invocations; (how many ran, how many reached the fence)."""
    failures: dict[str, str] = {}
    ran = reached = 0
    deadline = time.monotonic() + budget
    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        path = rng.choice(paths)
        args = _argv(rng, path, COMMANDS[path])
        result = invoke(args)
        ran += 1
        reached += result.code is None or FENCED in result.err
        problem = _check(args, result)
        if problem:
            failures.setdefault(f"{problem}: {result.err.strip()[:200]}", repr(args))
    print(f"{ran} invocations, {reached} reached the fence")
    assert not failures, "\n".join(f"pynet {args} -> {why}" for why, args in failures.items())
    return ran, reached


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    seed_state(tmp_path / "state", tmp_path / "run")
    return tmp_path / "state"


def test_every_command_is_fuzzed() -> None:
    """The generator sees the whole tree (a positive control for the test below)."""
    names = {" ".join(p) for p in COMMANDS}
    assert {"run", "ps", "network create", "network prune", "system reset", "cluster join", "_exited"} <= names


def test_random_and_malformed_arguments_never_reach_an_internal_error(state: Path) -> None:
    ran, reached = _fuzz(random.Random(SEED), sorted(COMMANDS), ROUNDS, BUDGET_S / 2)
    assert ran >= 500, f"only {ran} invocations ran in the time budget"
    assert 0 < reached < ran, "the fuzz should reach both refusals and the controller"


MUTATING = [
    p
    for p in COMMANDS
    if p[0] in ("run", "rm", "stop", "kill", "_exited")
    or (p[0] == "network" and p[1] in ("create", "rm", "connect", "disconnect"))
]


def test_fuzz_through_the_core_up_to_the_kernel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seed_state(tmp_path / "state", tmp_path / "run")
    fence_kernel_deep(monkeypatch, tmp_path / "state", tmp_path / "run")
    assert invoke(["network", "create", "--subnet", "10.5.0.0/24", "probe"]).err == (
        f"Error response from daemon: {FENCED}\n"
    )  # control: the fence holds, the core ran
    ran, reached = _fuzz(random.Random(SEED + 1), sorted(MUTATING), ROUNDS // 4, BUDGET_S / 2)
    assert ran >= 300 and 0 < reached < ran


@pytest.mark.parametrize(
    "args",
    [
        ["logs", "--tail", "x", "c1"],
        ["logs", "--tail", "02:42", "c1"],
        ["ps", "-n", "x"],
        ["ps", "-a", "--format", "{{.Nope}}"],
        ["network", "ls", "--filter", "until=abc"],
        ["stop", "-t", "x", "c1"],
        ["port", "c1", "99999"],
        ["inspect", "--format", "{{", "c1"],
    ],
)
def test_known_bad_values_are_one_line_errors(state: Path, args: list[str]) -> None:
    result = invoke(args)
    assert _check(args, result) is None, result
    assert result.code not in (None, 0), result

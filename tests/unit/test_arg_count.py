"""A wrong number of arguments is docker/cli's line (ExactArgs, RequiresMinArgs,
RequiresRangeArgs, NoArgs) and exit 1 — too many as well as too few; click's own
"Got unexpected extra argument" (exit 125) must never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_inproc import fence_kernel, invoke

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fenced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")


CASES = [
    (["network", "create", "a", "b"], "pynet network create", "requires exactly 1 argument"),
    (["network", "create"], "pynet network create", "requires exactly 1 argument"),
    (["network", "connect", "n", "c", "x"], "pynet network connect", "requires exactly 2 arguments"),
    (["port"], "pynet port", "requires at least 1 and at most 2 arguments"),
    (["port", "c1", "80", "81"], "pynet port", "requires at least 1 and at most 2 arguments"),
    (["rm"], "pynet rm", "requires at least 1 argument"),
    (["network", "ls", "x"], "pynet network ls", "accepts no arguments"),
    (["network", "prune", "-f", "x"], "pynet network prune", "accepts no arguments"),
]


@pytest.mark.parametrize("args,cmd,what", CASES, ids=[" ".join(a) or "-" for a, _, _ in CASES])
def test_wrong_argument_count_is_one_docker_line_and_exit_1(args: list[str], cmd: str, what: str) -> None:
    result = invoke(args)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"\"{cmd}\" {what}.\nSee '{cmd} --help'.\n"


def test_the_right_count_gets_past_the_check() -> None:
    """Positive control: the same commands with the right count reach the controller."""
    assert invoke(["network", "create", "a"]).code is None
    assert invoke(["port", "c1", "80"]).code is None
    assert invoke(["port", "c1"]).code is None

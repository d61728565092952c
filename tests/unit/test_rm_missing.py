"""``rm`` of a container that does not exist, as Docker's CLI (cli/command/container/rm.go):
the daemon's line ``Error response from daemon: No such container: X``, exit 1 — but with
``-f`` the line is printed and the exit stays 0 (``rm -f`` is idempotent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_inproc import fence_kernel, invoke
from pynet.cli import container_actions
from pynet.errors import Conflict, NotFound

pytestmark = pytest.mark.unit


class _FakeController:
    """Knows containers ``c1`` (removable) and ``busy`` (running, refuses without -f)."""

    def remove_container(self, ref: str, *, force: bool) -> None:
        if ref == "busy":
            raise Conflict(
                "You cannot remove a running container busy. Stop the container "
                "before attempting removal or force remove"
            )
        if ref == "gone":
            raise NotFound("Link not found")  # a kernel object vanished mid-teardown
        if ref != "c1":
            raise NotFound(f"No such container: {ref}")

    def notices(self) -> list[str]:
        return []


@pytest.fixture(autouse=True)
def _fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    monkeypatch.setattr(container_actions, "controller", _FakeController)
    monkeypatch.setattr(container_actions, "print_notices", lambda ctl: None)


def test_rm_missing_is_the_daemons_line_and_exit_1() -> None:
    result = invoke(["rm", "nosuch"])
    assert (result.code, result.out, result.err) == (1, "", "Error response from daemon: No such container: nosuch\n")


def test_rm_force_missing_prints_the_line_and_exits_0() -> None:
    result = invoke(["rm", "-f", "nosuch", "c1"])
    assert (result.code, result.out, result.err) == (
        0,
        "c1\n",
        "Error response from daemon: No such container: nosuch\n",
    )


def test_rm_force_still_fails_on_other_errors() -> None:
    """Control: -f forgives only "no such container", not a failure of the removal."""
    result = invoke(["rm", "-f", "gone", "c1"])
    assert result.code == 1 and result.out == "c1\n"
    assert result.err == "Error response from daemon: Link not found\n"


def test_rm_without_force_keeps_exit_1_for_a_running_container() -> None:
    result = invoke(["rm", "busy", "c1"])
    assert result.code == 1 and result.out == "c1\n"
    assert "You cannot remove a running container busy" in result.err

"""The core reaches the helper daemon only through the Notifier it is given (pynet.wiring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynet import wiring
from pynet.cnm.controller import Controller
from pynet.daemon import client
from pynet.state.store import Store

pytestmark = pytest.mark.unit


def test_the_controller_the_cli_builds_tells_the_helper_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[list[str]] = []
    monkeypatch.setattr(client, "notify", lambda ids: told.append(ids) or True)
    ctl = wiring.controller(Store(tmp_path))
    ctl._notify(["c1"])
    assert told == [["c1"]] and ctl.notices == []


def test_a_helper_that_does_not_answer_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "notify", lambda ids: False)
    ctl = wiring.controller(Store(tmp_path))
    ctl.notices.clear()
    ctl._notify(["c1"])
    assert ctl.notices == ["WARNING: the pynet helper (embedded DNS) did not answer; name resolution may lag"]
    ctl.notices.clear()


def test_a_controller_given_no_notifier_never_reaches_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reached(*args: object, **kwargs: object) -> None:
        raise AssertionError("the helper was reached")

    for name in ("request", "ensure_running", "notify", "resync", "ping", "stop"):
        monkeypatch.setattr(client, name, reached)
    ctl = Controller(Store(tmp_path))
    ctl._notify(["c1"])
    ctl.notifier.resync()
    assert ctl.notifier.reload_cluster(timeout=1.0) == {"ok": True}

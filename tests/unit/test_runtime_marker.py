"""The run dir's ``restored`` marker holds the default network's ID (pynet/cnm/reader.py):
a read-only command trusts it while that record's file exists, and otherwise falls back to
the name index, exactly as before the marker held anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_inproc import fence_kernel, invoke, seed_state
from pynet.cnm import reader
from pynet.state.store import Store

pytestmark = pytest.mark.unit


@pytest.fixture
def dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    seed_state(tmp_path / "state", tmp_path / "run")
    return tmp_path / "state", tmp_path / "run"


def _bridge_id(state: Path) -> str:
    return json.loads((state / "networks" / "_names.json").read_text())["bridge"]


def test_an_empty_marker_is_completed_from_the_index(dirs: tuple[Path, Path]) -> None:
    state, run = dirs
    assert (run / "restored").read_text() == ""  # as an older pynet left it
    assert reader.runtime_ready(Store(state))
    assert (run / "restored").read_text() == _bridge_id(state)


def test_a_marker_with_the_id_spares_the_index(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    state, run = dirs
    (run / "restored").write_text(_bridge_id(state))
    monkeypatch.setattr(Store, "names", lambda self, kind: pytest.fail("index read"))
    assert reader.runtime_ready(Store(state))


@pytest.mark.parametrize("content", ["f" * 64, "../networks/x", "\x00", "b" * 64 + "\n"])
def test_a_stale_or_odd_marker_falls_back_to_the_index(dirs: tuple[Path, Path], content: str) -> None:
    state, run = dirs
    (run / "restored").write_text(content)
    assert reader.runtime_ready(Store(state))
    assert (run / "restored").read_text() == _bridge_id(state)


def test_no_default_network_is_not_ready(dirs: tuple[Path, Path]) -> None:
    state, run = dirs
    bridge = _bridge_id(state)
    (run / "restored").write_text(bridge)
    (state / "networks" / f"{bridge}.json").unlink()  # its record gone behind pynet's back
    index = state / "networks" / "_names.json"
    index.write_text(json.dumps({k: v for k, v in json.loads(index.read_text()).items() if k != "bridge"}))
    assert not reader.runtime_ready(Store(state))
    (run / "restored").unlink()
    assert not reader.runtime_ready(Store(state))


def test_ls_with_an_id_marker_lists_as_before(dirs: tuple[Path, Path]) -> None:
    state, run = dirs
    before = invoke(["network", "ls"])
    assert (run / "restored").read_text() == _bridge_id(state)  # completed by that ls
    after = invoke(["network", "ls"])
    assert (after.code, after.out, after.err) == (before.code, before.out, before.err)
    assert "bridge" in after.out

"""The exit codes of --rm containers (cnm/exits.py): kept, then forgotten; the sweep is rare."""

from __future__ import annotations

import os
import time

from pynet.cnm import exits


def test_a_recorded_code_is_read_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path))
    exits.record("c" * 64, 3)
    assert exits.last_code("c" * 64) == 3
    assert exits.last_code("d" * 64) is None


def test_old_codes_are_forgotten_at_most_once_per_sweep_period(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path))
    exits.record("a" * 64, 1)
    old = time.time() - exits.KEEP_SECONDS - 1
    os.utime(tmp_path / "exits" / ("a" * 64), (old, old))
    exits.record("b" * 64, 2)  # swept moments ago: the old code is not looked at yet
    assert exits.last_code("a" * 64) == 1
    swept = tmp_path / "exits" / ".swept"
    long_ago = time.time() - exits.SWEEP_EVERY - 1
    os.utime(swept, (long_ago, long_ago))
    exits.record("c" * 64, 0)  # the period is over: old codes go, recent ones stay
    assert exits.last_code("a" * 64) is None
    assert exits.last_code("b" * 64) == 2
    assert exits.last_code("c" * 64) == 0

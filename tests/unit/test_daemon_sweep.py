"""pynetd's once-a-second sweep checks the sandboxes' netns files in turn, not all at once."""

from __future__ import annotations

import types

import pytest

from pynet.daemon.server import VANISH_CHECKS, Daemon

pytestmark = pytest.mark.unit


def test_few_sandboxes_are_all_checked_every_sweep():
    stub = types.SimpleNamespace(sandboxes={f"c{i}": None for i in range(5)}, _vanish_cursor=0)
    assert Daemon._vanish_batch(stub) == [f"c{i}" for i in range(5)]
    assert Daemon._vanish_batch(stub) == [f"c{i}" for i in range(5)]


def test_a_thousand_sandboxes_are_checked_in_turn_and_each_within_a_few_sweeps():
    ids = [f"c{i:04d}" for i in range(1000)]
    stub = types.SimpleNamespace(sandboxes=dict.fromkeys(ids), _vanish_cursor=0)
    sweeps = -(-len(ids) // VANISH_CHECKS)
    seen: list[str] = []
    for _ in range(sweeps):
        batch = Daemon._vanish_batch(stub)
        assert len(batch) == VANISH_CHECKS
        seen += batch
    assert set(seen) == set(ids)
    del stub.sandboxes["c0500"]  # the set changes between sweeps: still no error, still bounded
    assert len(Daemon._vanish_batch(stub)) == VANISH_CHECKS

"""The daemon updates a network's DNS table incrementally; the result must equal a rebuild.

Random join/leave sequences with shared aliases ("web" held by many), v4-only and
dual-stack members: every so often the incremental table is compared with a table built
from scratch, and the held-name counts with a fresh count.
"""

from __future__ import annotations

import random

import pytest

from pynet.dns.names import HeldNames, Member, NetworkTable

pytestmark = pytest.mark.unit


def _member(i: int, rng: random.Random) -> Member:
    names = [f"c{i}", f"{i:012x}", rng.choice(["web", "db", f"h{i}", "web"])]
    v6 = rng.choice(["", f"fd00::{(i + 2) // 65536:x}:{(i + 2) % 65536:x}"])
    return Member(f"{i:064x}", tuple(dict.fromkeys(names)), f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 2}", v6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_table_equals_a_full_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    live: dict[int, Member] = {}
    table = NetworkTable("n", "net", [])
    held = HeldNames()
    for step in range(2000):
        if live and rng.random() < 0.45:
            removed, added = [live.pop(rng.choice(list(live)))], []
        else:
            i = rng.randrange(10**6)
            if i in live:
                continue
            live[i] = _member(i, rng)
            removed, added = [], [live[i]]
        table, left, joined = table.changed(removed, added)
        held.update(left, joined)
        if step % 50 == 0 or step == 1999:
            full = NetworkTable("n", "net", list(live.values()))
            assert (table.v4, table.v6, table.reverse) == (full.v4, full.v6, full.reverse), step
            fresh = HeldNames()
            fresh.update((), full.names())
            assert held.counts == fresh.counts, step


def test_a_table_is_never_changed_in_place() -> None:
    a = Member("a" * 64, ("a", "web"), "10.0.0.2")
    b = Member("b" * 64, ("b", "web"), "10.0.0.3")
    t1 = NetworkTable("n", "net", [a])
    t2, left, joined = t1.changed([], [b])
    assert t1.v4["web"] == ("10.0.0.2",) and t2.v4["web"] == ("10.0.0.2", "10.0.0.3")
    assert joined == {"b"} and left == set()
    t3, left, joined = t2.changed([a], [])
    assert t3.v4["web"] == ("10.0.0.3",) and "a" not in t3.v4 and left == {"a"} and joined == set()

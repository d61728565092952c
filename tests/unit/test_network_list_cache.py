"""``network ls`` from ``meta/network-list.rows`` (pynet/state/rowcache.py): what it shows
always equals the records, whatever happened to them or to the cache behind pynet's back.

``SETTLE`` is patched to 0 where a test needs rows trusted at once (seeded records are
milliseconds old; the real rule trusts a stamp only once it is STAMP_SETTLE old), and each
test edits files so that their size changes too (on a kernel with a coarse clock, two
writes within one tick keep one ctime: that is what the settle time is for).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from cli_inproc import NET, fence_kernel, invoke, rewrite_in_place, seed_state
from pynet.cnm import network_rows
from pynet.cnm.repo import Repo
from pynet.records.model import Network, to_dict
from pynet.state import rowcache
from pynet.state.store import Store

pytestmark = pytest.mark.unit

NAMES = "{{.Name}} {{.Labels}} {{.Subnets}}"
CACHE = Path("meta") / "network-list.rows"


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    seed_state(tmp_path / "state", tmp_path / "run")
    return tmp_path / "state"


@pytest.fixture
def trust_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rowcache, "_SETTLE_NS", 0)


def _ls(fmt: str = NAMES) -> list[str]:
    result = invoke(["network", "ls", "--format", fmt])
    assert (result.code, result.err) == (0, ""), result
    return result.out.splitlines()


def _add_network(state: Path, obj_id: str, name: str) -> None:
    """A record file appearing behind pynet's back (copied in by hand)."""
    net = Network(id=obj_id, name=name, driver="bridge", created="2024-01-02T00:00:00Z")
    (state / "networks" / f"{obj_id}.json").write_text(json.dumps({"schema_version": 1, **to_dict(net)}))


def _poison_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network record read from now on fails the test."""

    def refuse(self: Repo, obj_id: str) -> None:
        raise AssertionError(f"record {obj_id} was read")

    monkeypatch.setattr(Repo, "network", refuse)


def test_a_listing_reads_no_record_once_the_cache_holds_them(
    state: Path, trust_at_once: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _ls()
    assert before == ["bridge  ", "host  ", "n1  ", "none  "]
    assert (state / CACHE).exists()
    _poison_reads(monkeypatch)
    assert _ls() == before
    ids = {"bridge": "b" * 12, "host": "d" * 12, "n1": NET[:12], "none": "a" * 12}
    assert invoke(["network", "ls", "-q"]).out.split() == [ids[n] for n in ("bridge", "host", "n1", "none")]
    # positive control: without the cache the records are read
    (state / CACHE).unlink()
    result = invoke(["network", "ls"])
    assert result.code != 0 and "was read" in result.err


def test_a_record_edited_in_place_is_read_again(state: Path, trust_at_once: None) -> None:
    assert "n1  " in _ls()
    rewrite_in_place(state / "networks" / f"{NET}.json", labels={"env": "prod"})
    assert "n1 env=prod " in _ls()


def test_a_record_corrupted_after_it_was_cached_is_reported_as_without_the_cache(
    state: Path, trust_at_once: None
) -> None:
    assert "n1  " in _ls()  # cached
    path = state / "networks" / f"{NET}.json"
    path.write_text("{oops")
    result = invoke(["network", "ls"])
    assert result.code == 1
    assert result.err.startswith(f"Error: state file {path} is corrupt: ")
    assert result.err.endswith("; restore the file from a backup, or delete it to make pynet forget the object\n")
    assert len(result.err.splitlines()) == 1


def test_records_added_or_removed_behind_pynets_back_show(state: Path, trust_at_once: None) -> None:
    assert _ls("{{.Name}}") == ["bridge", "host", "n1", "none"]
    _add_network(state, "7" * 64, "n0")
    (state / "networks" / f"{'d' * 64}.json").unlink()  # host
    assert _ls("{{.Name}}") == ["bridge", "n0", "n1", "none"]
    assert _ls("{{.Name}}") == ["bridge", "n0", "n1", "none"]  # and from the rewritten cache


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{oops",
        b'{"version": 1}\n',
        b"\x00\xff" * 50,
        "crc",  # a flipped byte in the body
        "layout",  # rows of other fields
        "shape",  # what the CRC vouches for, but not rows
        "path",  # a hand-made file naming a record outside networks/
    ],
)
def test_a_damaged_cache_is_ignored_and_rewritten(state: Path, trust_at_once: None, damage: object) -> None:
    before = _ls()
    path = state / CACHE
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    if damage == "crc":
        data = head + b"\n" + body[:-1] + bytes([body[-1] ^ 1])
    elif damage == "layout":
        data = json.dumps({**header, "layout": "name"}).encode() + b"\n" + body
    elif damage in ("shape", "path"):
        import binascii
        import marshal

        if damage == "shape":
            odd = marshal.dumps((["x"], [1], [2], [3], [[1]]))
        else:
            ids, inodes, ctimes, sizes, columns = marshal.loads(body)
            outside = f"../containers/{'c' * 64}"
            odd = marshal.dumps(
                ([*ids, outside], [*inodes, 0], [*ctimes, 0], [*sizes, 0], [[*c, c[0]] for c in columns])
            )
        data = json.dumps({**header, "crc": binascii.crc32(odd)}).encode() + b"\n" + odd
    else:
        assert isinstance(damage, bytes)
        data = damage
    path.write_bytes(data)
    assert _ls() == before
    assert path.read_bytes() != data  # rebuilt
    assert _ls() == before


def test_fresh_records_are_kept_untrusted_until_they_settle(state: Path) -> None:
    """With the real settle time, a record written a moment ago is stored without its
    stamp: its next in-place edit may keep its ctime (one clock tick), so it is read
    again by every listing until it is older than STAMP_SETTLE."""
    assert "n1  " in _ls()
    cache = rowcache.RowCache(Store(state), "networks", network_rows.CACHE, ",".join(network_rows.FIELDS))
    _, loaded = cache._load()
    assert loaded is None or None in loaded[1]  # nothing written, or rows without stamps
    rewrite_in_place(state / "networks" / f"{NET}.json", labels={"k": "v"})
    assert "n1 k=v " in _ls()


def test_a_listing_during_a_transaction_sees_its_pending_records(state: Path) -> None:
    store = Store(state)
    with store.locked():
        repo = Repo(store, store.begin())
        net = Network(id="9" * 64, name="n2", driver="bridge", created="2024-01-03T00:00:00Z")
        repo.put_network(net)
        table = network_rows.network_table(repo)
    assert table.name == ["bridge", "host", "n1", "n2", "none"]
    assert not (state / CACHE).exists()  # a transaction's view is not cached


def test_listings_racing_creates_and_removes_end_with_the_records(state: Path, trust_at_once: None) -> None:
    """Creates and removes (as pynet commits them: atomic renames) while listings run:
    every listing is consistent, and the one after the last change equals the records."""
    store = Store(state)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for k in range(40):
                with store.locked():
                    txn = store.begin()
                    obj_id = f"{k:064x}"
                    net = Network(id=obj_id, name=f"x{k}", driver="bridge", created="2024-01-04T00:00:00Z")
                    txn.put("networks", obj_id, to_dict(net))
                    if k % 3 == 0 and k:
                        txn.delete("networks", f"{k - 1:064x}")
                    txn.commit(sync=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            stop.set()

    writer = threading.Thread(target=churn)
    writer.start()
    listings = 0
    while not stop.is_set() or listings == 0:
        names = network_rows.network_table(Repo(store, documents=True)).name
        assert len(names) == len(set(names)) and "n1" in names
        listings += 1
    writer.join(timeout=30)
    assert not errors
    expected = sorted(
        json.loads(p.read_text())["name"] for p in (state / "networks").glob("*.json") if not p.name.startswith("_")
    )
    got = network_rows.network_table(Repo(store, documents=True)).name
    assert sorted(got) == expected
    assert listings > 1


def test_the_api_list_and_filters_use_the_same_rows(state: Path, trust_at_once: None) -> None:
    from pynet.cnm import listing

    _ls()
    repo = Repo(Store(state), documents=True)
    assert [n.name for n in listing.networks(repo, {})] == ["bridge", "host", "n1", "none"]
    assert [n.name for n in listing.networks(repo, {"type": ["custom"]})] == ["n1"]
    assert listing.network_table(repo, {"name": ["n"]}).name == ["n1", "none"]


def test_an_unwritable_state_dir_still_lists(state: Path, trust_at_once: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    assert _ls("{{.Name}}") == ["bridge", "host", "n1", "none"]
    assert not (state / CACHE).exists()
    assert not [p for p in (state / "meta").iterdir() if p.name.startswith(".tmp-")]


def test_ps_reads_each_network_record_once(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ps`` of 4000 containers on 4 networks read 4000 network records (357 -> 224 ms)."""
    from pynet.records.model import Container

    store = Store(state)
    with store.locked():
        txn = store.begin()
        for k in range(3):
            c = Container(
                id=f"{k + 1:064x}", name=f"w{k}", created="2024-01-01T00:00:00Z", path="true", last_networks=[NET]
            )
            txn.put("containers", c.id, to_dict(c))
        txn.commit(sync=False)
    reads: list[str] = []
    get = Store.get

    def counting(self: Store, kind: str, obj_id: str) -> object:
        reads.append(kind)
        return get(self, kind, obj_id)

    monkeypatch.setattr(Store, "get", counting)
    result = invoke(["ps", "-a", "--format", "{{.Names}} {{.Networks}}"])
    assert (result.code, result.err) == (0, "")
    assert sorted(result.out.splitlines()) == ["c1 n1", "w0 n1", "w1 n1", "w2 n1"]
    assert reads.count("networks") == 1


def test_a_killed_readers_temp_file_goes_with_the_next_mutation(state: Path) -> None:
    """Readers write the cache unlocked: a reader killed mid-write leaves ``meta/.tmp-*``,
    which the next mutating command (exclusive lock) removes once a minute old."""
    (state / "meta").mkdir(exist_ok=True)
    dead, young = state / "meta" / ".tmp-dead01.rows", state / "meta" / ".tmp-live02.rows"
    for path in (dead, young):
        path.write_bytes(b"x")
    os.utime(dead, (os.stat(dead).st_atime - 3600, os.stat(dead).st_mtime - 3600))
    store = Store(state)
    with store.locked():
        pass
    assert not dead.exists()
    assert young.exists()  # a reader may be writing it now

"""Unit tests for pynet.state.store (and the lookups of pynet.cnm.repo built on it).

What a user relies on: files are replaced atomically, a killed command is either
replayed or rolled back by the next one, one lock serialises mutations (with a clear
timeout), and a corrupt or too-new state file gives a clear error naming the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pynet.cnm.repo import Repo
from pynet.errors import InvalidArgument, PynetError, StateCorrupt, Timeout
from pynet.state import store as store_mod
from pynet.state.store import SCHEMA_VERSION, Store, atomic_write, read_json

REPO_ROOT = Path(__file__).resolve().parents[2]
ID_A = "a" * 63 + "1"
ID_B = "ab" + "c" * 62
ID_C = "b" * 64


def _net(obj_id: str, name: str) -> dict:
    """A minimal network record as the Repo stores it."""
    return {"id": obj_id, "name": name, "driver": "bridge", "created": "2024-01-01T00:00:00Z"}


def _commit(
    store: Store, puts: dict[tuple[str, str], dict] | None = None, deletes: list[tuple[str, str]] | None = None
) -> None:
    with store.locked():
        txn = store.begin()
        for (kind, obj_id), record in (puts or {}).items():
            txn.put(kind, obj_id, record)
        for kind, obj_id in deletes or []:
            txn.delete(kind, obj_id)
        txn.commit()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- atomic writes -------------------------------------------------------------------


def test_atomic_write_writes_json_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    atomic_write(target, {"b": 1, "a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write(target, {"v": 1})
    with pytest.raises(TypeError):
        atomic_write(target, {"v": object()})  # not JSON-serialisable: fails mid-write
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_read_json_of_garbage_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StateCorrupt) as info:
        read_json(bad)
    assert str(bad) in info.value.message
    assert info.value.render().startswith("Error: ")
    assert "\n" not in info.value.render()


# -- records, versions, corruption -----------------------------------------------------


def test_commit_writes_versioned_files_and_get_strips_the_version(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1")})
    on_disk = json.loads((tmp_path / "networks" / f"{ID_A}.json").read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert store.get("networks", ID_A) == _net(ID_A, "n1")
    assert store.get("networks", ID_C) is None
    assert not os.path.exists(store.journal_path())


def test_ids_lists_objects_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1"), ("networks", ID_C): _net(ID_C, "n2")})
    (tmp_path / "networks" / ".tmp-123.json").write_text("{")  # a torn temp file
    assert sorted(store.ids("networks")) == [ID_A, ID_C]
    assert store.ids("containers") == []
    assert sorted(r["name"] for r in store.all("networks")) == ["n1", "n2"]


def test_delete_removes_file_and_name(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1"), ("networks", ID_C): _net(ID_C, "n2")})
    _commit(store, deletes=[("networks", ID_A)])
    assert store.get("networks", ID_A) is None
    assert Store(tmp_path).names("networks") == {"n2": ID_C}


def test_corrupt_record_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1")})
    path = tmp_path / "networks" / f"{ID_A}.json"
    path.write_text('{"id": "x", "name":')
    with pytest.raises(StateCorrupt) as info:
        Store(tmp_path).get("networks", ID_A)
    assert str(path) in info.value.message
    assert "corrupt" in info.value.message


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', '{"id": "x"}'])
def test_record_without_object_or_version_is_corrupt(tmp_path: Path, content: str) -> None:
    path = tmp_path / "networks" / f"{ID_A}.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(StateCorrupt, match="corrupt") as info:
        Store(tmp_path).get("networks", ID_A)
    assert str(path) in info.value.message


def test_newer_schema_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "networks" / f"{ID_A}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, **_net(ID_A, "n1")}))
    with pytest.raises(StateCorrupt) as info:
        Store(tmp_path).get("networks", ID_A)
    msg = info.value.message
    assert str(path) in msg
    assert "newer" in msg and str(SCHEMA_VERSION + 1) in msg


def test_older_schema_is_migrated_on_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "networks" / f"{ID_A}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "id": ID_A, "title": "n1"}))
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, SCHEMA_VERSION, lambda r: {"id": r["id"], "name": r.pop("title")})
    assert Store(tmp_path).get("networks", ID_A) == {"id": ID_A, "name": "n1"}


# -- the name index --------------------------------------------------------------------


def test_name_index_follows_puts_renames_and_deletes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1"), ("containers", ID_C): _net(ID_C, "c1")})
    assert json.loads((tmp_path / "networks" / "_names.json").read_text()) == {"n1": ID_A}
    _commit(store, {("networks", ID_A): _net(ID_A, "renamed")})
    assert Store(tmp_path).names("networks") == {"renamed": ID_A}
    assert Store(tmp_path).names("containers") == {"c1": ID_C}
    _commit(store, deletes=[("networks", ID_A)])
    assert Store(tmp_path).names("networks") == {}


def test_missing_name_index_is_rebuilt_from_records(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1"), ("networks", ID_C): _net(ID_C, "n2")})
    (tmp_path / "networks" / "_names.json").unlink()
    assert Store(tmp_path).names("networks") == {"n1": ID_A, "n2": ID_C}


def test_corrupt_name_index_is_rebuilt_from_records(tmp_path: Path) -> None:
    """The index is derived data (see test_corrupt_state.py for the commands)."""
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1")})
    index = tmp_path / "networks" / "_names.json"
    index.write_text("{oops")
    assert Store(tmp_path).names("networks") == {"n1": ID_A}


# -- lookups with Docker's rules (Repo over the store) -----------------------------------


def _repo_with(tmp_path: Path, nets: dict[str, str]) -> Repo:
    store = Store(tmp_path)
    _commit(store, {("networks", i): _net(i, n) for i, n in nets.items()})
    return Repo(Store(tmp_path))


def test_lookup_by_name_full_id_and_unique_prefix(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, {ID_A: "n1", ID_C: "n2"})
    assert repo.find_network("n1").id == ID_A
    assert repo.find_network(ID_C).name == "n2"
    assert repo.find_network("bbb").name == "n2"
    assert repo.find_network("nope") is None
    assert repo.find_network("") is None
    assert repo.find_network("ffff") is None


def test_ambiguous_prefix_is_an_error(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, {ID_A: "n1", ID_B: "n2"})
    assert repo.find_network("aa").id == ID_A  # unique
    with pytest.raises(InvalidArgument, match="ambiguous"):
        repo.find_network("a")


def test_exact_name_beats_id_prefix(tmp_path: Path) -> None:
    # A network *named* like a prefix of another's ID: Docker resolves the name first.
    repo = _repo_with(tmp_path, {ID_A: "bbbb", ID_C: "n2"})
    assert repo.find_network("bbbb").id == ID_A
    assert repo.find_network("bbb").id == ID_C


def test_full_id_beats_name(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, {ID_A: ID_C, ID_C: "n2"})
    assert repo.find_network(ID_C).name == "n2"


# -- the journal: replay a finished commit, hand back the undo list otherwise -----------


def _snapshot_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "pynet.lock"}


def test_error_before_the_commit_is_durable_changes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "old")})
    before = _snapshot_bytes(tmp_path)
    monkeypatch.setenv("PYNET_FAULT", "state_commit")
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_C, _net(ID_C, "new"))
        txn.delete("networks", ID_A)
        with pytest.raises(PynetError, match="state_commit"):
            txn.commit()
        assert not txn.durable  # the caller rolls its kernel work back
    assert {k: v for k, v in _snapshot_bytes(tmp_path).items() if k != "journal.json"} == before
    assert Store(tmp_path).names("networks") == {"old": ID_A}


def test_error_while_applying_puts_every_file_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "old"), ("networks", ID_B): _net(ID_B, "keep")})
    before = _snapshot_bytes(tmp_path)
    monkeypatch.setenv("PYNET_FAULT", "state_apply")  # after the first file was replaced
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_B, _net(ID_B, "renamed"))
        txn.put("networks", ID_C, _net(ID_C, "new"))
        txn.delete("networks", ID_A)
        txn.record_undo({"kind": "link", "name": "br-1"})
        with pytest.raises(PynetError, match="state_apply"):
            txn.commit()
        assert not txn.durable
        assert read_json(store.journal_path()) == {"undo": [{"kind": "link", "name": "br-1"}], "commit": None}
        txn.abandon()
    assert _snapshot_bytes(tmp_path) == before
    assert Store(tmp_path).names("networks") == {"old": ID_A, "keep": ID_B}


def test_killed_after_commit_journal_is_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "old")})
    # As a kill -9 while applying: the files cannot be put back, the journal keeps the commit.
    monkeypatch.setenv("PYNET_FAULT", "state_apply")
    monkeypatch.setattr(Store, "_restore", lambda self, before: (_ for _ in ()).throw(OSError(5, "EIO")))
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_B, _net(ID_B, "other"))
        txn.put("networks", ID_C, _net(ID_C, "new"))
        txn.delete("networks", ID_A)
        with pytest.raises(OSError):
            txn.commit()
        assert txn.durable  # rolls forward: the caller keeps its kernel work
    monkeypatch.delenv("PYNET_FAULT")
    assert os.path.exists(store.journal_path())
    assert Store(tmp_path).get("networks", ID_C) is None  # not applied yet
    fresh = Store(tmp_path)
    with fresh.locked():
        assert fresh.recover() == []
    assert not os.path.exists(fresh.journal_path())
    assert fresh.get("networks", ID_C) == _net(ID_C, "new")
    assert fresh.get("networks", ID_A) is None
    assert Store(tmp_path).names("networks") == {"new": ID_C, "other": ID_B}


def test_killed_before_commit_returns_the_undo_list(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_A, _net(ID_A, "n1"))
        txn.record_undo({"kind": "link", "name": "br-1"})
        txn.record_undo({"kind": "netns", "path": "/x"})
        # "kill -9" here: nothing committed, the journal holds the undo log only
    assert not (tmp_path / "networks" / f"{ID_A}.json").exists()
    fresh = Store(tmp_path)
    with fresh.locked():
        undo = fresh.recover()
        assert undo == [{"kind": "link", "name": "br-1"}, {"kind": "netns", "path": "/x"}]
        assert os.path.exists(fresh.journal_path())  # until the caller removed the objects
        fresh.clear_journal()
    assert not os.path.exists(fresh.journal_path())
    assert fresh.get("networks", ID_A) is None


def test_abandon_drops_changes_and_journal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_A, _net(ID_A, "n1"))
        txn.record_undo({"kind": "link", "name": "br-1"})
        txn.abandon()
    assert not os.path.exists(store.journal_path())
    assert store.get("networks", ID_A) is None
    assert _files(tmp_path) == ["pynet.lock"]


def test_torn_journal_counts_as_nothing_committed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1")})
    Path(store.journal_path()).write_text('{"undo": [{"kind": "li')
    with store.locked():
        assert store.recover() == []
    assert not os.path.exists(store.journal_path())
    assert store.get("networks", ID_A) == _net(ID_A, "n1")


def test_no_journal_recovers_to_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        assert store.recover() == []


def test_pending_sees_the_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "n1")})
    with store.locked():
        txn = store.begin()
        assert txn.pending("networks", ID_A) == _net(ID_A, "n1")
        txn.delete("networks", ID_A)
        assert txn.pending("networks", ID_A) is None
        txn.put("networks", ID_A, _net(ID_A, "again"))
        assert txn.pending("networks", ID_A)["name"] == "again"
        txn.abandon()
    assert store.get("networks", ID_A) == _net(ID_A, "n1")


def test_empty_commit_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        store.begin().commit()
    assert _files(tmp_path) == ["pynet.lock"]


# -- the lock --------------------------------------------------------------------------


def test_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    holder = Store(tmp_path)
    with holder.locked():
        t0 = time.monotonic()
        with pytest.raises(Timeout) as info:
            with Store(tmp_path).locked(timeout=0.2):
                pass
        assert time.monotonic() - t0 < 5
    assert str(tmp_path) in info.value.message
    assert "lock" in info.value.message
    with Store(tmp_path).locked(timeout=0.2):  # free again once released
        pass


def test_lock_is_reentrant_in_one_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        with store.locked(timeout=0.1):
            pass
        # still held by the outer block
        with pytest.raises(Timeout):
            with Store(tmp_path).locked(timeout=0.1):
                pass


def test_shared_locks_coexist_but_exclude_writers(tmp_path: Path) -> None:
    with Store(tmp_path).locked(exclusive=False):
        with Store(tmp_path).locked(exclusive=False, timeout=0.2):
            pass
        with pytest.raises(Timeout):
            with Store(tmp_path).locked(timeout=0.1):
                pass


def test_waiter_gets_the_lock_when_released(tmp_path: Path) -> None:
    holder = Store(tmp_path)
    got: list[float] = []
    with holder.locked():

        def wait() -> None:
            with Store(tmp_path).locked(timeout=10):
                got.append(time.monotonic())

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.2)
        assert got == []
        released = time.monotonic()
    t.join(timeout=10)
    assert got and got[0] >= released


def test_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    # flock is released by the kernel when the holder dies (kill -9 leaves no stale lock).
    code = (
        "import sys, time; from pathlib import Path; from pynet.state.store import Store\n"
        "with Store(Path(sys.argv[1])).locked():\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(Timeout):
            with Store(tmp_path).locked(timeout=0.1):
                pass
        proc.kill()
        proc.wait(timeout=10)
        with Store(tmp_path).locked(timeout=5):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_logged_teardown_outlives_a_failure_until_finished(tmp_path: Path) -> None:
    """Deleted kernel objects cannot come back: a failed teardown rolls forward."""
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "victim")})
    op = {"op": "rm_networks", "ids": [ID_A]}
    with store.locked():
        txn = store.begin()
        txn.record_redo(op)
        txn.delete("networks", ID_A)
        txn.abandon()  # e.g. the commit failed
    fresh = Store(tmp_path)
    assert fresh.pending_redo() == op
    assert fresh.get("networks", ID_A) is not None  # not applied: the next command finishes it
    with fresh.locked():
        assert fresh.recover() == []
        txn = fresh.begin()
        txn.record_redo(op)
        txn.delete("networks", ID_A)
        txn.commit()
    assert fresh.pending_redo() is None and not os.path.exists(fresh.journal_path())
    assert fresh.get("networks", ID_A) is None


def test_no_redo_without_a_journal_or_after_a_commit(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.pending_redo() is None
    atomic_write(store.journal_path(), {"undo": [], "commit": {"puts": {}}, "redo": {"op": "x"}})
    assert store.pending_redo() is None  # the commit is complete: replay, no redo


def test_change_stamp_changes_with_every_write_and_is_none_while_unsettled(tmp_path) -> None:
    import os
    import time

    from pynet.state.store import STAMP_SETTLE, Store

    store = Store(tmp_path)
    (tmp_path / "networks").mkdir()
    assert store.change_stamp("networks", "ipam") is None  # just made: the clock may not tell

    def settle(age: float) -> None:
        past = time.time() - STAMP_SETTLE - age
        os.utime(tmp_path / "networks", (past, past))

    settle(10)
    first = store.change_stamp("networks", "ipam")
    assert first is not None and first == store.change_stamp("networks", "ipam")
    txn = store.begin()
    txn.put("networks", "n1", {"name": "n1"})
    txn.commit(sync=False)
    assert store.change_stamp("networks", "ipam") is None  # changed just now: read afresh
    settle(5)
    assert store.change_stamp("networks", "ipam") not in (None, first)


def test_a_commit_fsyncs_every_file_and_directory_together_and_reports_a_failure(tmp_path, monkeypatch) -> None:
    import errno
    import os

    import pytest

    from pynet.errors import PynetError
    from pynet.state import store as store_mod

    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(store_mod.os, "fsync", recording_fsync)
    paths = [tmp_path / "a" / "1.json", tmp_path / "a" / "2.json", tmp_path / "b" / "3.json"]
    for p in paths:
        p.parent.mkdir(exist_ok=True)
        p.write_text("{}")
    store_mod._fsync_all(paths, [])
    assert sorted(synced) == sorted([*map(str, paths), str(tmp_path / "a"), str(tmp_path / "b")])

    def failing_fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("3.json"):
            raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(store_mod.os, "fsync", failing_fsync)
    with pytest.raises(OSError) as info:
        store_mod._fsync_all(paths, [])
    assert info.value.errno == errno.EIO and not isinstance(info.value, PynetError)


# -- derived files (indexes): written with a commit, never copied into its journal -------


def test_a_commit_journals_records_only_not_the_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", f"{i:064x}"): _net(f"{i:064x}", f"n{i}") for i in range(1, 200)})
    journals: list[dict] = []
    real = store_mod.atomic_write

    def spy(path: Path, data: object, *, sync: bool = True) -> None:
        if Path(path).name == "journal.json":
            journals.append(json.loads(json.dumps(data)))
        real(path, data, sync=sync)

    monkeypatch.setattr(store_mod, "atomic_write", spy)
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_A, _net(ID_A, "one-more"))
        txn.put_packed("meta", "summary.packed", {"networks": {f"{i:064x}": {} for i in range(1, 200)}})
        txn.commit()
    commit = journals[-1]["commit"]
    # the journal names the derived files; their content (200 entries each) is not in it
    assert commit["derived"] == ["meta/summary.packed", "networks/_names"]
    assert list(commit["puts"]) == ["networks/" + ID_A] and len(json.dumps(commit)) < 400
    assert Store(tmp_path).names("networks")["one-more"] == ID_A  # still written
    assert Store(tmp_path).get_packed("meta", "summary.packed") == {
        "networks": {f"{i:064x}": {} for i in range(1, 200)}
    }


def test_replaying_a_commit_removes_its_derived_files_to_be_rebuilt(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "old")})
    atomic_write(tmp_path / "meta" / "summary.packed", store_mod.pack({"networks": {"stale": {}}}))
    # as a kill -9 right after the journal got the commit: no file of it written yet
    commit = {
        "puts": {f"networks/{ID_C}": _net(ID_C, "new")},
        "deletes": [],
        "derived": ["meta/summary.packed", "networks/_names"],
    }
    atomic_write(store.journal_path(), {"undo": [], "commit": commit})
    fresh = Store(tmp_path)
    with fresh.locked():
        assert fresh.recover() == []
    assert not (tmp_path / "meta" / "summary.packed").exists()  # stale: gone, rebuilt by its reader
    assert fresh.names("networks") == {"old": ID_A, "new": ID_C}  # rebuilt from the records


def test_a_journal_with_a_bad_derived_key_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "old")})
    atomic_write(store.journal_path(), {"undo": [], "commit": {"puts": {}, "derived": ["../../etc/passwd"]}})
    before = _snapshot_bytes(tmp_path)
    with store.locked(), pytest.raises(StateCorrupt, match="invalid key"):
        store.recover()
    assert _snapshot_bytes(tmp_path) == before


def test_derived_files_are_not_fsynced_and_go_at_a_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "a")})
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    with store.locked():
        txn = store.begin()
        txn.put("networks", ID_B, _net(ID_B, "b"))
        txn.put_packed("meta", "summary.packed", {"networks": {}})
        txn.delete("networks", ID_A)
        txn.commit()
    records = [p for p in synced if not Path(p).name.startswith(".tmp-") and p != str(tmp_path)]  # not the journal
    # the record and its directory (the put's rename, the delete's unlink): no derived file
    # (in any order: the fsyncs run concurrently)
    assert sorted(records) == sorted([str(tmp_path / "networks" / f"{ID_B}.json"), str(tmp_path / "networks")])
    with store.locked():
        store.forget_derived()
    assert not (tmp_path / "meta" / "summary.packed").exists()
    assert not (tmp_path / "networks" / "_names.json").exists()
    assert Store(tmp_path).names("networks") == {"b": ID_B}  # rebuilt from the records


def test_the_journal_is_fsynced_only_when_several_records_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    _commit(store, {("networks", ID_A): _net(ID_A, "a")})
    syncs: list[bool] = []
    real = store_mod.atomic_write

    def spy(path: Path, data: object, *, sync: bool = True) -> None:
        if Path(path).name == "journal.json" and isinstance(data, dict) and data.get("commit"):
            syncs.append(sync)
        real(path, data, sync=sync)

    monkeypatch.setattr(store_mod, "atomic_write", spy)
    # one record (its rename is atomic and fsynced): the journal only has to outlive a kill -9
    _commit(store, {("networks", ID_B): _net(ID_B, "b")}, [("ipam", ID_B)])  # no ipam file: nothing to unlink
    # two records: a power cut between them must be replayable
    _commit(store, {("networks", ID_C): _net(ID_C, "c")}, [("networks", ID_A)])
    assert syncs == [False, True]
    assert Store(tmp_path).names("networks") == {"b": ID_B, "c": ID_C}

"""Corrupt state: one line naming the file and what to do; indexes rebuild themselves;
``rm -f`` can still read what a damaged record describes; stray temp files go away.

The kernel side of ``rm -f`` on a damaged container is in
tests/integration/test_corrupt_state_kernel.py.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from cli_inproc import CTR, EP, NET, fence_kernel, invoke, seed_state
from pynet.cnm.repo import Repo
from pynet.errors import StateCorrupt
from pynet.state.store import SCHEMA_VERSION, Store, pack

NAMES = {"bridge": "b" * 64, "host": "d" * 64, "none": "a" * 64, "n1": NET}


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    seed_state(tmp_path / "state", tmp_path / "run")
    return tmp_path / "state"


def _rewrite(path: Path, **changes: object) -> None:
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps(record))


def test_wrong_types_in_a_container_record_name_the_file_and_the_fix(state: Path) -> None:
    assert invoke(["ps", "-a", "-q"]).out.strip() == CTR[:12]  # control: readable before
    path = state / "containers" / f"{CTR}.json"
    _rewrite(path, name=5)
    for args in (["ps", "-a"], ["inspect", "c1"], ["port", CTR]):
        result = invoke(args)
        assert result.code == 1, (args, result)
        assert result.err == (
            f"Error: state file {path} is corrupt: field 'name' should be a string, "
            f"found a number; remove the container with `pynet rm -f {CTR}`\n"
        ), args
        assert "internal error" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("content", ["{oops", "[1, 2]", "null", '{"schema_version": 1, "id": 7}'])
def test_unusable_network_record_is_one_line_naming_it(state: Path, content: str) -> None:
    path = state / "networks" / f"{NET}.json"
    path.write_text(content)
    result = invoke(["network", "ls"])
    assert result.code == 1, result
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: state file {path} is corrupt: "), result.err
    assert lines[0].endswith("; restore the file from a backup, or delete it to make pynet forget the object")


@pytest.mark.parametrize("content", ["{oops", "[]", '{"n1": 5}', ""])
def test_corrupt_name_index_is_rebuilt_from_the_records(state: Path, content: str) -> None:
    index = state / "networks" / "_names.json"
    index.write_text(content)
    result = invoke(["network", "inspect", "-f", "{{.Name}} {{.Id}}", "n1"])
    assert (result.code, result.out, result.err) == (0, f"n1 {NET}\n", "")
    # A mutating command (it holds the lock) writes the rebuilt index back.
    store = Store(state)
    with store.locked():
        assert store.names("networks") == NAMES
    assert json.loads(index.read_text()) == NAMES


def test_index_rebuild_skips_an_unreadable_record(state: Path) -> None:
    (state / "containers" / "_names.json").write_text("{")
    (state / "containers" / f"{CTR}.json").write_text("{")
    assert Store(state).names("containers") == {}


@pytest.mark.parametrize(
    "content",
    [
        b"{garbage",  # not a packed file
        pack(("network-summary 2", ["x"], [], [], [])),  # columns of different lengths
        pack(("network-summary 1", {"x": 3})),  # another layout
        pack(("network-summary 2", [NET], ["br-x"], [["10.0.0.0/8"]], [(4, 0, 1)]))[:-3] + b"xyz",  # CRC
    ],
)
def test_corrupt_network_summary_is_rebuilt(state: Path, content: bytes) -> None:
    (state / "meta").mkdir(exist_ok=True)
    (state / "meta" / "network-summary.packed").write_bytes(content)
    summary = Repo(Store(state)).network_summary()
    assert NET in summary.ids and "br-x" not in summary.bridges  # from the records
    assert len(summary.spans) == len(summary.all_subnets())


def test_wrong_types_in_the_address_allocator_name_the_file(state: Path) -> None:
    path = state / "ipam" / f"{NET}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "space": 5, "count": "x"}))
    with pytest.raises(StateCorrupt) as info:
        Repo(Store(state)).ipam_head(NET)
    assert info.value.render().startswith(f"Error: state file {path} is corrupt: ")


@pytest.mark.parametrize("content", ["{garbage", '{"schema_version": 1, "endpoints": "x", "pid": "y"}'])
def test_salvage_reads_a_damaged_container_and_finds_its_endpoints(state: Path, content: str) -> None:
    (state / "containers" / f"{CTR}.json").write_text(content)
    with pytest.raises(StateCorrupt):
        Repo(Store(state)).get_container("c1")
    for ref in ("c1", CTR, CTR[:8]):  # name, full ID, ID prefix
        c = Repo(Store(state), salvage=True).get_container(ref)
        assert (c.id, c.name, c.endpoints, c.pid) == (CTR, "c1", {NET: EP}, 0), ref


def test_salvage_completes_a_damaged_endpoint_from_its_member_record(state: Path) -> None:
    (state / "endpoints" / f"{EP}.json").write_text("{")
    ep = Repo(Store(state), salvage=True).endpoint(EP)
    assert (ep.id, ep.network_id, ep.container_id, ep.ipv4) == (EP, NET, CTR, "10.9.0.2")


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_stray_temp_files_of_killed_writes_are_removed(state: Path) -> None:
    top, deep, young = state / ".tmp-dead01.json", state / "containers" / ".tmp-dead02.json", state / ".tmp-live03.json"
    for path in (top, deep, young):
        path.write_text("{")
    _age(top, 3600)
    _age(deep, 3600)
    store = Store(state)
    with store.locked(exclusive=False):
        pass
    assert top.exists(), "a reader must not remove files"
    with store.locked():
        pass
    assert not top.exists()
    assert young.exists(), "a write under way (the helper writes cluster files unlocked) is kept"
    assert deep.exists(), "object dirs are swept only after an interrupted commit"
    (state / "journal.json").write_text(json.dumps({"undo": [], "commit": None}))
    with store.locked():
        pass
    assert not deep.exists()
    assert not any(p.name.startswith(".tmp-") for p in state.rglob("*") if p != young)


@pytest.mark.parametrize("content", ["{", '{"schema_version": 1, "container": 5, "addresses": "x"}'])
def test_damaged_member_record_names_the_file_and_salvage_reads_past_it(state: Path, content: str) -> None:
    path = state / "members" / NET / f"{EP}.json"
    path.write_text(content)
    with pytest.raises(StateCorrupt) as info:
        Repo(Store(state)).member(NET, EP)
    message = info.value.render()
    assert message.startswith(f"Error: state file {path} is corrupt: ") and message.count("\n") == 0
    assert message.endswith("; restore the file from a backup, or delete it to make pynet forget the object")
    assert Repo(Store(state), salvage=True).member(NET, EP) is not None


def test_state_fuzz_wrong_types_in_any_field_of_any_file_are_never_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every field of every seeded state file, set to a value of each wrong JSON type (and
    each file made unreadable): read-only commands print one error line or still work."""
    base, work = tmp_path / "base", tmp_path / "work"
    seed_state(base / "state", base / "run")
    fence_kernel(monkeypatch, work / "state", work / "run")
    commands = [["ps", "-a"], ["network", "ls"], ["inspect", "c1"], ["network", "inspect", "n1"], ["port", "c1"]]
    problems: dict[str, str] = {}
    checked = 0
    for path in sorted((base / "state").rglob("*.json")):
        rel = path.relative_to(base / "state")
        for name, text in _damaged_versions(json.loads(path.read_text())):
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base, work)
            (work / "state" / rel).write_text(text)
            for args in commands:
                result = invoke(args)
                checked += 1
                text_out = result.err + result.out
                if (
                    "internal error" in text_out
                    or "Traceback" in text_out
                    or (result.code != 0 and len(result.err.splitlines()) != 1)
                ):
                    problems.setdefault(result.err.strip()[:160], f"{rel} {name}: pynet {' '.join(args)}")
    assert checked > 1000
    assert not problems, "\n".join(f"{where} -> {err}" for err, where in problems.items())


def _damaged_versions(record: object) -> list[tuple[str, str]]:
    out = [("torn", "{"), ("a list", "[]")]
    if isinstance(record, dict):
        for key in record:
            for bad in (5, "x", [], {}, None, True, -1):
                out.append((f"{key}={bad!r}", json.dumps({**record, key: bad})))
    return out

"""The default ``network ls`` (and ``-q``, ``--no-trunc``) answered from a text rendered
before, kept in ``meta/network-list.rows`` (pynet/state/rowcache.py, RowCache.output):
served only while every row is unchanged, never for a filter or another format, never
by other rendering code, and always equal to what rendering the records gives."""

from __future__ import annotations

import binascii
import json
import marshal
import os
import shutil
from pathlib import Path

import pytest

from cli_inproc import NET, fence_kernel, invoke, rewrite_in_place, seed_state
from pynet.cli import formatting, network_actions
from pynet.records.model import Network, to_dict
from pynet.state import rowcache

pytestmark = pytest.mark.unit

CACHE = Path("meta") / "network-list.rows"
FLAGS = [[], ["-q"], ["--no-trunc"], ["-q", "--no-trunc"], ["--format", "table"]]


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")
    seed_state(tmp_path / "state", tmp_path / "run")
    monkeypatch.setattr(rowcache, "_SETTLE_NS", 0)  # seeded records are trusted at once
    return tmp_path / "state"


def _ls(*args: str) -> str:
    result = invoke(["network", "ls", *args])
    assert (result.code, result.err) == (0, ""), result
    return result.out


def _no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered")

    monkeypatch.setattr(formatting, "format_columns", refuse)


@pytest.mark.parametrize("flags", FLAGS)
def test_a_second_listing_is_the_kept_text(state: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str]) -> None:
    first = _ls(*flags)
    assert "n1" in first or NET[:12] in first
    _no_rendering(monkeypatch)
    assert _ls(*flags) == first
    # positive control: a format that is not the default one renders
    result = invoke(["network", "ls", "--format", "{{.Name}}"])
    assert result.code != 0 and "rendered" in result.err


def test_each_flag_set_gets_its_own_text(state: Path) -> None:
    texts = [_ls(*flags) for flags in FLAGS]
    assert [_ls(*flags) for flags in FLAGS] == texts
    assert len(set(texts[:4])) == 4 and texts[4] == texts[0]
    assert texts[1].split() == [line.split()[0] for line in texts[0].splitlines()[1:]]


def test_filters_never_use_the_kept_text(state: Path) -> None:
    _ls()
    out = _ls("--filter", "name=n1")
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["n1"]


def test_an_edit_in_place_drops_the_kept_text(state: Path) -> None:
    assert " n1 " in _ls()
    rewrite_in_place(state / "networks" / f"{NET}.json", name="n1x", driver="macvlan")
    out = _ls()
    assert "n1x" in out and "macvlan" in out and " n1 " not in out
    assert _ls() == out


def test_records_added_or_removed_by_hand_show(state: Path) -> None:
    before = _ls()
    net = Network(id="7" * 64, name="n0", driver="bridge", created="2024-01-02T00:00:00Z")
    path = state / "networks" / f"{net.id}.json"
    path.write_text(json.dumps({"schema_version": 1, **to_dict(net)}))
    added = _ls()
    assert "n0" in added and added != before
    path.unlink()
    assert _ls() == before


def test_a_restored_backup_copy_shows(state: Path) -> None:
    """``cp backup record``: the same inode, only its ctime (and size) change."""
    record = state / "networks" / f"{NET}.json"
    backup = state.parent / "backup.json"
    shutil.copy(record, backup)
    rewrite_in_place(record, driver="ipvlan")
    assert "ipvlan" in _ls()
    shutil.copyfile(backup, record)  # in place
    out = _ls()
    assert "ipvlan" not in out and " n1 " in out


def test_other_rendering_code_is_not_served(state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _ls()
    key = network_actions._ls_key(False, False)
    copy = tmp_path / "formatting.py"
    shutil.copy2(formatting.__file__, copy)
    monkeypatch.setattr(formatting, "__file__", str(copy))
    assert network_actions._ls_key(False, False) == key  # positive control: same stamp
    os.utime(copy, ns=(0, 10**9))
    assert network_actions._ls_key(False, False) != key


@pytest.mark.parametrize("damage", ["crc", "shape"])
def test_columns_that_are_damaged_or_do_not_fit_are_not_used(state: Path, damage: str) -> None:
    """The columns (the file's last bytes, their own CRC) are checked when loaded."""
    before = _ls()
    path = state / CACHE
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    header = json.loads(head)
    if damage == "crc":
        data = data[:-1] + bytes([data[-1] ^ 1])
    else:  # a hand-made file whose CRCs hold
        odd = marshal.dumps([["x"]])
        body = body[: -header["cols"]] + odd
        header.update(cols=len(odd), cols_crc=binascii.crc32(odd))
        data = json.dumps(header).encode() + b"\n" + body
    path.write_bytes(data)
    assert _ls() == before  # the kept text: the rows are unchanged, the columns not needed
    assert _ls("--format", "{{.Name}}").split() == ["bridge", "host", "n1", "none"]
    assert path.read_bytes() != data  # rebuilt
    assert _ls("--format", "{{.Name}}").split() == ["bridge", "host", "n1", "none"]
    assert _ls() == before


def test_rows_that_changed_get_a_new_kept_text(state: Path) -> None:
    _ls()
    rewrite_in_place(state / "networks" / f"{NET}.json", driver="ipvlan")
    out = _ls()
    assert "ipvlan" in out
    assert _ls() == out  # kept again, for the new rows

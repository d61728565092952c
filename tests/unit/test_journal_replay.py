"""Journal replay is safe: a journal is data, never a list of paths or links to follow.

A commit key that would leave the state dir is rejected (one error naming the journal,
nothing written anywhere); an undo log read back from disk removes only what it proves
pynet made (the kernel layer is faked here; tests/integration/test_bridge_ownership.py
runs the same against real links).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynet.records.model import Network
from pynet.cnm import rollback
from pynet.drivers import bridge
from pynet.kernel import undo as kernel_undo
from pynet.errors import StateCorrupt
from pynet.state.store import Store

ID = "a" * 64


def _write_commit(root: Path, puts: dict, deletes: list | None = None, indexes: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    journal = root / "journal.json"
    journal.write_text(
        json.dumps({"undo": [], "commit": {"puts": puts, "deletes": deletes or [], "indexes": indexes or {}}})
    )
    return journal


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "puts, deletes, indexes",
    [
        ({"networks/../../escaped": {"id": "x"}}, [], {}),
        ({"/tmp/escaped": {"id": "x"}}, [], {}),
        ({"members/net/../../../escaped": {"id": "x"}}, [], {}),
        ({"networks": {"id": "x"}}, [], {}),  # no id at all
        ({}, ["networks/../../escaped"], {}),
        ({}, [], {"../escaped": {}}),
        ({"networks/ok": "not a record"}, [], {}),
    ],
)
def test_a_commit_leaving_the_state_dir_changes_nothing(tmp_path: Path, puts, deletes, indexes) -> None:
    state = tmp_path / "a" / "b" / "state"
    journal = _write_commit(state, {"networks/good": {"id": "good"}, **puts}, deletes, indexes)
    (state.parent / "escaped.json").write_text("keep")  # where "networks/../../escaped" points
    store = Store(state)
    with store.locked():
        before = _files(tmp_path)
        with pytest.raises(StateCorrupt) as err:
            store.recover()
    assert str(err.value).startswith(f"state file {journal} is corrupt: ")
    assert str(err.value).endswith("; delete it to make pynet forget the interrupted command")  # what to do
    assert _files(tmp_path) == before  # not even the good key
    assert (state.parent / "escaped.json").read_text() == "keep"
    assert journal.exists()  # kept for the user to look at


def test_a_good_commit_with_member_keys_still_replays(tmp_path: Path) -> None:
    _write_commit(
        tmp_path,
        {"networks/n1": {"id": "n1", "name": "x"}, "members/n1/e1": {"container": "c"}},
        indexes={"networks": {"x": "n1"}},
    )
    store = Store(tmp_path)
    with store.locked():
        assert store.recover() == []
    assert store.get("members", "n1/e1") == {"container": "c"}
    assert store.names("networks") == {"x": "n1"}


def test_an_undo_log_that_is_not_a_list_of_objects_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps({"undo": ["lan0"], "commit": None}))
    store = Store(tmp_path)
    with store.locked(), pytest.raises(StateCorrupt, match="journal.json is corrupt.*; delete it to make pynet"):
        store.recover()


# -- the undo log from disk --------------------------------------------------------------


class FakeKernel:
    """Links by name: (index, kind); records what was deleted."""

    def __init__(self, links: dict[str, tuple[int, str]]) -> None:
        self.links = links
        self.deleted: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        nl = kernel_undo.netlink
        monkeypatch.setattr(nl, "link_index", lambda name, netns=None: self.links.get(name, (None,))[0])
        monkeypatch.setattr(nl, "link_kind", lambda name: self.links.get(name, (None, None))[1])
        monkeypatch.setattr(nl, "link_delete", lambda name, netns=None: self.deleted.append(name))
        monkeypatch.setattr(nl, "addr_delete", lambda name, cidr: self.deleted.append(f"{name} {cidr}"))
        monkeypatch.setattr(nl, "netns_delete", lambda path: self.deleted.append(path))


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKernel:
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path / "run"))
    k = FakeKernel(
        {
            "lan0": (2, "veth"),
            "lanbr": (3, "bridge"),
            "eth0": (4, ""),
            "mybr": (9, "bridge"),
            "veth1a2b3c4": (10, "veth"),
            "veth7654321": (11, "bridge"),
        }
    )
    k.install(monkeypatch)
    return k


def test_replay_removes_only_what_the_journal_proves(kernel: FakeKernel, tmp_path: Path) -> None:
    sandbox = str(tmp_path / "run" / "netns" / "0123456789ab")
    log = [
        {"kind": "link", "name": "lan0"},  # the user's uplink
        {"kind": "link", "name": "lanbr"},  # the user's bridge
        {"kind": "link", "name": "eth0"},
        {"kind": "link", "name": "lanbr", "index": 7},  # an index it does not have
        {"kind": "link", "name": "veth7654321"},  # pynet's name, wrong kind
        {"kind": "addresses", "link": "lanbr", "cidrs": ["192.0.2.1/24"]},  # no index
        {"kind": "sysctls", "link": "lanbr", "index": 2, "values": {"forwarding": "1"}},  # not its index
        {"kind": "netns", "path": "/run/netns/someone"},  # outside pynet's netns dir
        {"kind": "link", "name": "eth0", "netns": "/proc/1/ns/net"},
        {"kind": "link", "name": "mybr", "index": 9},  # proved: pynet made it
        {"kind": "link", "name": "veth1a2b3c4"},  # pynet's name and kind
        {"kind": "netns", "path": sandbox},
    ]
    errors = rollback.remove_all(log, replay=True)
    assert kernel.deleted == [sandbox, "veth1a2b3c4", "mybr"]
    assert len(errors) == 9 and all("does not prove" in e for e in errors)


def test_an_in_process_rollback_trusts_its_own_log(kernel: FakeKernel) -> None:
    rollback.remove_all(
        [{"kind": "link", "name": "mybr"}, {"kind": "addresses", "link": "lanbr", "index": 3, "cidrs": ["10.1.0.1/24"]}]
    )
    assert kernel.deleted == ["lanbr 10.1.0.1/24", "mybr"]


def test_only_pynets_own_bridge_names_count_as_pynets_in_old_records() -> None:
    def net(**kw) -> Network:
        return Network(ID, "n", "bridge", "now", **kw)

    assert bridge.bridge_owned(net(driver_data={"bridge": f"br-{ID[:12]}"}))
    assert bridge.bridge_owned(net(builtin=True, driver_data={"bridge": "pynet0"}))
    assert not bridge.bridge_owned(net(driver_data={"bridge": "lanbr"}))
    assert bridge.bridge_owned(net(driver_data={"bridge": "mybr", "bridge_owned": True}))
    assert not bridge.bridge_owned(net(driver_data={"bridge": f"br-{ID[:12]}", "bridge_owned": False}))

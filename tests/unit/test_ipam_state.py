"""A network's IPAM state stays small however many containers join it.

The allocator is stored as runs of allocated addresses and the membership as one small
record per endpoint, so `run`/`rm` read and write a few hundred bytes at any size; state
written by an older pynet (one file with every member and owner) is read and converted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynet.drivers.ipam import AddressSpace
from pynet.records.model import IPAMPool
from pynet.cnm.repo import Repo
from pynet.state.store import Store

pytestmark = pytest.mark.unit

POOL = IPAMPool("10.77.0.0/21", gateway="10.77.0.1")


def test_a_thousand_sequential_addresses_are_one_run() -> None:
    space = AddressSpace.from_dict(None, [POOL])
    got = [space.allocate(POOL, f"e{i}") for i in range(1000)]
    compact = space.to_compact()
    assert compact["pools"]["10.77.0.0/21"]["runs"] == [[got[0], got[-1]]]
    assert len(json.dumps(compact)) < 200
    for addr in got[10:20]:
        space.release_address(addr + "/21")
    again = AddressSpace.from_dict(json.loads(json.dumps(space.to_compact())), [POOL])
    assert len(again.to_compact()["pools"]["10.77.0.0/21"]["runs"]) == 2
    assert again.count() == 990
    # the allocator carries on where it was: never re-hands a just-freed address first
    assert again.allocate(POOL, "next") == space.allocate(POOL, "next")


def test_compact_and_owner_forms_hold_the_same_addresses() -> None:
    v6 = IPAMPool("fd00:77::/64")
    space = AddressSpace.from_dict(None, [POOL, v6])
    for i in range(30):
        space.allocate(POOL, f"e{i}")
        space.allocate(v6, f"e{i}")
    for addr in ("10.77.0.5", "10.77.0.9", "fd00:77::7"):
        space.release_address(addr)
    a = AddressSpace.from_dict(space.to_compact(), [POOL, v6])
    b = AddressSpace.from_dict(space.to_dict(), [POOL, v6])
    assert a.to_compact() == b.to_compact() == space.to_compact()


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, **record}))


def test_membership_is_one_small_record_per_endpoint(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.locked():
        txn = store.begin()
        repo = Repo(store, txn)
        repo.init_ipam("n1")
        for i in range(50):
            repo.put_member("n1", f"ep{i}", f"c{i}", [f"10.77.0.{i + 2}/21"])
        repo.put_ipam_space("n1", {"version": 2, "pools": {}}, 50)
        txn.commit()
    assert Repo(store).member_count("n1") == 50
    assert Repo(store).members("n1")["ep7"] == "c7"
    assert Repo(store).member("n1", "ep7") == {"container": "c7", "addresses": ["10.77.0.9/21"]}
    assert (tmp_path / "ipam" / "n1.json").stat().st_size < 200
    with store.locked():
        txn = store.begin()
        repo = Repo(store, txn)
        repo.delete_member("n1", "ep7")
        assert "ep7" not in repo.members("n1") and len(repo.members("n1")) == 49
        for ep in list(repo.members("n1")):
            repo.delete_member("n1", ep)
        repo.delete_network("n1")
        txn.commit()
    assert not (tmp_path / "members" / "n1").exists(), "the last member takes its directory along"


def test_state_of_an_older_pynet_is_read_and_converted(tmp_path: Path) -> None:
    _write(
        tmp_path / "ipam" / "n1.json",
        {
            "endpoints": {"ep1": "c1", "ep2": "c2"},
            "space": {
                "version": 1,
                "pools": {"10.77.0.0/21": {"allocated": {"10.77.0.2": "ep1", "10.77.0.3": "ep2"}, "last": "10.77.0.3"}},
            },
        },
    )
    store = Store(tmp_path)
    ro = Repo(store)
    assert ro.member_count("n1") == 2 and ro.members("n1") == {"ep1": "c1", "ep2": "c2"}
    assert ro.member("n1", "ep2") == {"container": "c2", "addresses": ["10.77.0.3"]}
    with store.locked():
        txn = store.begin()
        repo = Repo(store, txn)
        assert repo.member_count("n1") == 2  # converting happens inside the transaction
        txn.commit()
    head = json.loads((tmp_path / "ipam" / "n1.json").read_text())
    assert "endpoints" not in head and head["count"] == 2
    assert json.loads((tmp_path / "members" / "n1" / "ep1.json").read_text())["addresses"] == ["10.77.0.2"]
    space = AddressSpace.from_dict(Repo(store).ipam_space("n1"), [POOL])
    assert space.allocate(POOL, "e3") == "10.77.0.4"

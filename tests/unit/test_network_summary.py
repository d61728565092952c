"""The network summary (``cnm/network_summary.py``) and the packed derived file it lives in.

What a user relies on: ``network create`` refuses a subnet that overlaps another network's
and a bridge name another network uses, whatever the order networks came and went in;
the summary is derived data (a damaged one is rebuilt: test_corrupt_state.py), never in a
journal, and its older JSON form goes at the first write.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynet.cnm.network_summary import NetworkSummary
from pynet.cnm.repo import Repo
from pynet.drivers.ipam import subnet_spans
from pynet.records.model import IPAMPool, Network
from pynet.state import store as store_mod
from pynet.state.store import Store, atomic_write, pack, unpack


def _net(n: int, *subnets: str, bridge: str = "") -> Network:
    return Network(
        id=f"{n:064x}",
        name=f"n{n}",
        driver="bridge",
        created="2026-01-01T00:00:00Z",
        ipam_config=[IPAMPool(subnet=s) for s in subnets],
        driver_data={"bridge": bridge or f"br-{n:012x}"},
    )


def _consistent(summary: NetworkSummary) -> None:
    """Every column has one entry per network, the spans one per subnet, in order."""
    assert len(summary.ids) == len(summary.bridges) == len(summary.subnets)
    assert summary.spans == subnet_spans(summary.all_subnets())


def test_networks_come_and_go_in_any_order_and_the_spans_follow() -> None:
    nets = [
        _net(1, "10.1.0.0/24"),
        _net(2, "10.2.0.0/24", "fd02::/64"),
        _net(3),  # no subnet (a driver without IPAM)
        _net(4, "10.4.0.0/16", "10.5.0.0/16", "fd04::/64"),
    ]
    summary = NetworkSummary.of(nets)
    _consistent(summary)
    assert summary.ids == [n.id for n in nets]
    for gone in (nets[1], nets[0], nets[3]):  # the middle, the first, the last
        before = summary
        summary = summary.without(gone.id)
        _consistent(summary)
        assert gone.id not in summary.ids and gone.id in before.ids  # a copy: before unchanged
    assert summary.ids == [nets[2].id] and summary.spans == []
    assert summary.without("f" * 64) == summary  # an unknown ID changes nothing


def test_a_network_put_again_replaces_its_entry() -> None:
    summary = NetworkSummary.of([_net(1, "10.1.0.0/24"), _net(2, "10.2.0.0/24")])
    summary = summary.with_network(_net(1, "10.9.0.0/24", bridge="mybr"))
    _consistent(summary)
    assert summary.ids == [f"{2:064x}", f"{1:064x}"] and summary.all_subnets() == ["10.2.0.0/24", "10.9.0.0/24"]
    assert summary.bridge_user("mybr") == f"{1:064x}" and summary.bridge_user(f"br-{1:012x}") is None


def test_packed_round_trip_and_a_changed_byte_is_refused() -> None:
    summary = NetworkSummary.of([_net(1, "10.1.0.0/24", "fd01::/64"), _net(2)])
    data = pack(summary.packed())
    assert NetworkSummary.unpacked(unpack(data)) == summary
    for at in (0, len(data) // 2, len(data) - 1):  # the header, the middle, the last byte
        damaged = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
        assert unpack(damaged) is None
    assert unpack(b"") is None and unpack(b'{"networks": {}}') is None


def _create(store: Store, *nets: Network) -> None:
    with store.locked():
        txn = store.begin()
        repo = Repo(store, txn)
        for net in nets:
            repo.put_network(net)
        txn.commit()


def test_the_summary_is_written_with_the_commit_and_the_json_form_goes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    legacy = tmp_path / "meta" / "network-summary.json"
    atomic_write(legacy, {"schema_version": 1, "networks": {}})  # as an older pynet left it
    _create(store, _net(1, "10.1.0.0/24"), _net(2, "10.2.0.0/24"))
    assert not legacy.exists()
    packed = tmp_path / "meta" / "network-summary.packed"
    assert Repo(Store(tmp_path)).network_summary().all_subnets() == ["10.1.0.0/24", "10.2.0.0/24"]
    with store.locked():
        txn = store.begin()
        Repo(store, txn).delete_network(f"{1:064x}")
        txn.commit()
    assert NetworkSummary.unpacked(unpack(packed.read_bytes())).ids == [f"{2:064x}"]


def test_a_replayed_commit_removes_the_packed_summary_and_it_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    _create(store, _net(1, "10.1.0.0/24"))
    journals: list[dict] = []
    real = store_mod.atomic_write

    def killed_after_the_journal(path: Path, data: object, *, sync: bool = True) -> None:
        real(path, data, sync=sync)
        if Path(path).name == "journal.json" and '"commit": {' in json.dumps(data):
            journals.append(data)  # type: ignore[arg-type]
            raise KeyboardInterrupt  # stands for the kill -9: nothing else written

    monkeypatch.setattr(store_mod, "atomic_write", killed_after_the_journal)
    with pytest.raises(KeyboardInterrupt):
        _create(store, _net(2, "10.2.0.0/24"))
    monkeypatch.setattr(store_mod, "atomic_write", real)
    assert "meta/network-summary.packed" in journals[0]["commit"]["derived"]
    atomic_write(store.journal_path(), journals[0])  # the rollback of the interrupt undone: as after a kill
    fresh = Store(tmp_path)
    with fresh.locked():
        assert fresh.recover() == []
    assert not (tmp_path / "meta" / "network-summary.packed").exists()
    assert Repo(fresh).network_summary().all_subnets() == ["10.1.0.0/24", "10.2.0.0/24"]  # from the records


def test_forget_derived_removes_the_packed_summary(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _create(store, _net(1, "10.1.0.0/24"))
    assert (tmp_path / "meta" / "network-summary.packed").exists()
    with store.locked():
        store.forget_derived()
    assert not (tmp_path / "meta" / "network-summary.packed").exists()

"""Cluster membership bookkeeping without a kernel: sync's local copies, Peers, node removal."""

from __future__ import annotations

import json

import pytest

from pynet.cnm import cluster
from pynet.records.model import Endpoint, Network, to_dict
from pynet.cnm.repo import Repo
from pynet.drivers.ipam import cluster as gipam
from pynet.errors import Conflict, Forbidden, NotFound
from pynet.state import etcd as kv
from pynet.state.store import Store

from test_overlay_etcd import FakeEtcd, overlay

pytestmark = pytest.mark.unit
ME, OTHER = "aaaaaaaaaaaa", "bbbbbbbbbbbb"


class Ctl:
    """The bits of the Controller the cluster service uses."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def mutation(self):  # noqa: ANN201 - a tiny stand-in
        import contextlib

        @contextlib.contextmanager
        def run():
            with self.store.locked():
                txn = self.store.begin()
                yield Repo(self.store, txn), None
                txn.commit()

        return run()


@pytest.fixture
def env(tmp_path, monkeypatch):
    fake = FakeEtcd()
    monkeypatch.setattr(kv, "client", lambda cfg, timeout=3.0: fake)
    dropped: list[str] = []
    monkeypatch.setattr("pynet.drivers.overlay.remove_local", lambda net: dropped.append(net.name))
    monkeypatch.setattr(cluster, "_ensure_daemon", lambda notifier: None)
    store = Store(tmp_path / "state")
    kv.save_config(store.root, kv.ClusterConfig("etcd://s:2379", "203.0.113.1", ME, "h1-" + ME, "h1"))
    for node, addr in ((ME, "203.0.113.1"), (OTHER, "203.0.113.2")):
        fake.put(kv.node_key(node), {"id": node, "name": f"h-{node}", "hostname": "h", "addr": addr})
        fake.put(kv.alive_key(node), {"addr": addr})
    return fake, Ctl(store), dropped


def synced(ctl: Ctl) -> Repo:
    with ctl.mutation() as (repo, undo):
        cluster.sync(repo, undo)
    return Repo(ctl.store)


def test_sync_copies_global_networks_in_and_out(env):
    fake, ctl, dropped = env
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(fake, net, host_used=[])
    ep = Endpoint("e" * 64, net.id, "c" * 64, "web")
    gipam.allocate(fake, net, ep, OTHER, "", "")
    gipam.register_endpoint(fake, net, OTHER, {"id": ep.id, "mac": "02:42:0a:0a:00:02"})
    repo = synced(ctl)
    copy = repo.find_network("ov1")
    assert copy is not None and copy.scope == "global" and copy.driver_data["vni"] == 4096
    assert copy.driver_data["peers"] == [{"Name": f"h-{OTHER}", "IP": "203.0.113.2"}]
    fake.delete(kv.alive_key(OTHER))  # that node went down: no longer a peer
    assert "peers" not in synced(ctl).find_network("ov1").driver_data
    kv.release_addresses(fake, net.id, ep.id)
    gipam.unregister_network(fake, net)  # removed on another host
    assert synced(ctl).find_network("ov1") is None and dropped == ["ov1"]


def test_a_local_name_hides_a_global_network(env):
    fake, ctl, _ = env
    with ctl.mutation() as (repo, _undo):
        repo.put_network(Network("1" * 64, "ov1", "bridge", "2024-01-01T00:00:00Z"))
    gipam.register_network(fake, overlay("ov1", "10.10.0.0/24"), host_used=[])
    from pynet.firewall.hooks import NOTICES

    NOTICES.clear()
    assert synced(ctl).find_network("ov1").driver == "bridge"
    assert any("hidden on this node" in n for n in NOTICES)


def test_an_unreachable_store_keeps_the_last_copies(env, monkeypatch):
    fake, ctl, _ = env
    gipam.register_network(fake, overlay("ov1", "10.10.0.0/24"), host_used=[])
    synced(ctl)

    def down(path, body):
        raise fake.unreachable("connection refused")

    monkeypatch.setattr(fake, "call", down)
    assert synced(ctl).find_network("ov1") is not None


def test_listing_nodes_needs_membership(env):
    _, ctl, _ = env
    kv.remove_config(ctl.store.root)
    with pytest.raises(Forbidden, match="not part of a cluster"):
        cluster.nodes(ctl)


def test_nodes_and_removing_a_dead_one(env):
    fake, ctl, _ = env
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(fake, net, host_used=[])
    ep = Endpoint("e" * 64, net.id, "c" * 64, "web")
    gipam.allocate(fake, net, ep, OTHER, "", "")
    gipam.register_endpoint(fake, net, OTHER, {"id": ep.id})
    views = {n.id: n for n in cluster.nodes(ctl)}
    assert views[ME].self and views[ME].alive and views[OTHER].alive
    with pytest.raises(Conflict, match="is not down"):
        cluster.remove_node(ctl, OTHER)
    with pytest.raises(Conflict, match="cannot remove itself"):
        cluster.remove_node(ctl, ME)
    with pytest.raises(NotFound):
        cluster.remove_node(ctl, "nope")
    fake.delete(kv.alive_key(OTHER))
    assert not {n.id: n for n in cluster.nodes(ctl)}[OTHER].alive
    # down may be only cut off (a partition): its addresses are not handed out without --force
    with pytest.raises(Conflict, match="may only be cut off from the cluster store.*Use --force"):
        cluster.remove_node(ctl, "203.0.113.2")
    assert [k for k in fake.data if k.startswith(kv.IPAM)], "nothing was removed"
    cluster.remove_node(ctl, "203.0.113.2", force=True)
    assert [n.id for n in cluster.nodes(ctl)] == [ME]
    assert not [k for k in fake.data if k.startswith((kv.IPAM, kv.ENDPOINTS))]
    gipam.unregister_network(fake, net)  # nothing holds it any more


def test_records_are_json_in_the_store(env):
    fake, _, _ = env
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(fake, net, host_used=[])
    stored = json.loads(fake.data[kv.network_key(net.id)][0])
    assert stored["name"] == "ov1" and "peers" not in stored["driver_data"]
    assert stored == {**to_dict(net), "driver_data": {"vni": 4096}}


def test_cluster_join_without_a_required_flag_is_a_usage_error(capsys):
    from pynet.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["cluster", "join", "--store", "etcd://10.0.0.10:2379"])
    out, err = capsys.readouterr()
    assert (info.value.code, out) == (125, "")
    assert err == (
        "pynet cluster join: required flag(s) \"advertise-addr\" not set\nSee 'pynet cluster join --help'.\n"
    )


def test_cluster_join_refuses_a_store_without_scheme_colon(capsys, monkeypatch):
    from pynet.cli.main import main

    looked_up: list[str] = []
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: looked_up.append(a[0]) or [])
    with pytest.raises(SystemExit) as info:
        main(["cluster", "join", "--store", "etcd//10.0.0.10", "--advertise-addr", "10.0.0.1"])
    out, err = capsys.readouterr()
    assert (info.value.code, out, looked_up) == (1, "", [])
    assert "invalid cluster store address 'etcd//10.0.0.10': use etcd://HOST:PORT" in err


def test_a_returning_node_takes_back_only_free_addresses(env):
    fake, _, _ = env
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(fake, net, host_used=[])
    kept = Endpoint("e" * 64, net.id, "c" * 64, "k3", ipv4="10.10.0.5/24")
    lost = Endpoint("f" * 64, net.id, "d" * 64, "b3", ipv4="10.10.0.3/24")
    fake.put(kv.ipam_key(net.id, "10.10.0.3"), {"endpoint": "1" * 64, "node": OTHER})  # handed out again
    assert cluster._reclaim(fake, net, kept, ME)
    assert fake.get(kv.ipam_key(net.id, "10.10.0.5")).json() == {"endpoint": kept.id, "node": ME}
    assert cluster._reclaim(fake, net, kept, ME)  # already its own: still fine
    assert not cluster._reclaim(fake, net, lost, ME)
    assert fake.get(kv.ipam_key(net.id, "10.10.0.3")).json()["node"] == OTHER
    gone = overlay("ov2", "10.20.0.0/24")  # not in the store (never registered)
    assert cluster._reclaim(fake, gone, Endpoint("a" * 64, gone.id, "c" * 64, "x", ipv4="10.20.0.2/24"), ME) is None

"""The daemon's view of pynet state: which sandboxes are served and what they see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pynet.records.model import Container, Endpoint, Network, to_dict
from pynet.daemon.registry import Registry
from pynet.dns import wire
from pynet.state.store import SCHEMA_VERSION, Store, atomic_write

pytestmark = pytest.mark.unit

NOW = "2024-01-01T00:00:00.000000000Z"


class State:
    """Writes state records the way pynet's store lays them out."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = Store(root)
        self.netns_dir = root / "netns"
        self.netns_dir.mkdir(parents=True)

    def put(self, kind: str, record: dict) -> None:
        atomic_write(
            self.root / kind / f"{record['id']}.json", {"schema_version": SCHEMA_VERSION, **record}, sync=False
        )

    def delete(self, kind: str, obj_id: str) -> None:
        os.unlink(self.root / kind / f"{obj_id}.json")

    def network(
        self,
        name: str,
        *,
        driver: str = "bridge",
        internal: bool = False,
        builtin: bool = False,
        embedded_dns: bool = True,
    ) -> str:
        nid = f"{name:0<64}"[:64]
        net = Network(nid, name, driver, NOW, internal=internal, builtin=builtin, embedded_dns=embedded_dns)
        self.put("networks", to_dict(net))
        return nid

    def container(
        self,
        name: str,
        networks: dict[str, str],
        *,
        status: str = "running",
        hostname: str = "",
        aliases: dict[str, list[str]] | None = None,
        dns: list[str] | None = None,
    ) -> str:
        cid = f"{name.encode().hex():a<64}"[:64]
        netns = self.netns_dir / name
        netns.touch()
        endpoints = {}
        for nid, ip in networks.items():
            eid = f"e{cid[:20]}{nid[:20]}".ljust(64, "0")
            self.put("endpoints", to_dict(Endpoint(eid, nid, cid, name, ipv4=ip, aliases=(aliases or {}).get(nid, []))))
            endpoints[nid] = eid
        self.put(
            "containers",
            to_dict(
                Container(
                    cid,
                    name,
                    NOW,
                    "sh",
                    hostname=hostname or cid[:12],
                    netns_path=str(netns),
                    endpoints=endpoints,
                    status=status,
                    dns=dns or [],
                )
            ),
        )
        return cid


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> State:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\nnameserver 10.9.9.9\nnameserver ::1\n")
    monkeypatch.setenv("PYNET_RESOLV_CONF", str(resolv))
    return State(tmp_path / "state")


def ask(reg: Registry, cid: str, name: str, qtype: int = wire.TYPE_A):
    """The local answer the sandbox of ``cid`` gives for ``name`` (None = not ours)."""
    view = reg.views[reg.plans[cid].view_key]
    return view.lookup(name, qtype)


def addresses(answer) -> list[str]:
    return [".".join(map(str, rr[-4:])) for rr in answer.records]


def test_containers_resolve_each_other_only_on_shared_networks(state):
    n1, n2 = state.network("net1"), state.network("net2")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    state.container("c2", {n1: "172.18.0.3/16"})
    c3 = state.container("c3", {n2: "172.28.0.2/16"})
    reg = Registry(state.store)
    reg.resync()
    assert addresses(ask(reg, c1, "c2")) == ["172.18.0.3"]
    assert ask(reg, c1, "c3") is None and "c3" in reg.held
    assert ask(reg, c3, "c1") is None


def test_default_bridge_and_host_networks_get_no_dns(state):
    bridge = state.network("bridge", builtin=True)
    host = state.network("host", driver="host", builtin=True)
    n1 = state.network("net1")
    d1 = state.container("d1", {bridge: "172.17.0.2/16"})
    h1 = state.container("h1", {host: ""})
    both = state.container("both", {bridge: "172.17.0.3/16", n1: "172.18.0.4/16"})
    reg = Registry(state.store)
    reg.resync()
    assert d1 not in reg.plans and h1 not in reg.plans
    assert reg.plans[both].view_key == (n1,)
    assert ask(reg, both, "d1") is None


def test_aliases_hostname_and_short_id_resolve(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"}, hostname="db-host", aliases={n1: ["db", "primary"]})
    reg = Registry(state.store)
    reg.resync()
    for name in ("c1", "db", "primary", "db-host", c1[:12]):
        assert addresses(ask(reg, c1, name)) == ["172.18.0.2"], name


def test_only_created_or_running_containers_with_a_netns_count(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    state.container("gone", {n1: "172.18.0.5/16"}, status="exited")
    nons = state.container("nons", {n1: "172.18.0.6/16"})
    os.unlink(state.netns_dir / "nons")
    reg = Registry(state.store)
    reg.resync()
    assert ask(reg, c1, "gone") is None and ask(reg, c1, "nons") is None
    assert nons not in reg.plans


def test_sync_picks_up_a_new_container_and_a_removed_one(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    reg = Registry(state.store)
    reg.resync()
    c2 = state.container("c2", {n1: "172.18.0.3/16"})
    reg.sync([c2])
    assert addresses(ask(reg, c1, "c2")) == ["172.18.0.3"]
    state.delete("containers", c2)
    reg.sync([c2])
    assert ask(reg, c1, "c2") is None and c2 not in reg.plans
    assert "c2" not in reg.held


def test_sync_rebuilds_only_the_affected_networks(state):
    n1, n2 = state.network("net1"), state.network("net2")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    c3 = state.container("c3", {n2: "172.28.0.2/16"})
    reg = Registry(state.store)
    reg.resync()
    view2 = reg.views[reg.plans[c3].view_key]
    view1 = reg.views[reg.plans[c1].view_key]
    reg.sync([state.container("c2", {n1: "172.18.0.3/16"})])
    assert reg.views[reg.plans[c3].view_key] is view2  # untouched network: same tables/caches
    assert reg.views[reg.plans[c1].view_key] is not view1  # net1 rebuilt


def test_disconnect_moves_names_out_of_scope(state):
    n1, n2 = state.network("net1"), state.network("net2")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    c2 = state.container("c2", {n1: "172.18.0.3/16", n2: "172.28.0.3/16"})
    reg = Registry(state.store)
    reg.resync()
    assert addresses(ask(reg, c1, "c2")) == ["172.18.0.3"]
    state.container("c2", {n2: "172.28.0.3/16"})  # rewritten: disconnected from net1
    reg.sync([c2])
    assert ask(reg, c1, "c2") is None
    assert reg.plans[c2].view_key == (n2,)


def test_dns_follows_the_drivers_recorded_ability_not_its_name(state):
    """The core records ``Driver.embedded_dns`` in the network; the daemon reads only that."""
    quiet = state.network("quiet", driver="tiny", embedded_dns=False)
    served = state.network("served", driver="tiny")  # positive control: same driver name
    q1 = state.container("q1", {quiet: "10.6.0.2/24"})
    both = state.container("both", {quiet: "10.6.0.3/24", served: "10.7.0.3/24"})
    reg = Registry(state.store)
    reg.resync()
    assert q1 not in reg.plans
    assert reg.plans[both].view_key == (served,)
    assert ask(reg, both, "q1") is None


def test_internal_only_containers_do_not_forward(state):
    n1 = state.network("net1")
    internal = state.network("secret", internal=True)
    c1 = state.container("c1", {internal: "10.5.0.2/24"})
    c2 = state.container("c2", {internal: "10.5.0.3/24", n1: "172.18.0.3/16"})
    reg = Registry(state.store)
    reg.resync()
    assert reg.plans[c1].can_forward is False
    assert reg.plans[c2].can_forward is True


def test_upstreams_are_the_containers_dns_else_the_hosts_without_loopback(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    c2 = state.container("c2", {n1: "172.18.0.3/16"}, dns=["192.0.2.53", "bogus", "127.0.0.1"])
    reg = Registry(state.store)
    reg.resync()
    assert reg.upstreams_for(reg.plans[c1]) == ("10.9.9.9",)
    assert reg.upstreams_for(reg.plans[c2]) == ("192.0.2.53", "127.0.0.1")


def test_a_corrupt_record_does_not_stop_the_rest(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    (state.root / "containers" / ("f" * 64 + ".json")).write_text("{not json")
    reg = Registry(state.store)
    reg.resync()
    assert addresses(ask(reg, c1, "c1")) == ["172.18.0.2"]


def test_a_name_that_joins_a_network_is_not_shadowed_by_an_upstream_answer_held_for_it(state):
    n1 = state.network("net1")
    c1 = state.container("c1", {n1: "172.18.0.2/16"})
    reg = Registry(state.store)
    reg.resync()
    view = reg.views[reg.plans[c1].view_key]
    data = wire.build_query("db.example.test", wire.TYPE_A)
    assert ask(reg, c1, "db.example.test") is None  # not ours: forwarded, and its answer kept
    reply = wire.build_response(wire.parse_query(data), wire.NOERROR, [wire.rr_a("192.0.2.80", 600)])
    view.forward_cache(("10.9.9.9",)).store(data[2:], reply, 0.0)
    view.forward_cache(("10.9.9.9",)).refresh(data[2:], 0.0)
    assert data[2:] in view.forward_cache(("10.9.9.9",)).hot
    reg.sync([state.container("c2", {n1: "172.18.0.3/16"}, aliases={n1: ["db.example.test"]})])
    new = reg.views[reg.plans[c1].view_key]
    assert new is not view and not new.forward_cache(("10.9.9.9",)).hot  # a new view keeps nothing
    assert addresses(ask(reg, c1, "db.example.test")) == ["172.18.0.3"]

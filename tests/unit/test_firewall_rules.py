"""The nft text pynet generates, element-level changes, and the policy around them.

A recording fake stands in for ``pynet.kernel.nft`` here; the kernel's answer to
these scripts is proved in tests/integration/test_firewall.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from pynet.records.model import Endpoint, IPAMPool, Network, PortBinding
from pynet.firewall import policy as fw
from pynet.errors import Conflict, InvalidArgument, Unavailable
from pynet.kernel import nft

pytestmark = pytest.mark.unit

PB = PortBinding


def _net(br: str = "br-a", subnet: str = "172.18.0.0/16", **kw: Any) -> Network:
    pools = [IPAMPool(subnet=subnet, gateway=subnet.replace("0.0/16", "0.1").replace("0/24", "1"))]
    if kw.pop("ipv6", False):
        pools.append(IPAMPool(subnet="fd00:1::/64", gateway="fd00:1::1"))
        kw["enable_ipv6"] = True
    return Network(
        id="a" * 64,
        name=kw.pop("name", "mynet"),
        driver="bridge",
        created="",
        ipam_config=pools,
        driver_data={"bridge": br},
        **kw,
    )


def _ep(ipv4: str = "172.18.0.5/16", ipv6: str = "") -> Endpoint:
    return Endpoint(
        id="e" * 64,
        network_id="a" * 64,
        container_id="c" * 64,
        name="web1",
        ipv4=ipv4,
        ipv6=ipv6,
        driver_data={"host_ifname": "veth1a2b3c4"},
    )


class FakeNft:
    """Records scripts; answers listings from ``tables`` (family name -> nft -j objects)."""

    def __init__(self) -> None:
        self.scripts: list[str] = []
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.chain_list: list[dict[str, Any]] = []
        self.sysctls: dict[str, str] = {"net/ipv4/ip_forward": "0", "net/ipv4/conf/br-a/route_localnet": "0"}
        self.listeners: set[tuple[str, str, int]] = set()
        self.fail: nft.NftError | None = None
        self.events: list[str] = []
        self.legacy: dict[str, list[str]] = {}

    def run(self, script: str) -> None:
        if not script.strip():
            return
        self.events.append("run")
        if self.fail:
            err, self.fail = self.fail, None
            raise err
        self.scripts.append(script)

    def try_list_json(self, what: str) -> list[dict[str, Any]] | None:
        return self.tables.get(what)

    def table_exists(self, family: str, name: str) -> bool:
        return f"table {family} {name}" in self.tables

    def elements(self, family: str, table: str, name: str, limit: int | None = None) -> Any:
        return nft.elements_from_listing(self.tables.get(f"table {family} {table}"), name)

    def chain_rules(self, family: str, table: str, chain: str) -> Any:
        return nft.rules_from_listing(self.tables.get(f"chain {family} {table} {chain}"))

    def write_sysctl(self, name: str, value: str) -> bool:
        changed = self.sysctls.get(name) != value
        self.sysctls[name] = value
        return changed


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeNft:
    f = FakeNft()
    monkeypatch.setattr(nft, "run", f.run)
    monkeypatch.setattr(nft, "try_list_json", f.try_list_json)
    monkeypatch.setattr(nft, "table_exists", f.table_exists)
    monkeypatch.setattr(nft, "elements", f.elements)
    monkeypatch.setattr(nft, "chain_rules", f.chain_rules)
    monkeypatch.setattr(nft, "chains", lambda: f.chain_list)
    monkeypatch.setattr(nft, "read_sysctl", lambda name: f.sysctls.get(name))
    monkeypatch.setattr(nft, "write_sysctl", f.write_sysctl)
    monkeypatch.setattr(nft, "host_listeners", lambda: f.listeners)
    monkeypatch.setattr(nft, "legacy_filter_rules", lambda family: f.legacy.get(family))
    return f


class Log:
    def __init__(self, fake: FakeNft | None = None) -> None:
        self.items: list[dict[str, Any]] = []
        self.fake = fake

    def add(self, resource: dict[str, Any]) -> None:
        self.items.append(resource)
        if self.fake:
            self.fake.events.append("undo.add")


# -- the skeleton ----------------------------------------------------------------------


def test_skeleton_is_idempotent_and_only_touches_pynet_tables() -> None:
    text = fw.inet_skeleton() + fw.bridge_skeleton()
    for line in text.splitlines():
        assert line.split()[0] in ("add", "flush"), line
        assert line.split()[3] == "pynet", line
    # every chain is flushed right after being declared: re-running never duplicates rules
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("add chain"):
            assert lines[i + 1] == "flush " + " ".join(line.split()[1:5]), line
    assert "policy drop" not in text  # pynet never sets a drop policy


def test_skeleton_hooks_and_key_rules() -> None:
    text = fw.inet_skeleton()
    for hook in (
        "type filter hook prerouting priority raw",
        "type nat hook prerouting priority dstnat",
        "type nat hook output priority -100",
        "type nat hook postrouting priority srcnat",
        "type filter hook forward priority filter",
    ):
        assert hook in text
    rules = [line.split(" ", 5)[5] for line in text.splitlines() if line.startswith("add rule")]
    assert "dnat ip to meta l4proto . th dport map @pub4_any" in rules
    assert "ip saddr @masq4 ip saddr . oifname != @subnets4 masquerade" in rules
    assert 'iifname != "lo" ip daddr 127.0.0.0/8 return' in rules
    forward = [
        r
        for line in text.splitlines()
        if line.startswith("add rule inet pynet forward")
        for r in [line.split(" ", 5)[5]]
    ]
    # internal first, then replies, icc, published, and the final "only published" drop
    assert (
        forward[0].startswith("iifname @internal") and forward[-1] == "oifname @bridges iifname . oifname != @same drop"
    )
    assert forward.index("iifname @noicc iifname . oifname @same drop") < forward.index(
        "oifname @bridges ct status dnat accept"
    )


# -- elements --------------------------------------------------------------------------


def test_network_elements_default() -> None:
    assert fw.network_elements(_net()) == [
        ("inet", "bridges", '"br-a"', None),
        ("inet", "same", '"br-a" . "br-a"', None),
        ("inet", "subnets4", '172.18.0.0/16 . "br-a"', None),
        ("inet", "masq4", "172.18.0.0/16", None),
    ]


def test_network_elements_internal_icc_false_ipv6() -> None:
    net = _net(internal=True, ipv6=True, options={fw.ICC: "false"})
    elems = fw.network_elements(net)
    assert ("inet", "internal", '"br-a"', None) in elems
    assert ("inet", "noicc", '"br-a"', None) in elems
    assert ("bridge", "noicc4", "172.18.0.0/16", None) in elems
    assert ("bridge", "noicc6", "fd00:1::/64", None) in elems
    assert ("inet", "subnets6", 'fd00:1::/64 . "br-a"', None) in elems
    assert not [e for e in elems if e[1].startswith("masq")]  # internal: no masquerade


def test_masquerade_off_by_option() -> None:
    elems = fw.network_elements(_net(options={fw.MASQ: "false"}))
    assert not [e for e in elems if e[1].startswith("masq")]


def test_bridge_name_is_validated_before_it_reaches_nft() -> None:
    with pytest.raises(InvalidArgument):
        fw.network_elements(_net(br='br"; flush ruleset'))


def test_publish_elements_and_scripts() -> None:
    bindings = [PB(80, "tcp", "", 8080), PB(90, "udp", "127.0.0.1", 9090), PB(80, "tcp", "192.0.2.10", 8081)]
    elems = fw.publish_elements(_net(), _ep(ipv6="fd00:1::5/64"), bindings)
    assert fw.add_script(elems) == (
        "add element inet pynet pub4_any { tcp . 8080 : 172.18.0.5 . 80 }\n"
        "add element inet pynet pub6_any { tcp . 8080 : fd00:1::5 . 80 }\n"
        "add element inet pynet pub4_ip { 127.0.0.1 . udp . 9090 : 172.18.0.5 . 90 }\n"
        "add element inet pynet lo_pub4 { 127.0.0.1 . udp . 9090 }\n"
        "add element inet pynet pub4_ip { 192.0.2.10 . tcp . 8081 : 172.18.0.5 . 80 }\n"
    )
    delete = fw.delete_script(elems[:1])
    assert delete == (
        "add element inet pynet pub4_any { tcp . 8080 : 172.18.0.5 . 80 }\n"
        "delete element inet pynet pub4_any { tcp . 8080 }\n"
    )


def test_host_binding_ipv4_option_is_the_default_address() -> None:
    net = _net(options={fw.HOST_BINDING: "192.0.2.10"})
    elems = fw.publish_elements(net, _ep(), [PB(80, "tcp", "", 8080)])
    assert elems == [("inet", "pub4_ip", "192.0.2.10 . tcp . 8080", "172.18.0.5 . 80")]


def test_element_cost_does_not_grow_with_containers() -> None:
    one = fw.publish_elements(_net(), _ep(), [PB(80, "tcp", "", 8080)])
    assert len(one) == 1  # one map element per binding, never a new rule


# -- setup / publish / teardown against the fake ---------------------------------------


def test_setup_network_logs_undo_first_then_one_transaction(fake: FakeNft) -> None:
    log = Log(fake)
    notices = fw.setup_network(_net(), log)
    assert fake.events == ["undo.add", "run"]
    assert log.items == [{"kind": "nft", "op": "network", "elements": [list(e) for e in fw.network_elements(_net())]}]
    (script,) = fake.scripts
    assert script.startswith(fw.inet_skeleton()) and "table bridge" not in script
    assert script.endswith("add element inet pynet masq4 { 172.18.0.0/16 }\n")
    assert any("net.ipv4.ip_forward=1" in n for n in notices)
    assert fake.sysctls["net/ipv4/conf/br-a/route_localnet"] == "1"
    assert fw.setup_network(_net(), Log()) == []  # forwarding already on: no notice


def test_setup_internal_leaves_forwarding_alone(fake: FakeNft) -> None:
    assert fw.setup_network(_net(internal=True), Log()) == []
    assert fake.sysctls["net/ipv4/ip_forward"] == "0"


def test_setup_icc_false_adds_the_bridge_table(fake: FakeNft) -> None:
    fw.setup_network(_net(options={fw.ICC: "false"}), Log())
    assert fw.bridge_skeleton() in fake.scripts[0]
    assert "add element bridge pynet noicc4 { 172.18.0.0/16 }" in fake.scripts[0]


def test_setup_warns_about_ipv6_forwarding_instead_of_changing_it(fake: FakeNft) -> None:
    fake.sysctls["net/ipv6/conf/all/forwarding"] = "0"
    notices = fw.setup_network(_net(ipv6=True), Log())
    assert any("net.ipv6.conf.all.forwarding" in n and n.startswith("WARNING") for n in notices)
    assert fake.sysctls["net/ipv6/conf/all/forwarding"] == "0"


def test_publish_requires_allocated_ports_and_skips_internal(fake: FakeNft) -> None:
    with pytest.raises(InvalidArgument):
        fw.publish(_net(), _ep(), [PB(80)], Log())
    fw.publish(_net(internal=True), _ep(), [PB(80, host_port=8080)], Log())
    assert fake.scripts == []


def test_publish_heals_the_network_and_maps_conflicts(fake: FakeNft) -> None:
    log = Log()
    fw.publish(_net(), _ep(), [PB(80, "tcp", "", 8080)], log)
    assert log.items[0]["op"] == "publish"
    assert 'add element inet pynet bridges { "br-a" }' in fake.scripts[0]
    assert "add element inet pynet pub4_any { tcp . 8080 : 172.18.0.5 . 80 }" in fake.scripts[0]
    fake.fail = nft.NftError("x", "Error: Could not process rule: File exists")
    fake.tables["table inet pynet"] = [
        {"map": {"name": "pub4_any", "elem": [[{"concat": ["tcp", 8080]}, {"concat": ["172.18.0.9", 80]}]]}}
    ]
    with pytest.raises(Conflict, match=r"^Bind for 0\.0\.0\.0:8080 failed: port is already allocated$"):
        fw.publish(_net(), _ep(), [PB(80, "tcp", "", 8080)], Log())


def test_unpublish_is_idempotent_and_spares_a_key_now_owned_by_another(fake: FakeNft) -> None:
    fw.unpublish(_net(), _ep(), [PB(80, "tcp", "", 8080)])
    assert fake.scripts == []  # no table: nothing to do
    fake.tables["table inet pynet"] = []
    fake.fail = nft.NftError("x", "Error: Could not process rule: File exists")
    fw.unpublish(_net(), _ep(), [PB(80, "tcp", "", 8080), PB(81, "tcp", "", 8081)])
    # the batch failed (8080 belongs to someone else now); each element was retried alone
    assert len(fake.scripts) == 2 and "8081" in fake.scripts[1]


LISTING = [
    {"set": {"name": "bridges", "elem": ["br-a", "br-b"]}},
    {
        "map": {
            "name": "pub4_any",
            "elem": [
                [{"concat": ["tcp", 8080]}, {"concat": ["172.18.0.5", 80]}],
                [{"concat": ["tcp", 9000]}, {"concat": ["10.9.0.2", 80]}],
            ],
        }
    },
    {"map": {"name": "pub4_ip", "elem": [[{"concat": ["127.0.0.1", "udp", 9090]}, {"concat": ["172.18.0.5", 90]}]]}},
]


def test_teardown_removes_its_elements_and_stale_dnat(fake: FakeNft) -> None:
    fake.tables["table inet pynet"] = LISTING
    fw.teardown_network(_net())
    (script,) = fake.scripts
    assert 'delete element inet pynet bridges { "br-a" }' in script
    assert "delete element inet pynet pub4_any { tcp . 8080 }" in script
    assert "delete element inet pynet pub4_ip { 127.0.0.1 . udp . 9090 }" in script
    assert "delete element inet pynet lo_pub4 { 127.0.0.1 . udp . 9090 }" in script
    assert "9000" not in script  # another network's mapping
    assert "delete table" not in script


def test_teardown_of_the_last_network_drops_the_tables(fake: FakeNft) -> None:
    fake.tables["table inet pynet"] = [{"set": {"name": "bridges", "elem": ["br-a"]}}]
    fake.tables["table bridge pynet"] = [
        {"set": {"name": "noicc4", "elem": [{"prefix": {"addr": "172.18.0.0", "len": 16}}]}}
    ]
    fw.teardown_network(_net(options={fw.ICC: "false"}))
    assert fake.scripts == ["delete table inet pynet\ndelete table bridge pynet\n"]
    fake.tables.clear()
    fake.scripts.clear()
    fw.teardown_network(_net())  # idempotent: nothing there, nothing run
    assert fake.scripts == []


def test_teardown_removes_its_docker_user_rules(fake: FakeNft) -> None:
    fake.chain_list = [{"family": "ip", "table": "filter", "name": "DOCKER-USER"}]
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": 7, "comment": "pynet:br-a"}},
        {"rule": {"handle": 8, "comment": "pynet:br-b"}},
        {"rule": {"handle": 9}},
    ]
    fw.teardown_network(_net())
    assert fake.scripts == ["delete rule ip filter DOCKER-USER handle 7\n"]


def test_undo_of_a_network_prunes_empty_tables(fake: FakeNft) -> None:
    log = Log()
    fw.setup_network(_net(), log)
    fake.scripts.clear()
    fake.tables["table inet pynet"] = [{"set": {"name": "bridges"}}]
    fw.undo_resource(log.items[0])
    assert fake.scripts[0] == fw.delete_script(fw.network_elements(_net()))
    assert fake.scripts[1] == "delete table inet pynet\n"


def test_reload_rebuilds_from_the_given_records_only(fake: FakeNft) -> None:
    fw.reload([_net()], [(_net(), _ep(), [PB(80, "tcp", "", 8080)])])
    (script,) = fake.scripts
    assert script.startswith(
        "add table inet pynet\ndelete table inet pynet\nadd table bridge pynet\ndelete table bridge pynet\n"
    )
    assert script.count("add element inet pynet pub4_any") == 1
    fake.scripts.clear()
    fw.reload([], [])
    assert fake.scripts == [
        "add table inet pynet\ndelete table inet pynet\nadd table bridge pynet\ndelete table bridge pynet\n"
    ]


# -- host ports ------------------------------------------------------------------------


def test_allocate_fixed_random_and_ranges(fake: FakeNft) -> None:
    fake.listeners = {("0.0.0.0", "tcp", 49153), ("::", "tcp", 49155)}
    got = fw.allocate_host_ports([PB(80, host_port=8080), PB(81), PB(82), PB(53, "udp")], {("", "tcp", 49154)})
    assert [b.host_port for b in got] == [8080, 49156, 49157, 49153]
    ranged = PB(80, host_port=8000)
    ranged.host_port_end = 8002  # type: ignore[attr-defined]
    got = fw.allocate_host_ports([ranged], {("", "tcp", 8000)})
    assert got[0].host_port == 8001
    with pytest.raises(Conflict, match="^all ports are allocated$"):
        fw.allocate_host_ports([ranged], {("", "tcp", p) for p in (8000, 8001, 8002)})


def test_allocate_conflicts_use_dockers_words(fake: FakeNft) -> None:
    with pytest.raises(Conflict, match=r"^Bind for 0\.0\.0\.0:8080 failed: port is already allocated$"):
        fw.allocate_host_ports([PB(80, host_port=8080)], {("127.0.0.1", "tcp", 8080)})
    with pytest.raises(Conflict, match=r"^Bind for 127\.0\.0\.1:8080 failed: port is already allocated$"):
        fw.allocate_host_ports([PB(80, host_port=8080), PB(81, "tcp", "127.0.0.1", 8080)], set())
    # different address, or different protocol: no clash
    fw.allocate_host_ports([PB(80, "tcp", "127.0.0.1", 8080)], {("192.0.2.1", "tcp", 8080), ("", "udp", 8080)})
    fake.listeners = {("127.0.0.1", "tcp", 5432), ("::", "udp", 53)}
    with pytest.raises(
        Conflict,
        match=r"^Error starting userland proxy: listen tcp4 0\.0\.0\.0:5432: "
        r"bind: address already in use$",
    ):
        fw.allocate_host_ports([PB(5432, host_port=5432)], set())
    with pytest.raises(Conflict, match=r"listen udp6 \[::1\]:53: bind: address already in use$"):
        fw.allocate_host_ports([PB(53, "udp", "::1", 53)], set())


def test_proc_net_parsing() -> None:
    tcp = (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
        "   1: 0100007F:A1B2 0200007F:1F90 01 00000000:00000000 00:00000000 00000000\n"
    )
    assert nft.parse_proc_net(tcp, "tcp", True) == {("127.0.0.1", "tcp", 5432)}
    tcp6 = (
        "  sl  local_address                         remote_address\n"
        "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0\n"
        "   1: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 0\n"
    )
    assert nft.parse_proc_net(tcp6, "tcp", True) == {("::", "tcp", 80), ("127.0.0.1", "tcp", 81)}


# -- other tables ----------------------------------------------------------------------

DOCKER_CHAINS = [
    {"family": "ip", "table": "filter", "name": "FORWARD", "hook": "forward", "policy": "drop", "type": "filter"},
    {"family": "ip", "table": "filter", "name": "DOCKER-USER"},
    {"family": "ip", "table": "filter", "name": "INPUT", "hook": "input", "policy": "drop", "type": "filter"},
    {"family": "inet", "table": "pynet", "name": "forward", "hook": "forward", "policy": "accept"},
    {"family": "inet", "table": "fw", "name": "fwd", "hook": "forward", "policy": "drop", "type": "filter"},
]


def test_foreign_warnings(fake: FakeNft) -> None:
    fake.chain_list = DOCKER_CHAINS
    warnings = fw.foreign_warnings()
    assert warnings == [
        "WARNING: table ip filter chain FORWARD has policy drop: it will drop forwarded traffic of pynet "
        "networks; run `pynet system firewall-allow-docker` to add accept rules for pynet's bridges to "
        "table ip filter chain DOCKER-USER",
        "WARNING: table inet fw chain fwd has policy drop: it will drop forwarded traffic of pynet "
        "networks; run `pynet system firewall-allow-docker` to add accept rules for pynet's bridges to "
        "table inet fw chain fwd",
    ]
    # a chain that already accepts the bridge needs no warning
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": h, "comment": f"pynet:br-a {k}"}} for h, k in enumerate(["in", "out", "out", "out"])
    ]
    assert [w for w in fw.foreign_warnings(["br-a"]) if "DOCKER-USER" in w] == []
    fake.chain_list = []
    assert fw.foreign_warnings() == []


def _in(br: str) -> str:
    return f'oifname "{br}" accept comment "pynet:{br} in"'


def _outs(br: str) -> list[str]:
    tag = f'comment "pynet:{br} out"'
    return [
        f'iifname "{br}" oifname "docker0" return {tag}',
        f'iifname "{br}" oifname "br-*" return {tag}',
        f'iifname "{br}" accept {tag}',
    ]


def test_setup_network_opens_docker_user_narrowly_and_logs_undo_first(fake: FakeNft) -> None:
    fake.chain_list = DOCKER_CHAINS[:4]
    fake.tables["chain ip filter DOCKER-USER"] = [{"rule": {"handle": 9}}]  # Docker's `-j RETURN`
    log = Log(fake)
    notices = fw.setup_network(_net(), log)
    where = "ip filter DOCKER-USER"
    assert fake.scripts[-1] == (
        f"insert rule {where} {_in('br-a')}\n" + "".join(f"insert rule {where} position 9 {r}\n" for r in _outs("br-a"))
    )
    assert log.items[-1] == {"kind": "nft", "op": "foreign", "bridge": "br-a"}
    assert fake.events[-2:] == ["undo.add", "run"]
    said = [n for n in notices if "DOCKER-USER" in n and not n.startswith("WARNING")]  # (the fake keeps no rules)
    assert len(said) == 1 and "table ip filter chain DOCKER-USER: br-a" in said[0]
    assert "PYNET_FOREIGN_FIREWALL=manual" in said[0]


def test_out_rules_go_after_every_in_rule(fake: FakeNft) -> None:
    """A DNATed connection into another pynet bridge meets that bridge's IN rule first."""
    fake.chain_list = DOCKER_CHAINS[:2]
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": 3, "comment": "pynet:br-b in"}},
        *({"rule": {"handle": h, "comment": "pynet:br-b out"}} for h in (4, 5, 6)),
        {"rule": {"handle": 1}},
    ]
    fw.open_foreign(["br-a", "br-b"])
    where = "ip filter DOCKER-USER"
    assert fake.scripts == [
        f"insert rule {where} {_in('br-a')}\n" + "".join(f"insert rule {where} position 4 {r}\n" for r in _outs("br-a"))
    ]
    # an empty chain (flushed): appended after the IN rule
    fake.scripts.clear()
    fake.tables["chain ip filter DOCKER-USER"] = []
    fw.open_foreign(["br-a"])
    assert fake.scripts == [
        f"insert rule {where} {_in('br-a')}\n" + "".join(f"add rule {where} {r}\n" for r in _outs("br-a"))
    ]


def test_heal_puts_back_missing_rules_and_drops_stale_ones(fake: FakeNft, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.chain_list = DOCKER_CHAINS[:2]
    fake.tables["table inet pynet"] = [{"set": {"name": "bridges", "elem": ["br-a"]}}]
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": 3, "comment": "pynet:br-a in"}},  # an OUT rule was deleted
        {"rule": {"handle": 4, "comment": "pynet:br-a out"}},
        {"rule": {"handle": 7, "comment": "pynet:br-gone in"}},  # pynet has no such bridge
        {"rule": {"handle": 1}},
    ]
    notices = fw.heal_foreign()
    (script,) = fake.scripts
    assert script.startswith(
        "delete rule ip filter DOCKER-USER handle 3\n"
        "delete rule ip filter DOCKER-USER handle 4\n"
        "delete rule ip filter DOCKER-USER handle 7\n"
    )
    assert "handle 1\n" not in script and "position 1 " in script and notices
    fake.scripts.clear()
    monkeypatch.setenv("PYNET_FOREIGN_FIREWALL", "manual")
    assert fw.heal_foreign() == [] and fake.scripts == []


def test_undo_of_foreign_rules_removes_only_that_bridges(fake: FakeNft) -> None:
    fake.chain_list = DOCKER_CHAINS
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": 3, "comment": "pynet:br-a in"}},
        {"rule": {"handle": 4, "comment": "pynet:br-b in"}},
        {"rule": {"handle": 5, "comment": "pynet:br-a out"}},
        {"rule": {"handle": 1}},
    ]
    fw.undo_resource({"kind": "nft", "op": "foreign", "bridge": "br-a"})
    assert fake.scripts == ["delete rule ip filter DOCKER-USER handle 3\ndelete rule ip filter DOCKER-USER handle 5\n"]


def test_ip6_docker_user_gets_the_same_rules(fake: FakeNft) -> None:
    """Docker with ip6tables on: ip6 filter FORWARD drops too; its DOCKER-USER gets the rules."""
    fake.chain_list = DOCKER_CHAINS[:2] + [
        {"family": "ip6", "table": "filter", "name": "FORWARD", "hook": "forward", "policy": "drop", "type": "filter"},
        {"family": "ip6", "table": "filter", "name": "DOCKER-USER"},
    ]
    (notice,) = fw.open_foreign(["br-a"])
    assert "table ip filter chain DOCKER-USER: br-a; table ip6 filter chain DOCKER-USER: br-a" in notice
    (script,) = fake.scripts
    assert (
        script.count("insert rule ip6 filter DOCKER-USER") == 1 and script.count("add rule ip6 filter DOCKER-USER") == 3
    )


def test_iptables_legacy_drop_policy_is_warned_with_the_exact_fix(fake: FakeNft) -> None:
    fake.legacy["ip"] = [
        "-P INPUT ACCEPT",
        "-P FORWARD DROP",
        "-P OUTPUT ACCEPT",
        "-N DOCKER-USER",
        "-A FORWARD -j DOCKER-USER",
        "-A DOCKER-USER -j RETURN",
    ]
    warnings = [n for n in fw.setup_network(_net(), Log()) if "iptables-legacy" in n]
    assert warnings == [
        "WARNING: iptables-legacy table ip filter chain FORWARD has policy DROP: it will drop forwarded "
        "traffic of pynet network bridge br-a, and pynet cannot change iptables-legacy rules; run "
        "`iptables-legacy -I DOCKER-USER -i br-a -j ACCEPT && iptables-legacy -I DOCKER-USER -i br-a -o br-+ -j RETURN"
        " && iptables-legacy -I DOCKER-USER -i br-a -o docker0 -j RETURN && iptables-legacy -I DOCKER-USER -o br-a -j ACCEPT`"
    ]
    fake.legacy["ip"] = ["-P FORWARD ACCEPT"]
    assert fw.legacy_warnings("br-a") == []
    fake.legacy = {"ip6": ["-P FORWARD DROP"]}
    (only,) = fw.legacy_warnings("br-a")
    assert (
        "table ip6 filter" in only
        and "`ip6tables-legacy -I FORWARD -i br-a -j ACCEPT && ip6tables-legacy -I FORWARD -o br-a -j ACCEPT`" in only
    )


def test_allow_docker_user_is_explicit_and_idempotent(fake: FakeNft, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNET_FOREIGN_FIREWALL", "manual")
    assert fw.allow_docker_user([_net()])[0].startswith("No foreign forward chain with policy drop")
    assert fake.scripts == []
    fake.chain_list = DOCKER_CHAINS[:2]
    notices = fw.setup_network(_net(), Log())
    assert not any("DOCKER-USER" in line for line in fake.scripts[-1].splitlines()), "manual: not touched"
    assert [n for n in notices if "DOCKER-USER" in n and n.startswith("WARNING")]
    fake.scripts.clear()
    msgs = fw.allow_docker_user([_net()])
    assert len(msgs) == 1 and "table ip filter chain DOCKER-USER: br-a" in msgs[0]
    assert fake.scripts == [
        f"insert rule ip filter DOCKER-USER {_in('br-a')}\n"
        + "".join(f"add rule ip filter DOCKER-USER {r}\n" for r in _outs("br-a"))
    ]
    fake.tables["chain ip filter DOCKER-USER"] = [
        {"rule": {"handle": h, "comment": f"pynet:br-a {k}"}} for h, k in enumerate(["in", "out", "out", "out"])
    ]
    assert fw.allow_docker_user([_net()]) == [
        "The foreign forward chains already accept the traffic of these pynet networks"
    ]


def test_missing_nft_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nft.shutil, "which", lambda name: None)
    monkeypatch.setattr(nft, "NFT_FALLBACKS", ())
    with pytest.raises(Unavailable, match=r"^nftables \(nft\) is not installed$"):
        nft.run("add table inet pynet")

"""The etcd client pieces (HTTP framing, encoding, transactions) and the cluster-wide IPAM.

``FakeEtcd`` answers the JSON gateway calls pynet makes from an in-memory key space with
etcd's revision rules, so the optimistic-concurrency paths (two hosts racing for a name,
a VNI or an address) can be forced deterministically.
"""

from __future__ import annotations

import json
import socket

import pytest

from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.drivers.ipam import cluster as gipam
from pynet.errors import Conflict, Forbidden, InvalidArgument, NotFound, StateCorrupt, Unavailable
from pynet.state import etcd as kv

pytestmark = pytest.mark.unit
NOW = "2024-01-01T00:00:00Z"


class FakeEtcd(kv.Etcd):
    """etcd's KV + txn semantics in memory; ``before_txn`` runs before each transaction."""

    def __init__(self) -> None:
        super().__init__("etcd://store.test:2379")
        self.data: dict[str, tuple[bytes, int, int, int]] = {}  # key -> value, create, mod, version
        self.rev = 1
        self.before_txn = None
        self.txns = 0

    def call(self, path: str, body: dict) -> dict:
        if path == "/v3/kv/range":
            return {"header": {"revision": str(self.rev)}, "kvs": self._range(body)}
        if path == "/v3/kv/put":
            self._put(body)
            return {"header": {"revision": str(self.rev)}}
        if path == "/v3/kv/deleterange":
            return {"deleted": str(self._delete(body))}
        if path == "/v3/kv/txn":
            return self._txn(body)
        raise AssertionError(path)

    def _keys(self, body: dict) -> list[str]:
        key = kv.unb64(body["key"]).decode()
        if "range_end" not in body:
            return [key] if key in self.data else []
        end = kv.unb64(body["range_end"]).decode()
        return sorted(k for k in self.data if key <= k < end)

    def _range(self, body: dict) -> list[dict]:
        out = []
        for k in self._keys(body):
            value, create, mod, version = self.data[k]
            item = {"key": kv.b64(k), "create_revision": str(create), "mod_revision": str(mod), "version": str(version)}
            if not body.get("keys_only"):
                item["value"] = kv.b64(value)
            out.append(item)
        return out

    def _put(self, body: dict) -> None:
        self.rev += 1
        key = kv.unb64(body["key"]).decode()
        old = self.data.get(key)
        self.data[key] = (kv.unb64(body["value"]), old[1] if old else self.rev, self.rev, old[3] + 1 if old else 1)

    def _delete(self, body: dict) -> int:
        keys = self._keys(body)
        if keys:
            self.rev += 1
        for k in keys:
            del self.data[k]
        return len(keys)

    def _holds(self, c: dict) -> bool:
        key = kv.unb64(c["key"]).decode()
        value, create, mod, version = self.data.get(key, (b"", 0, 0, 0))
        actual = {"CREATE": create, "MOD": mod, "VERSION": version, "VALUE": value}[c["target"]]
        expected = {
            "CREATE": lambda: int(c["create_revision"]),
            "MOD": lambda: int(c["mod_revision"]),
            "VERSION": lambda: int(c["version"]),
            "VALUE": lambda: kv.unb64(c["value"]),
        }[c["target"]]()
        return actual == expected if c["result"] == "EQUAL" else actual > expected

    def _txn(self, body: dict) -> dict:
        if self.before_txn is not None:
            hook, self.before_txn = self.before_txn, None
            hook()
        self.txns += 1
        ok = all(self._holds(c) for c in body["compare"])
        responses = []
        for op in body["success"] if ok else body["failure"]:
            if "request_put" in op:
                self._put(op["request_put"])
                responses.append({"response_put": {}})
            elif "request_delete_range" in op:
                self._delete(op["request_delete_range"])
                responses.append({"response_delete_range": {}})
            else:
                responses.append({"response_range": {"kvs": self._range(op["request_range"])}})
        return {"header": {"revision": str(self.rev)}, "succeeded": ok, "responses": responses}


def overlay(name: str, subnet: str = "", *, nid: str = "") -> Network:
    net = Network(nid or f"{name:0<64}"[:64], name, "overlay", NOW, scope="global", attachable=True)
    if subnet:
        net.ipam_config = [IPAMPool(subnet=subnet, gateway=subnet.rsplit(".", 1)[0] + ".1", user_configured=True)]
    return net


def endpoint(n: int) -> Endpoint:
    return Endpoint(f"{n:064x}", "", "", f"c{n}")


# -- HTTP framing and encoding ----------------------------------------------------------------
def test_reader_decodes_chunked_stream_fed_byte_by_byte():
    raw = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{"result":1}\n\r\nd\r\n{"result":2}\n\r\n0\r\n\r\n'
    )
    reader = kv.ResponseReader()
    got = []
    for i in range(len(raw)):
        reader.feed(raw[i : i + 1])
        got += reader.messages()
    assert got == [{"result": 1}, {"result": 2}] and reader.done and reader.status == 200


def test_reader_content_length_and_error_status():
    body = b'{"error":"requested lease not found","code":5}'
    reader = kv.ResponseReader()
    reader.feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % len(body))
    assert not reader.done
    reader.feed(body + b"garbage after the body")
    assert reader.done and reader.status == 404 and bytes(reader.body) == body
    err = kv.error_of(reader.status, bytes(reader.body))
    assert isinstance(err, Unavailable) and err.code == kv.LEASE_NOT_FOUND
    assert str(err) == "cluster store error: requested lease not found"


def test_reader_rejects_garbage():
    with pytest.raises(ValueError):
        kv.ResponseReader().feed(b"SSH-2.0-OpenSSH\r\n\r\n")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("etcd://10.0.0.10:2379", ("10.0.0.10", 2379)),
        ("http://store:4001/", ("store", 4001)),
        ("10.0.0.10", ("10.0.0.10", 2379)),
        ("etcd://[fd00::1]:2379", ("fd00::1", 2379)),
    ],
)
def test_store_urls(url, expected):
    assert kv.parse_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "consul://x:8500",
        "etcd://:2379",
        "etcd://h:port",
        "etcd://h:70000",
        "etcd//10.0.0.10",
        "etcd//store:2379",
        "etcd:/store:2379",
        "etcd://a_b:2379",
        "etcd://-x:2379",
        "etcd://[fd00::zz]:2379",
    ],
)
def test_bad_store_urls(url):
    with pytest.raises(InvalidArgument):
        kv.parse_url(url)


def test_prefix_end_and_endpoint_keys():
    assert kv.unb64(kv.prefix_end("/pynet/")) == b"/pynet0"
    key = kv.endpoint_key("n1", "node1", "e1")
    assert kv.split_endpoint_key(key) == ("n1", "node1", "e1")
    assert kv.split_endpoint_key("/pynet/endpoints/n1/node1") is None


def test_unreachable_store_is_a_clear_error_fast():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a port nobody listens on: connection refused
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(
        Unavailable, match=rf"cannot reach the cluster store at etcd://127.0.0.1:{port}: connection refused"
    ):
        kv.Etcd(f"etcd://127.0.0.1:{port}", timeout=1).get("/pynet/x")


def test_membership_file_round_trip_and_corruption(tmp_path):
    assert kv.load_config(tmp_path) is None
    cfg = kv.ClusterConfig("etcd://s:2379", "203.0.113.1", "abc", "h-abc", "h", ttl=3)
    kv.save_config(tmp_path, cfg)
    assert kv.load_config(tmp_path) == cfg
    (tmp_path / "cluster.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(StateCorrupt, match="cluster.json"):
        kv.load_config(tmp_path)


def test_cleanup_outbox(tmp_path):
    item = {"what": "endpoint", "key": "/pynet/endpoints/a/b/c"}
    kv.queue_cleanup(tmp_path, item)
    kv.queue_cleanup(tmp_path, item)
    assert kv.pending_cleanups(tmp_path) == [item]
    kv.save_cleanups(tmp_path, [])
    assert kv.pending_cleanups(tmp_path) == []


# -- networks ---------------------------------------------------------------------------------
def test_networks_get_unique_names_vnis_and_default_subnets():
    store = FakeEtcd()
    a, b = overlay("a"), overlay("b")
    gipam.register_network(store, a, host_used=["10.0.0.0/24"])  # this host uses 10.0.0.0/24
    gipam.register_network(store, b, host_used=[])
    assert (a.driver_data["vni"], b.driver_data["vni"]) == (4096, 4097)
    assert a.options[gipam.VNI_OPTION] == "4096"
    assert a.ipam_config[0].subnet == "10.0.1.0/24" and a.ipam_config[0].gateway == "10.0.1.1"
    assert b.ipam_config[0].subnet == "10.0.0.0/24"
    with pytest.raises(Conflict, match="network with name a already exists"):
        gipam.register_network(store, overlay("a", nid="f" * 64), host_used=[])
    with pytest.raises(Conflict, match="Pool overlaps"):
        gipam.register_network(store, overlay("c", "10.0.1.0/24"), host_used=[])


def test_a_racing_create_is_retried_with_fresh_choices():
    store = FakeEtcd()
    rival = overlay("rival")
    # Another host registers between our read and our transaction: we must not reuse its VNI.
    store.before_txn = lambda: gipam.register_network(store, rival, host_used=[])
    mine = overlay("mine")
    gipam.register_network(store, mine, host_used=[])
    assert rival.driver_data["vni"] == 4096 and mine.driver_data["vni"] == 4097
    assert mine.ipam_config[0].subnet == "10.0.1.0/24"


def test_a_wanted_vni_is_checked():
    store = FakeEtcd()
    net = overlay("a")
    net.options[gipam.VNI_OPTION] = "5000"
    gipam.register_network(store, net, host_used=[])
    assert net.driver_data["vni"] == 5000
    again = overlay("b")
    again.options[gipam.VNI_OPTION] = "5000"
    with pytest.raises(Conflict, match="VXLAN ID 5000 is already used by network a"):
        gipam.register_network(store, again, host_used=[])


def test_removal_is_refused_while_any_node_holds_an_address():
    store = FakeEtcd()
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(store, net, host_used=[])
    ep = endpoint(1)
    gipam.allocate(store, net, ep, "node2", "", "")
    with pytest.raises(Forbidden, match=f"network ov1 id {net.id} has active endpoints"):
        gipam.unregister_network(store, net)
    kv.release_addresses(store, net.id, ep.id)
    gipam.unregister_network(store, net)
    assert not [k for k in store.data if net.id in k]
    gipam.unregister_network(store, net)  # idempotent


# -- addresses --------------------------------------------------------------------------------
def test_addresses_skip_gateway_and_are_never_handed_out_twice():
    store = FakeEtcd()
    net = overlay("ov1", "10.10.0.0/24")
    gipam.register_network(store, net, host_used=[])
    e1, e2 = endpoint(1), endpoint(2)
    gipam.allocate(store, net, e1, "n1", "", "")
    # Another host takes the next free address between our read and our transaction.
    store.before_txn = lambda: gipam.allocate(store, net, e2, "n2", "", "")
    e3 = endpoint(3)
    gipam.allocate(store, net, e3, "n1", "", "")
    assert (e1.ipv4, e2.ipv4, e3.ipv4) == ("10.10.0.2/24", "10.10.0.3/24", "10.10.0.4/24")
    assert e1.gateway == "10.10.0.1"
    with pytest.raises(Conflict, match="Address already in use"):
        gipam.allocate(store, net, endpoint(4), "n3", "10.10.0.3", "")
    with pytest.raises(InvalidArgument, match="does not belong"):
        gipam.allocate(store, net, endpoint(4), "n3", "10.99.0.3", "")
    static = endpoint(5)
    gipam.allocate(store, net, static, "n3", "10.10.0.200", "")
    assert static.ipv4 == "10.10.0.200/24"


def test_a_full_network_and_a_vanished_network():
    store = FakeEtcd()
    net = overlay("tiny", "10.10.0.0/30")
    gipam.register_network(store, net, host_used=[])
    gipam.allocate(store, net, endpoint(1), "n1", "", "")  # .2 (.1 gateway, .3 broadcast)
    with pytest.raises(Unavailable, match="no available IPv4 addresses"):
        gipam.allocate(store, net, endpoint(2), "n1", "", "")
    gone = overlay("gone", "10.20.0.0/24")
    with pytest.raises(NotFound, match="network gone not found"):
        gipam.allocate(store, gone, endpoint(3), "n1", "", "")


def test_ip_range_and_aux_addresses_are_respected():
    pool = IPAMPool(
        subnet="10.10.0.0/24", gateway="10.10.0.1", ip_range="10.10.0.8/29", aux_addresses={"router": "10.10.0.9"}
    )
    assert list(gipam.address_candidates(pool))[:3] == ["10.10.0.8", "10.10.0.10", "10.10.0.11"]


def test_endpoint_records_need_the_network():
    store = FakeEtcd()
    net = overlay("ov1", "10.10.0.0/24")
    with pytest.raises(NotFound):
        gipam.register_endpoint(store, net, "n1", {"id": "e1"})
    gipam.register_network(store, net, host_used=[])
    gipam.register_endpoint(store, net, "n1", {"id": "e1", "mac": "02:42:0a:0a:00:02"})
    assert kv.endpoint_key(net.id, "n1", "e1") in store.data


def silent_store() -> tuple[socket.socket, int]:
    """A listener that accepts connections (the kernel's backlog) and never answers: a hung etcd."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv, srv.getsockname()[1]


def accepted(srv: socket.socket) -> int:
    srv.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = srv.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_a_command_waits_for_a_hung_store_once(monkeypatch):
    """Issue #10.9: every call paid its own timeout (7.7 s for one command); now one wait."""
    monkeypatch.setattr(kv, "_UNREACHABLE", {})
    srv, port = silent_store()
    with srv:
        cfg = kv.ClusterConfig(f"etcd://127.0.0.1:{port}", "203.0.113.1", "a" * 12, "h-" + "a" * 12, "h")
        with pytest.raises(Unavailable, match="no answer within 0.2 s"):
            kv.client(cfg, timeout=0.2).get("/pynet/x")  # the sync's wait
        for attempt in range(3):  # the command's later calls
            with pytest.raises(
                Unavailable, match=f"cannot reach the cluster store at etcd://127.0.0.1:{port}: no answer within 0.2 s"
            ):
                kv.client(cfg).txn([], [])
        assert accepted(srv) == 1  # asked once, not four times
        # the helper daemon's own client (not ``remember``) keeps trying
        with pytest.raises(Unavailable):
            kv.Etcd(cfg.store, timeout=0.2).get("/pynet/x")
        assert accepted(srv) == 1

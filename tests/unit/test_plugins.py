"""Plugin discovery, the plugin HTTP client, the remote driver/IPAM proxies, macvlan rules.

No root, no kernel: plugins are served in-process on unix sockets in a temp dir (the
example plugin with its ``ip`` calls disabled, or tiny raw servers for error cases), and
the macvlan tests use a fake of the few netlink calls the driver makes.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.drivers import macvlan, plugins, remote
from pynet.drivers.ipam.remote import GATEWAY_OPTIONS, RemoteIPAM
from pynet.errors import Conflict, InvalidArgument, NotFound, Timeout, Unavailable, Unsupported

pytestmark = pytest.mark.unit


class ListUndo:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any]) -> None:
        self.records.append(resource)


@pytest.fixture
def pdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short plugin dir (unix socket paths are limited to 107 bytes); Docker's dirs emptied."""
    root = Path(tempfile.mkdtemp(prefix="pynp"))
    monkeypatch.setenv("PYNET_PLUGIN_DIR", str(root / "own"))
    monkeypatch.setenv("PYNET_PLUGIN_TIMEOUT", "1")
    monkeypatch.setattr(plugins, "DOCKER_SOCKET_DIRS", (str(root / "docker-run"),))
    monkeypatch.setattr(plugins, "DOCKER_SPEC_DIRS", (str(root / "etc"), str(root / "usr")))
    (root / "own").mkdir()
    plugins.forget()
    from pynet import drivers

    drivers._cache.clear()
    yield root
    plugins.forget()
    drivers._cache.clear()
    shutil.rmtree(root, ignore_errors=True)


# -- servers ---------------------------------------------------------------------------------
class RawServer:
    """A unix-socket server answering every connection with ``respond(request_bytes)``."""

    def __init__(self, path: Path, respond: Callable[[bytes], bytes | None]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.respond, self.requests = path, respond, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    (line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
                    b"0",
                )
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            answer = self.respond(head + b"\r\n\r\n" + body)
            if answer is not None:
                try:
                    conn.sendall(answer)
                except OSError:
                    pass  # the client gave up (a timeout test)

    def close(self) -> None:
        self.sock.close()


def http(status: int, body: bytes, reason: str = "OK") -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


@pytest.fixture
def raw(pdir: Path) -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(respond: Callable[[bytes], bytes | None], name: str = "raw") -> RawServer:
        server = RawServer(pdir / "own" / f"{name}.sock", respond)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def vethnet(pdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """The example plugin served in a thread; its ``ip`` calls are refused (no kernel here)."""
    from plugin_example import vethnet as mod

    def no_ip(*args: str, check: bool = True) -> None:
        raise AssertionError(f"unit tests must not run ip {args}")

    monkeypatch.setattr(mod, "ip", no_ip)
    servers = []

    def start(*argv: str, name: str = "vethnet") -> Any:
        sock = pdir / "own" / f"{name}.sock"
        args = mod.argparse.Namespace(
            implements=["NetworkDriver", "IpamDriver"], fail=[], hang=[], garbage=[], state="", own_mac=False
        )
        for item in argv:
            key, _, value = item.partition("=")
            if key == "implements":
                args.implements = value.split(",")
            elif key == "own_mac":
                args.own_mac = True
            else:
                getattr(args, key).append(value)
        server = mod.Server(str(sock), mod.VethNet(own_mac=args.own_mac), args)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# -- discovery -------------------------------------------------------------------------------
def test_discovery_order_and_forms(pdir: Path) -> None:
    with pytest.raises(NotFound, match='^plugin "nope" not found$'):
        plugins.discover("nope")
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(NotFound):
            plugins.discover(bad)
    (pdir / "etc").mkdir()
    (pdir / "etc" / "p.spec").write_text("  tcp://127.0.0.1:9100\n")
    assert plugins.discover("p") == plugins.PluginAddress("p", "tcp", "127.0.0.1:9100", str(pdir / "etc" / "p.spec"))
    (pdir / "usr" / "p").mkdir(parents=True)
    (pdir / "usr" / "p" / "p.json").write_text(json.dumps({"Name": "p", "Addr": "unix:///run/p.sock"}))
    assert plugins.discover("p").scheme == "tcp"  # /etc comes before /usr/lib
    (pdir / "etc" / "p.spec").unlink()
    assert plugins.discover("p").address == "/run/p.sock"
    # A socket (Docker's dir, or pynet's own, first) wins over spec files.
    RawServer(pdir / "docker-run" / "p" / "p.sock", lambda r: None).close()
    assert plugins.discover("p").address == str(pdir / "docker-run" / "p" / "p.sock")
    RawServer(pdir / "own" / "p.sock", lambda r: None).close()
    assert plugins.discover("p").address == str(pdir / "own" / "p.sock")
    (pdir / "own" / "q.spec").write_text("unix:///run/q.sock")
    assert plugins.discover("q").source == str(pdir / "own" / "q.spec")


def test_bad_spec_files(pdir: Path) -> None:
    own = pdir / "own"
    (own / "a.spec").write_text("/run/a.sock")
    with pytest.raises(Unavailable, match="Unknown protocol"):
        plugins.discover("a")
    (own / "b.spec").write_text("https://plugins.example:443")
    with pytest.raises(Unsupported, match="TLS"):
        plugins.discover("b")
    (own / "c.json").write_text("{not json")
    with pytest.raises(Unavailable, match="not valid JSON"):
        plugins.discover("c")
    (own / "d.json").write_text(json.dumps({"Addr": "tcp://127.0.0.1:1", "TLSConfig": {"CAFile": "/ca"}}))
    with pytest.raises(Unsupported, match="TLS"):
        plugins.discover("d")


def test_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNET_PLUGIN_TIMEOUT", "2.5")
    assert plugins.call_timeout() == 2.5
    for bad in ("x", "-1", "0", ""):
        monkeypatch.setenv("PYNET_PLUGIN_TIMEOUT", bad)
        assert plugins.call_timeout() == plugins.DEFAULT_TIMEOUT
    monkeypatch.delenv("PYNET_PLUGIN_DIR", raising=False)
    assert plugins.plugin_dir() == Path("/run/pynet/plugins")


# -- the client ------------------------------------------------------------------------------
def test_requests_are_dockers(raw) -> None:
    server = raw(lambda r: http(200, b'{"Implements": ["NetworkDriver"]}'))
    client = plugins.PluginClient(plugins.discover("raw"))
    assert client.call("Plugin.Activate") == {"Implements": ["NetworkDriver"]}
    assert client.call("NetworkDriver.CreateNetwork", {"NetworkID": "n1"}) == {"Implements": ["NetworkDriver"]}
    first, second = server.requests
    assert first.startswith(b"POST /Plugin.Activate HTTP/1.1\r\n")
    assert b"Accept: application/vnd.docker.plugins.v1.2+json\r\n" in first
    assert b"Content-Type: application/vnd.docker.plugins.v1.2+json\r\n" in first
    assert second.startswith(b"POST /NetworkDriver.CreateNetwork ")
    assert json.loads(second.partition(b"\r\n\r\n")[2]) == {"NetworkID": "n1"}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b'{"Err": "no more bridges"}', "remote: no more bridges"),
        (200, b'{"Error": "pool exhausted"}', "remote: pool exhausted"),
        (500, b'{"Err": "crashed"}', "NetworkDriver.Join: crashed"),
        (400, b"bad request body", "NetworkDriver.Join: bad request body"),
        (404, b"404 page not found\n", "NetworkDriver.Join: 404 page not found"),
    ],
)
def test_plugin_errors_carry_its_text(raw, status: int, body: bytes, message: str) -> None:
    raw(lambda r: http(status, body))
    client = plugins.PluginClient(plugins.discover("raw"))
    with pytest.raises(plugins.PluginError) as info:
        client.call("NetworkDriver.Join", {})
    assert info.value.message == message


def test_optional_methods_tolerate_404(raw) -> None:
    raw(lambda r: http(404, b"404 page not found\n", "Not Found"))
    client = plugins.PluginClient(plugins.discover("raw"))
    assert client.call("NetworkDriver.DiscoverNew", {}, optional=True) == {}


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (http(200, b"<html>hello</html>"), "'<html>hello</html>' (expected a JSON object)"),
        (http(200, b"[1, 2]"), "'[1, 2]' (expected a JSON object)"),
        (b"SSH-2.0-OpenSSH\r\n", "BadStatusLine"),
        (b"", "RemoteDisconnected"),
    ],
)
def test_garbage_answers_are_clear_errors(raw, answer: bytes, detail: str) -> None:
    raw(lambda r: answer)
    client = plugins.PluginClient(plugins.discover("raw"))
    with pytest.raises(Unavailable) as info:
        client.call("NetworkDriver.CreateNetwork", {})
    assert info.value.message.startswith('plugin "raw" sent an invalid answer to NetworkDriver.CreateNetwork: ')
    assert detail in info.value.message


def test_a_slow_plugin_times_out(raw) -> None:
    raw(lambda r: time.sleep(5) or http(200, b"{}"))
    client = plugins.PluginClient(plugins.discover("raw"), timeout=0.5)
    start = time.monotonic()
    with pytest.raises(Timeout) as info:
        client.call("NetworkDriver.CreateNetwork", {})
    assert time.monotonic() - start < 2
    assert info.value.message == (
        'plugin "raw" did not answer NetworkDriver.CreateNetwork within 0.5s (PYNET_PLUGIN_TIMEOUT)'
    )


def test_a_dead_plugins_socket_is_unreachable_within_the_budget(pdir: Path) -> None:
    path = pdir / "own" / "dead.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: what a crashed plugin leaves
    client = plugins.PluginClient(plugins.discover("dead"), timeout=0.6)
    start = time.monotonic()
    with pytest.raises(Unavailable, match=f'^plugin "dead" is not reachable at {path}: Connection refused$'):
        client.call("Plugin.Activate")
    assert 0.3 < time.monotonic() - start < 1.5  # retried, but within the budget


# -- activation and the remote driver ----------------------------------------------------------
def test_activation_checks_what_the_plugin_implements(vethnet) -> None:
    vethnet("implements=IpamDriver")
    with pytest.raises(NotFound, match=r'^plugin "vethnet" does not implement the requested driver \(NetworkDriver\)$'):
        plugins.get("vethnet", "NetworkDriver")
    assert plugins.get("vethnet", "IpamDriver").implements == ["IpamDriver"]


def test_registry_routes_unknown_names_to_plugins(vethnet) -> None:
    from pynet.drivers import get_driver

    with pytest.raises(NotFound, match='^plugin "nosuch" not found$'):
        get_driver("nosuch")
    vethnet()
    driver = get_driver("vethnet")
    assert isinstance(driver, remote.RemoteDriver)
    assert (driver.name, driver.scope) == ("vethnet", "local")
    assert get_driver("vethnet") is driver
    assert type(get_driver("macvlan")).__name__ == "MacvlanDriver"


def test_invalid_scope_is_refused(raw) -> None:
    def respond(request: bytes) -> bytes:
        if request.startswith(b"POST /Plugin.Activate"):
            return http(200, b'{"Implements": ["NetworkDriver"]}')
        return http(200, b'{"Scope": "galaxy"}')

    raw(respond)
    with pytest.raises(Unavailable, match="^invalid capability: expecting 'local' or 'global', got galaxy$"):
        remote.RemoteDriver("raw")


def _net(**kw: Any) -> Network:
    base = dict(
        id="n" * 64,
        name="pnet",
        driver="vethnet",
        created="",
        ipam_config=[IPAMPool(subnet="10.9.0.0/24", gateway="10.9.0.1", aux_addresses={"r": "10.9.0.5"})],
        options={"color": "blue"},
    )
    base.update(kw)
    return Network(**base)


def test_network_payloads_are_libnetworks() -> None:
    net = _net(internal=True)
    assert remote.network_options(net) == {
        "com.docker.network.enable_ipv6": False,
        "com.docker.network.generic": {"color": "blue"},
        "com.docker.network.internal": True,
    }
    assert remote.ipam_data(net.ipam_config[0]) == {
        "AddressSpace": "LocalDefault",
        "Pool": "10.9.0.0/24",
        "Gateway": "10.9.0.1/24",
        "AuxAddresses": {"r": "10.9.0.5/24"},
    }


def test_create_network_logs_its_undo_first(vethnet) -> None:
    server = vethnet("fail=NetworkDriver.CreateNetwork=full")
    driver = remote.RemoteDriver("vethnet")
    undo = ListUndo()
    with pytest.raises(plugins.PluginError, match="^remote: full$"):
        driver.create_network(_net(), undo)
    assert undo.records == [
        {
            "kind": "driver",
            "driver": "vethnet",
            "what": "plugin-call",
            "method": "NetworkDriver.DeleteNetwork",
            "args": {"NetworkID": "n" * 64},
        }
    ]
    from pynet.cnm import rollback

    assert rollback.remove_all(undo.records) == []  # the core's rollback path
    assert server.plugin.calls[-1] == "NetworkDriver.DeleteNetwork"


def test_create_endpoint_takes_the_plugins_mac_and_refuses_other_addresses(vethnet) -> None:
    server = vethnet("own_mac")
    server.plugin.networks["n" * 64] = {"bridge": "vnx", "gateway": "", "route": ""}
    driver = remote.RemoteDriver("vethnet")
    ep = Endpoint(
        id="e" * 64, network_id="n" * 64, container_id="c", name="c1", ipv4="10.9.0.2/24", mac="02:42:0a:09:00:02"
    )
    driver.create_endpoint(_net(), ep, ListUndo())
    assert ep.mac == "02:aa:ee:ee:ee:ee"
    assert server.plugin.endpoints[ep.id]["interface"] == {
        "Address": "10.9.0.2/24",
        "AddressIPv6": "",
        "MacAddress": "02:42:0a:09:00:02",
    }
    assert driver.endpoint_oper_info(_net(), ep) == {"host_ifname": ""}

    driver._adopt_interface(ep, {"Address": "10.9.0.2/24"})  # the same address is fine


def test_create_endpoint_with_another_address_is_rolled_back(raw) -> None:
    answers = {
        b"/Plugin.Activate": b'{"Implements": ["NetworkDriver"]}',
        b"/NetworkDriver.GetCapabilities": b'{"Scope": "global"}',
        b"/NetworkDriver.CreateEndpoint": b'{"Interface": {"Address": "10.9.0.9/24", "MacAddress": "zz"}}',
        b"/NetworkDriver.DeleteEndpoint": b"{}",
    }
    server = raw(lambda r: http(200, answers[r.split(b" ")[1]]))
    driver = remote.RemoteDriver("raw")
    assert driver.scope == "global"
    ep = Endpoint(id="e" * 64, network_id="n" * 64, container_id="c", name="c1", ipv4="10.9.0.2/24")
    with pytest.raises(
        InvalidArgument,
        match=r"^driver modified interface MAC address: invalid MAC "
        r"address 'zz'; rolled back$",
    ):
        driver.create_endpoint(_net(), ep, ListUndo())
    assert server.requests[-1].startswith(b"POST /NetworkDriver.DeleteEndpoint ")
    answers[b"/NetworkDriver.CreateEndpoint"] = b'{"Interface": {"Address": "10.9.0.9/24"}}'
    with pytest.raises(
        InvalidArgument,
        match=r"^driver modified interface address: 10.9.0.9/24 "
        r"\(IPAM gave 10.9.0.2/24\); rolled back$",
    ):
        driver.create_endpoint(_net(), ep, ListUndo())


def test_join_answers_are_checked() -> None:
    parse = remote.JoinPlan.parse
    plan = parse(
        "p",
        {
            "InterfaceName": {"SrcName": "vc1", "DstPrefix": "eth"},
            "Gateway": "10.9.0.1",
            "StaticRoutes": [
                {"Destination": "203.0.113.0/24", "RouteType": 0, "NextHop": "10.9.0.1"},
                {"Destination": "198.51.100.0/24", "RouteType": 1},
            ],
        },
    )
    assert (plan.src_name, plan.gateway, plan.gateway6) == ("vc1", "10.9.0.1", "")
    assert plan.routes == [("203.0.113.0/24", "10.9.0.1"), ("198.51.100.0/24", "")]
    for answer, message in [
        ({}, "no InterfaceName.SrcName"),
        ({"InterfaceName": {"SrcName": "x"}, "Gateway": "ten"}, 'unable to parse Gateway "ten"'),
        ({"InterfaceName": {"SrcName": "x"}, "GatewayIPv6": "10.0.0.1"}, 'unable to parse GatewayIPv6 "10.0.0.1"'),
        (
            {"InterfaceName": {"SrcName": "x"}, "StaticRoutes": [{"Destination": "1.2.3.0/24", "NextHop": "z"}]},
            "failed to parse nexthop IP z",
        ),
        ({"InterfaceName": {"SrcName": "x"}, "StaticRoutes": ["x"]}, "not an object"),
    ]:
        with pytest.raises(Unavailable, match=message):
            parse("p", answer)


def test_teardown_errors_become_warnings(vethnet) -> None:
    from pynet.firewall.hooks import NOTICES

    vethnet("fail=NetworkDriver.DeleteNetwork=busy")
    driver = remote.RemoteDriver("vethnet")
    NOTICES.clear()
    driver.delete_network(_net())  # rm goes on, as Docker's does
    assert NOTICES == [f'WARNING: plugin "vethnet": failed to delete network {"n" * 64}: remote: busy']
    NOTICES.clear()


# -- remote IPAM -------------------------------------------------------------------------------
def test_remote_ipam_lifecycle(vethnet) -> None:
    server = vethnet()
    ipam = RemoteIPAM("vethnet")
    assert ipam.get_default_address_spaces() == ("vethnet-local", "vethnet-global")
    assert ipam.get_capabilities() == {"RequiresMACAddress": False} and not ipam.requires_mac()
    undo = ListUndo()
    pool_id, cidr, data = ipam.request_pool("", "", {"k": "v"}, False, undo=undo)
    assert (cidr, data) == ("10.123.0.0/24", {"vethnet": "yes"})
    gw = ipam.request_address(pool_id, "", GATEWAY_OPTIONS, undo=undo)
    assert gw == "10.123.0.1/24"
    assert ipam.request_address(pool_id, "10.123.0.7", {}) == "10.123.0.7/24"
    assert ipam.request_address(pool_id, "", {}) == "10.123.0.2/24"
    with pytest.raises(plugins.PluginError, match="^remote: address 10.123.0.7 already in use$"):
        ipam.request_address(pool_id, "10.123.0.7", {})
    assert undo.records == [
        {"kind": "plugin", "plugin": "vethnet", "method": "IpamDriver.ReleasePool", "args": {"PoolID": pool_id}},
        {
            "kind": "plugin",
            "plugin": "vethnet",
            "method": "IpamDriver.ReleaseAddress",
            "args": {"PoolID": pool_id, "Address": "10.123.0.1"},
        },
    ]
    ipam.release_address(pool_id, "10.123.0.7/24")
    assert "10.123.0.7" not in server.plugin.pools[pool_id]["taken"]
    for record in reversed(undo.records):  # what a rollback does
        plugins.undo_resource(record)
    assert server.plugin.pools == {}
    v6_id, v6, _ = ipam.request_pool("", "", None, True)
    assert v6 == "fd00:123::/64"
    ipam.release_pool(v6_id)
    pid, cidr, _ = ipam.request_pool("192.0.2.0/24", "192.0.2.128/25", None, False)
    assert cidr == "192.0.2.0/24" and ipam.request_address(pid, "", {}) == "192.0.2.129/24"


def test_remote_ipam_refuses_bad_answers(raw) -> None:
    answers = {
        b"/Plugin.Activate": b'{"Implements": ["IpamDriver"]}',
        b"/IpamDriver.GetDefaultAddressSpaces": b'{"LocalDefaultAddressSpace": "l", "GlobalDefaultAddressSpace": "g"}',
        b"/IpamDriver.RequestPool": b'{"PoolID": "p1", "Pool": "not-a-cidr"}',
        b"/IpamDriver.RequestAddress": b'{"Address": "10.0.0.5"}',
    }
    raw(lambda r: http(200, answers[r.split(b" ")[1]]))
    ipam = RemoteIPAM("raw")
    undo = ListUndo()
    with pytest.raises(Unavailable, match="RequestPool: Pool 'not-a-cidr' is not a CIDR"):
        ipam.request_pool("", "", None, False, undo=undo)
    assert undo.records[0]["method"] == "IpamDriver.ReleasePool"  # the pool id is given back
    with pytest.raises(Unavailable, match=r"RequestAddress: Address '10.0.0.5' is not in CIDR form"):
        ipam.request_address("p1", "", None)


# -- macvlan rules (kernel faked) ---------------------------------------------------------------
class FakeNetlink:
    def __init__(self, links: set[str], vlan: bool = False) -> None:
        self.links, self.vlan = links, vlan

    def link_exists(self, name: str, netns: str | None = None) -> bool:
        return name in self.links

    def link_kind_supported(self, kind: str) -> bool:
        return self.vlan


@pytest.fixture
def fake_kernel(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeNetlink]:
    def install(links: set[str], vlan: bool = False, siblings: list[Network] | None = None) -> FakeNetlink:
        fake = FakeNetlink(links, vlan)
        monkeypatch.setattr(macvlan, "netlink", fake)
        monkeypatch.setattr(macvlan, "_stored_macvlan_networks", lambda: list(siblings or []))
        return fake

    return install


def _mv(options: dict[str, str], subnet: str = "192.0.2.0/24", **kw: Any) -> Network:
    return Network(
        id=kw.pop("id", "a" * 64),
        name="mv",
        driver="macvlan",
        created="",
        options=options,
        ipam_config=[IPAMPool(subnet=subnet, gateway="")],
        **kw,
    )


def test_macvlan_validation(fake_kernel) -> None:
    fake_kernel({"eth0"})
    drv = macvlan.MacvlanDriver()
    net = _mv({"parent": "eth0"})
    drv.validate_create(net)
    assert net.driver_data == {"parent": "eth0", "mode": "bridge", "created_parent": "", "isolated": False}
    for options, error, message in [
        (
            {"parent": "eth0", "macvlan_mode": "hub"},
            InvalidArgument,
            "requested macvlan mode 'hub' is not valid, 'bridge' mode is the macvlan driver default",
        ),
        ({"parent": "lo"}, InvalidArgument, "loopback interface is not a valid macvlan parent link"),
        ({"parent": "eth9"}, NotFound, "-o parent interface was not found on the host: eth9"),
        (
            {"parent": "eth0.10"},
            Unsupported,
            "802.1q VLAN sub-interfaces are not supported by this kernel (-o parent=eth0.10)",
        ),
        (
            {"parent": "eth0.1.2"},
            InvalidArgument,
            "required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received eth0.1.2",
        ),
        ({"parent": "eth0.0"}, InvalidArgument, "vlan id must be between 1-4094, received: 0"),
    ]:
        with pytest.raises(error) as info:
            drv.validate_create(_mv(options))
        assert info.value.message == message


def test_macvlan_parents_docker_would_make(fake_kernel) -> None:
    drv = macvlan.MacvlanDriver()
    fake_kernel({"eth0"}, vlan=True)
    net = _mv({"parent": "eth0.10"})
    drv.validate_create(net)
    assert net.driver_data["created_parent"] == "vlan"
    with pytest.raises(NotFound, match="^-o parent interface was not found on the host: eth7$"):
        drv.validate_create(_mv({"parent": "eth7.10"}))
    for net in (_mv({}), _mv({"parent": "eth0"}, internal=True)):
        drv.validate_create(net)
        assert net.driver_data["parent"] == "dm-aaaaaaaaaaaa"
        assert net.driver_data["created_parent"] == "dummy" and net.driver_data["isolated"]


def test_macvlan_siblings_on_one_parent(fake_kernel) -> None:
    drv = macvlan.MacvlanDriver()
    other = _mv({"parent": "eth0"}, subnet="192.0.2.0/24", id="b" * 64)
    other.driver_data = {"parent": "eth0", "mode": "bridge"}
    fake_kernel({"eth0"}, siblings=[other])
    drv.validate_create(_mv({"parent": "eth0"}, subnet="198.51.100.0/24"))  # other subnet: fine
    with pytest.raises(Conflict, match=f"^network dm-{'b' * 12} is already using parent interface eth0$"):
        drv.validate_create(_mv({"parent": "eth0"}, subnet="192.0.2.0/25"))
    with pytest.raises(Conflict, match=f"^cannot use mode passthru, macvlan network {'b' * 64} "):
        drv.validate_create(_mv({"parent": "eth0", "macvlan_mode": "passthru"}, subnet="198.51.100.0/24"))
    other.driver_data["mode"] = "passthru"
    with pytest.raises(
        Conflict, match=f"^macvlan network {'b' * 64} is already using parent interface eth0 in mode passthru$"
    ):
        drv.validate_create(_mv({"parent": "eth0"}, subnet="198.51.100.0/24"))

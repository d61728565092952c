"""Engine API request bodies -> the core's requests (no server, no root)."""

from __future__ import annotations

import json

import pytest

from pynet.api import containers, networks
from pynet.api.http import Request
from pynet.errors import InvalidArgument

pytestmark = pytest.mark.unit


def _req(body: dict, **query: str) -> Request:
    return Request("POST", "/containers/create", {k: [v] for k, v in query.items()}, {}, json.dumps(body).encode())


def test_docker_pys_minimal_network_create_gets_dockers_defaults() -> None:
    req = networks.create_request({"Name": "pyn"})
    assert (req.name, req.driver, req.ipam_driver, req.ipam_options) == ("pyn", "bridge", "default", None)
    assert (req.subnets, req.internal, req.enable_ipv6, req.labels) == ([], False, False, {})


def test_the_clis_full_network_create_body() -> None:
    body = {
        "Driver": "bridge",
        "Scope": "",
        "EnableIPv6": True,
        "IPAM": {
            "Driver": "default",
            "Options": {"foo": "bar"},
            "Config": [
                {
                    "Subnet": "10.50.0.0/24",
                    "IPRange": "10.50.0.128/25",
                    "Gateway": "10.50.0.1",
                    "AuxiliaryAddresses": {"a": "10.50.0.5"},
                }
            ],
        },
        "Internal": True,
        "Attachable": True,
        "Ingress": False,
        "ConfigOnly": False,
        "ConfigFrom": None,
        "Options": {"com.docker.network.bridge.name": "br-n2"},
        "Labels": {"k": "v"},
        "Name": "n2",
        "CheckDuplicate": True,
        "GwPriority": 5,
    }
    req = networks.create_request(body)
    assert (req.subnets, req.gateways, req.ip_ranges, req.aux_addresses) == (
        ["10.50.0.0/24"],
        ["10.50.0.1"],
        ["10.50.0.128/25"],
        {"a": "10.50.0.5"},
    )
    assert (req.enable_ipv6, req.internal, req.attachable, req.ipam_options) == (True, True, True, {"foo": "bar"})
    assert req.options == {"com.docker.network.bridge.name": "br-n2"} and req.labels == {"k": "v"}


def test_network_modes_default_and_container_reach_the_core() -> None:
    # the 28.x client without --network: NetworkMode and the EndpointsConfig key are "default"
    body = {"Cmd": ["true"], "HostConfig": {"NetworkMode": "default"}}
    run, more = containers.create_request(_req({**body, "NetworkingConfig": {"EndpointsConfig": {"default": {}}}}))
    assert (run.network, more) == ("bridge", [])
    run, _ = containers.create_request(_req({"Cmd": ["true"], "HostConfig": {"NetworkMode": "container:web"}}))
    assert run.network == "container:web"  # the core joins web's sandbox (or refuses, as Docker)


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "network name must be specified"),
        ({"Name": 5}, "network name must be specified"),
        ({"Name": "x", "IPAM": []}, "invalid JSON: IPAM must be an object"),
        ({"Name": "x", "Labels": ["a"]}, "invalid JSON: Labels must be an object of strings"),
        ({"Name": "x", "ConfigOnly": True}, "config-only networks"),
    ],
)
def test_bad_network_bodies_are_400s(body: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        networks.create_request(body)


def test_container_create_reads_what_the_cli_and_docker_py_send() -> None:
    run, more = containers.create_request(
        _req(
            {
                "Image": "busybox",
                "Entrypoint": ["/bin/sh", "-c"],
                "Cmd": ["sleep 1"],
                "Env": ["A=1"],
                "Hostname": "h",
                "WorkingDir": "/tmp",
                "Labels": {"l": "v"},
                "Tty": True,
                "OpenStdin": True,
                "ExposedPorts": {"80/tcp": {}},
                "HostConfig": {
                    "NetworkMode": "a",
                    "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": [{}]},
                    "Dns": ["10.0.0.53"],
                    "ExtraHosts": ["db:10.0.0.9"],
                    "AutoRemove": True,
                },
                "NetworkingConfig": {
                    "EndpointsConfig": {
                        "a": {
                            "Aliases": ["x"],
                            "IPAMConfig": {"IPv4Address": "10.1.0.5", "LinkLocalIPs": ["169.254.8.8"]},
                        },
                        "b": {"Links": ["c1:bar"], "MacAddress": "02-42-AC-11-00-02", "DriverOpts": {"k": "v"}},
                    }
                },
                "NewerField": {"ignored": True},
            },
            name="c9",
        )
    )
    assert (run.name, run.image, run.argv, run.network) == ("c9", "busybox", ["/bin/sh", "-c", "sleep 1"], "a")
    assert (run.env, run.hostname, run.workdir, run.labels, run.tty, run.interactive) == (
        ["A=1"],
        "h",
        "/tmp",
        {"l": "v"},
        True,
        True,
    )
    assert (run.dns, run.extra_hosts, run.auto_remove, run.detach) == (["10.0.0.53"], ["db:10.0.0.9"], True, True)
    assert (run.attach.aliases, run.attach.ipv4, run.attach.link_local_ips) == (["x"], "10.1.0.5", ["169.254.8.8"])
    assert sorted((p.host_ip, p.host_port, p.container_port, p.proto) for p in run.ports) == [
        ("", 0, 53, "udp"),
        ("127.0.0.1", 8080, 80, "tcp"),
    ]
    assert run.exposed == ["53/udp", "80/tcp"]
    [(name, b)] = more
    assert (name, b.links, b.mac, b.driver_opts) == ("b", ["c1:bar"], "02:42:ac:11:00:02", {"k": "v"})


def test_the_network_defaults_to_bridge_or_the_one_endpoint_config() -> None:
    run, more = containers.create_request(_req({"Cmd": ["true"], "HostConfig": {"NetworkMode": "default"}}))
    assert (run.network, more) == ("bridge", [])
    run, more = containers.create_request(_req({"Cmd": ["true"], "NetworkingConfig": {"EndpointsConfig": {"n": {}}}}))
    assert (run.network, more) == ("n", [])
    # docker-py's containers.run sends a malformed NetworkingConfig: ignored, as dockerd
    run, _ = containers.create_request(
        _req({"Cmd": ["true"], "HostConfig": {"NetworkMode": "pyn"}, "NetworkingConfig": {"pyn": None}})
    )
    assert run.network == "pyn"


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "No command specified"),
        ({"Cmd": 5}, "Cmd must be a list"),
        ({"Cmd": ["true"], "HostConfig": []}, "HostConfig must be an object"),
        ({"Cmd": ["true"], "HostConfig": {"Dns": ["nope"]}}, "nope"),
        ({"Cmd": ["true"], "Image": 3}, "Image must be a string"),
        ({"Cmd": ["true"], "Image": "UPPER/case"}, "^invalid reference format: repository name must be lowercase$"),
        ({"Cmd": ["true"], "Image": "bb:lat@st"}, "^invalid reference format$"),
    ],
)
def test_bad_container_bodies_are_400s(body: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        containers.create_request(_req(body))


WRONG = [None, 5, "s", [], {}, [1], {"a": 1}, True, 1.5]


def _paths(obj: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in obj.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out += _paths(value, (*prefix, key))
    return out


def _with(obj: dict, path: tuple, value: object) -> dict:
    copy = json.loads(json.dumps(obj))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


FULL_CREATE = {
    "Image": "",
    "Cmd": ["sleep", "1"],
    "Env": ["A=1"],
    "Labels": {"l": "v"},
    "ExposedPorts": {"80/tcp": {}},
    "HostConfig": {
        "NetworkMode": "a",
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "Dns": ["10.0.0.53"],
        "DnsSearch": ["x"],
        "ExtraHosts": ["db:10.0.0.9"],
    },
    "NetworkingConfig": {"EndpointsConfig": {"a": {"Aliases": ["x"], "IPAMConfig": {"IPv4Address": "10.1.0.5"}}}},
}


@pytest.mark.parametrize("path", _paths(FULL_CREATE), ids=lambda p: ".".join(p))
def test_any_field_of_the_wrong_type_is_a_400_never_a_crash(path: tuple) -> None:
    for value in WRONG:
        try:
            containers.create_request(_req(_with(FULL_CREATE, path, value)))
        except InvalidArgument:
            pass


FULL_NET = {
    "Name": "n",
    "Driver": "bridge",
    "IPAM": {"Driver": "default", "Options": {"a": "b"}, "Config": [{"Subnet": "10.9.0.0/24"}]},
    "Options": {"o": "1"},
    "Labels": {"l": "v"},
}


@pytest.mark.parametrize("path", _paths(FULL_NET), ids=lambda p: ".".join(p))
def test_any_network_field_of_the_wrong_type_is_a_400_never_a_crash(path: tuple) -> None:
    for value in WRONG:
        try:
            networks.create_request(_with(FULL_NET, path, value))
        except InvalidArgument:
            pass


ENDPOINT = {
    "Aliases": ["x"],
    "Links": ["a:b"],
    "IPAMConfig": {"IPv4Address": "10.1.0.5", "LinkLocalIPs": ["169.254.1.1"]},
    "DriverOpts": {"k": "v"},
    "MacAddress": "02:42:ac:11:00:02",
}


class ReachedCore(Exception):
    pass


@pytest.mark.parametrize("path", _paths(ENDPOINT), ids=lambda p: ".".join(p))
def test_an_endpoint_config_of_the_wrong_type_is_a_400_or_harmless(
    path: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused as a 400, or read into well-typed values that the core then checks."""
    from pynet.api import core

    def reached() -> None:
        raise ReachedCore()

    monkeypatch.setattr(core, "controller", reached)
    for value in WRONG:
        body = {"Container": "c1", "EndpointConfig": _with(ENDPOINT, path, value)}
        req = Request("POST", "/networks/n/connect", {}, {}, json.dumps(body).encode(), params={"id": "n"})
        with pytest.raises((InvalidArgument, ReachedCore)):
            networks.connect(req)


def test_query_numbers_and_signals_are_checked() -> None:
    req = Request("POST", "/", {"t": ["x"], "limit": ["3"]}, {})
    assert req.int_arg("limit", -1) == 3 and req.int_arg("nope", 7) == 7
    with pytest.raises(InvalidArgument, match='parsing "x": invalid syntax'):
        req.int_arg("t", 10)
    assert containers._signal("9") == 9 and containers._signal("KILL") == 9 and containers._signal("sigint") == 2
    for bad in ("0", "99999", "NOPE", "٣"):
        with pytest.raises(InvalidArgument, match="Invalid signal"):
            containers._signal(bad)


def _versioned(body: dict, version: str | None) -> Request:
    req = _req(body)
    req.version = version
    return req


def test_several_networks_at_create_need_api_1_44_as_with_moby_25() -> None:
    body = {"Cmd": ["true"], "NetworkingConfig": {"EndpointsConfig": {"a": {}, "b": {}}}}
    for old in ("1.41", "1.43"):
        with pytest.raises(
            InvalidArgument,
            match="^Container cannot be connected to network endpoints: a, b$",  # dockerd 20.10's words
        ):
            containers.create_request(_versioned(body, old))
    for new in ("1.44", None):  # None: an unversioned path means the advertised version
        run, more = containers.create_request(_versioned(body, new))
        assert (run.network, [name for name, _ in more]) == ("a", ["b"])
    one = {"Cmd": ["true"], "NetworkingConfig": {"EndpointsConfig": {"a": {}}}}
    assert containers.create_request(_versioned(one, "1.41"))[0].network == "a"  # control


def test_before_1_44_the_endpoints_mac_is_ignored_and_the_containers_counts() -> None:
    ep = {"EndpointsConfig": {"a": {"MacAddress": "02:42:ac:11:00:02"}}}
    assert containers.create_request(_versioned({"Cmd": ["true"], "NetworkingConfig": ep}, "1.41"))[0].attach.mac == ""
    wide = {"Cmd": ["true"], "MacAddress": "02:42:ac:11:00:09", "NetworkingConfig": ep}
    assert containers.create_request(_versioned(wide, "1.41"))[0].attach.mac == "02:42:ac:11:00:09"
    run = containers.create_request(_versioned({"Cmd": ["true"], "NetworkingConfig": ep}, "1.44"))[0]
    assert run.attach.mac == "02:42:ac:11:00:02"

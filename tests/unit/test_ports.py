"""Port specs (-p/--expose/-P) and Docker's Ports views, against Docker's own outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pynet.records import ports
from pynet.records.model import Container, PortBinding
from pynet.errors import InvalidArgument, NotFound

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "docker" / "inspect-container-web1.json"
PB = PortBinding


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("8080:80", [PB(80, "tcp", "", 8080)]),
        ("127.0.0.1:9090:90/udp", [PB(90, "udp", "127.0.0.1", 9090)]),
        ("192.0.2.7::80", [PB(80, "tcp", "192.0.2.7", 0)]),
        ("80", [PB(80, "tcp", "", 0)]),
        ("53/UDP", [PB(53, "udp", "", 0)]),
        ("9000:9000/sctp", [PB(9000, "sctp", "", 9000)]),
        ("[::1]:8080:80", [PB(80, "tcp", "::1", 8080)]),
        ("::1:8080:80", [PB(80, "tcp", "::1", 8080)]),
        ("8000-8002:80-82", [PB(80, "tcp", "", 8000), PB(81, "tcp", "", 8001), PB(82, "tcp", "", 8002)]),
        ("80-81", [PB(80, "tcp", "", 0), PB(81, "tcp", "", 0)]),
        ("published=8080,target=80", [PB(80, "tcp", "", 8080)]),
        ("target=53,protocol=udp", [PB(53, "udp", "", 0)]),
    ],
)
def test_parse_publish(spec: str, expected: list[PortBinding]) -> None:
    assert ports.parse_publish([spec]) == expected


def test_parse_publish_keeps_order_across_specs() -> None:
    got = ports.parse_publish(["8080:80", "127.0.0.1:9090:90/udp"])
    assert [(b.container_port, b.host_port) for b in got] == [(80, 8080), (90, 9090)]


def test_host_range_for_one_container_port_is_a_dynamic_range() -> None:
    (b,) = ports.parse_publish(["8000-8010:80"])
    assert (b.container_port, b.host_port, b.host_port_end) == (80, 8000, 8010)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("abc", "Invalid containerPort: abc"),
        ("8080:abc", "Invalid containerPort: abc"),
        ("x:80", "Invalid hostPort: x"),
        ("70000:80", "Invalid hostPort: 70000"),
        ("80-70", "Invalid containerPort: 80-70"),
        ("8000-8001:80-90", "Invalid ranges specified for container and host Ports: 80-90 and 8000-8001"),
        ("80/foo", "Invalid proto: foo"),
        ("1.2.3:80:80", "Invalid ip address: 1.2.3"),
        ("8080:", "No port specified: 8080:<empty>"),
        ("", "No port specified: <empty>"),
        ("published=8080", 'missing mandatory field "target"'),
        ("target=80,bogus=1", "invalid field key bogus"),
    ],
)
def test_parse_publish_errors_use_dockers_words(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        ports.parse_publish([spec])
    assert info.value.message == message
    assert not info.value.from_daemon  # Docker's CLI rejects these before calling the daemon


def test_parse_expose() -> None:
    assert ports.parse_expose(["80", "53/udp", "8000-8002", "80/tcp"]) == [
        "80/tcp",
        "53/udp",
        "8000/tcp",
        "8001/tcp",
        "8002/tcp",
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("80:80", "invalid port format for --expose: 80:80"),
        ("abc", 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'),
        (
            "70000",
            'invalid range format for --expose: 70000, error: strconv.ParseUint: parsing "70000": value out of range',
        ),
        ("90-80", "invalid range format for --expose: 90-80, error: Invalid range specified for the Port: 90-80"),
    ],
)
def test_parse_expose_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        ports.parse_expose([spec])


def test_publish_all_asks_a_random_port_for_every_exposed_one() -> None:
    assert ports.publish_all(["80/tcp", "53/udp"]) == [PB(80, "tcp", "", 0), PB(53, "udp", "", 0)]


def test_exposed_keys_include_published_container_ports() -> None:
    assert ports.exposed_keys(ports.parse_publish(["8080:80", "9090:90/udp"]), ["443/tcp"]) == [
        "443/tcp",
        "80/tcp",
        "90/udp",
    ]


def _web1(**kw: object) -> Container:
    c = Container(
        id="x" * 64,
        name="web1",
        created="",
        path="sleep",
        status="running",
        exposed=["80/tcp", "90/udp"],
        ports=[PB(80, "tcp", "", 8080), PB(90, "udp", "127.0.0.1", 9090)],
    )
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_ports_view_is_exactly_dockers() -> None:
    ref = json.loads(REFERENCE.read_text())[0]["NetworkSettings"]["Ports"]
    got = ports.ports_view(_web1())
    assert got == ref
    assert json.dumps(got) == json.dumps(ref)  # same key order too


def test_ports_view_exposed_only_is_null_and_keys_sorted_like_go() -> None:
    got = ports.ports_view(_web1(exposed=["80/tcp", "90/udp", "443/tcp"]))
    assert list(got) == ["443/tcp", "80/tcp", "90/udp"]
    assert got["443/tcp"] is None


def test_ports_view_of_a_stopped_container_is_empty() -> None:
    assert ports.ports_view(_web1(status="exited")) == {}
    assert ports.port_lines(_web1(status="exited")) == []


def test_port_lines_like_docker_port() -> None:
    assert ports.port_lines(_web1()) == ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080", "90/udp -> 127.0.0.1:9090"]
    assert ports.port_lines(_web1(), "80") == ["0.0.0.0:8080", "[::]:8080"]
    assert ports.port_lines(_web1(), "90/udp") == ["127.0.0.1:9090"]


def test_port_lines_natural_sort() -> None:
    c = _web1(exposed=[], ports=[PB(1000, "tcp", "", 2), PB(9, "tcp", "", 1)])
    assert ports.port_lines(c) == [
        "9/tcp -> 0.0.0.0:1",
        "9/tcp -> [::]:1",
        "1000/tcp -> 0.0.0.0:2",
        "1000/tcp -> [::]:2",
    ]


def test_port_lines_unknown_port() -> None:
    with pytest.raises(NotFound) as info:
        ports.port_lines(_web1(), "443")
    assert info.value.render() == "Error: No public port '443' published for web1"
    with pytest.raises(InvalidArgument) as bad:
        ports.port_lines(_web1(), "x")
    assert bad.value.render() == 'Error: invalid port (x): strconv.ParseUint: parsing "x": invalid syntax'


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("", "127.0.0.1", True),
        ("0.0.0.0", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "192.0.2.1", False),
        ("::", "::1", True),
        ("::", "127.0.0.1", False),
        ("0.0.0.0", "::1", False),
        ("::1", "::", True),
    ],
)
def test_overlaps(a: str, b: str, expected: bool) -> None:
    assert ports.overlaps(a, b) is expected

"""The Engine API server skeleton: routing, versions, errors, bodies, keep-alive, streams.

An in-process server on a unix socket in a temp dir; no root, no kernel (only endpoints
that refuse before any core work, or that need none).
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiclient import UnixConnection, call, raw_exchange, request, served_in_process
from pynet.api import http as api_http
from pynet.api import routes, server, version
from pynet.errors import InvalidArgument

pytestmark = pytest.mark.unit


@pytest.fixture
def sock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with served_in_process(tmp_path, monkeypatch) as path:
        yield path


def test_the_socket_is_0660_and_removed_at_shutdown(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    srv = server.Server(path, group_id=None)
    assert oct(os.stat(path).st_mode & 0o777) == "0o660"
    srv.server_close()
    assert not os.path.exists(path)


def test_ping_has_dockerds_headers_for_get_and_head(sock: str) -> None:
    status, headers, body = request(sock, "GET", "/_ping")
    assert (status, body) == (200, b"OK")
    assert headers["api-version"] == version.API_VERSION
    assert headers["ostype"] == "linux" and headers["docker-experimental"] == "false"
    assert headers["cache-control"] == "no-cache, no-store, must-revalidate" and headers["pragma"] == "no-cache"
    status, headers, body = request(sock, "HEAD", "/_ping")
    assert (status, body, headers["content-length"]) == (200, b"", "0")
    assert request(sock, "GET", "/v1.41/_ping")[2] == b"OK"


def test_version_reports_what_pynet_implements(sock: str) -> None:
    status, body = call(sock, "GET", "/version")
    assert status == 200
    assert body["ApiVersion"] == version.API_VERSION and body["MinAPIVersion"] == "1.24"
    assert body["Os"] == "linux" and body["Components"][0]["Name"] == "Engine"


def test_versions_outside_the_range_get_dockerds_400(sock: str) -> None:
    assert call(sock, "GET", "/v1.99/version") == (
        400,
        {"message": f"client version 1.99 is too new. Maximum supported API version is {version.API_VERSION}"},
    )
    assert call(sock, "GET", "/v1.12/version") == (
        400,
        {
            "message": "client version 1.12 is too old. Minimum supported API version is 1.24, "
            "please upgrade your client to a newer version"
        },
    )
    assert call(sock, "GET", f"/v{version.API_VERSION}/version")[0] == 200
    assert call(sock, "GET", "/v1.24/version")[0] == 200


def test_unknown_paths_are_page_not_found_and_wrong_methods_405(sock: str) -> None:
    assert call(sock, "GET", "/nope") == (404, {"message": "page not found"})
    assert call(sock, "GET", "/v1.41/containers/x/nope") == (404, {"message": "page not found"})
    assert call(sock, "PUT", "/version")[0] == 405


def test_swarm_endpoints_answer_as_a_node_outside_a_swarm(sock: str) -> None:
    status, body = call(sock, "POST", "/v1.41/swarm/leave?force=True")
    assert status == 503 and "not a swarm manager" in body["message"]
    assert call(sock, "GET", "/swarm")[0] == 503


def test_pull_is_refused_with_how_to_import(sock: str) -> None:
    status, body = call(sock, "POST", "/images/create?fromImage=alpine&tag=3.10")
    assert status == 404
    assert body["message"].startswith("pull access denied for alpine:3.10") and "pynet image import" in body["message"]


@pytest.mark.parametrize("body", [b"{", b"not json", b"[1,2]", b'{"Name": "x"', b'{"Name": ' + b"[" * 100_000])
def test_malformed_json_is_400(sock: str, body: bytes) -> None:
    status, reply = call(sock, "POST", "/networks/create", body)
    assert status == 400 and reply["message"].startswith("invalid JSON")
    # the server is still there
    assert call(sock, "GET", "/version")[0] == 200


def test_an_oversize_body_is_refused_before_it_is_read(sock: str) -> None:
    head = (
        "POST /networks/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {api_http.MAX_BODY + 1}\r\n\r\n"
    ).encode()
    reply = raw_exchange(sock, head + b"{")
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"request body too large" in reply


def test_an_oversize_chunked_body_is_refused(sock: str) -> None:
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(api_http.MAX_BODY // len(chunk) + 2))
    head = b"POST /networks/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = raw_exchange(sock, head + body + b"0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_is_read(sock: str) -> None:
    payload = b'{"Name": ""}'
    head = b"POST /networks/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    reply = raw_exchange(sock, head + body)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"network name must be specified" in reply


def test_keep_alive_serves_several_requests_on_one_connection(sock: str) -> None:
    conn = UnixConnection(sock)
    try:
        for _ in range(3):
            conn.request("GET", "/_ping")
            resp = conn.getresponse()
            assert resp.read() == b"OK"
        conn.request("GET", "/nope")
        resp = conn.getresponse()
        assert resp.status == 404 and json.loads(resp.read()) == {"message": "page not found"}
        conn.request("GET", "/version")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_a_deeply_nested_filter_is_400(sock: str) -> None:
    status, reply = call(sock, "GET", "/networks?filters=" + "[" * 20_000)
    assert (status, reply["message"]) == (400, "invalid filter: nested too deeply")


def test_filters_are_read_in_both_encodings() -> None:
    def filters(raw: str) -> dict[str, list[str]]:
        return api_http.Request("GET", "/", {"filters": [raw]}, {}).filters()

    assert filters('{"name":{"n1":true},"driver":{"bridge":true}}') == {"name": ["n1"], "driver": ["bridge"]}
    assert filters('{"name":["n1","n2"]}') == {"name": ["n1", "n2"]}
    assert filters("{}") == {}
    with pytest.raises(api_http.InvalidArgument):
        filters("{bad")


def test_docker_booleans() -> None:
    for raw in ("1", "true", "True", "yes"):
        assert api_http.bool_value(raw)
    for raw in ("", "0", "false", "False", "no", "none", None):
        assert not api_http.bool_value(raw)


def test_every_route_names_a_handler_that_exists() -> None:
    seen = set()
    for route in routes.compiled():
        assert callable(route.handler()), route.target
        key = (route.method, route.pattern)
        assert key not in seen, f"duplicate route {key}"
        seen.add(key)


def test_route_params_are_percent_decoded() -> None:
    route, params = routes.match("DELETE", "/networks/test%2001")
    assert route.target == "pynet.api.networks:remove" and params == {"id": "test 01"}
    route, params = routes.match("POST", "/swarm/leave")
    assert params == {"action": "leave"}
    assert routes.match("GET", "/nothing/here") is None


def test_a_stream_sends_its_headers_before_the_first_chunk(sock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()

    def slow(req: api_http.Request) -> api_http.Response:
        def chunks() -> Iterator[bytes]:
            gate.wait(10)
            yield b'{"done":true}\n'

        return api_http.Response(content_type="application/json", stream=chunks())

    monkeypatch.setattr(routes, "_COMPILED", [*routes.compiled(), _fake_route("POST", "/slow", slow)])
    conn = UnixConnection(sock, timeout=5)
    try:
        conn.request("POST", "/slow")
        resp = conn.getresponse()  # returns on the headers: the gate is still closed
        assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
        gate.set()
        assert json.loads(resp.read()) == {"done": True}
    finally:
        conn.close()


def test_hijack_answers_101_and_hands_over_the_raw_connection(sock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def echo(req: api_http.Request) -> api_http.Response:
        reader, writer = req.hijack()
        writer.write(b"got:" + reader.read(5))
        writer.flush()
        return api_http.Response(hijacked=True)

    monkeypatch.setattr(routes, "_COMPILED", [*routes.compiled(), _fake_route("POST", "/echo", echo)])
    reply = raw_exchange(
        sock, b"POST /v1.41/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello"
    )
    head, _, rest = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED") and b"Upgrade: tcp" in head
    assert rest == b"got:hello"


def _scanned(method: str, path: str) -> object:
    """What the ordered scan of every route gives (the route, "405" or None)."""
    path_matched = False
    for route in routes.compiled():
        if route.regex.match(path) is None:
            continue
        if route.method == method:
            return route
        path_matched = True
    return "405" if path_matched else None


def test_the_literal_route_lookup_picks_what_the_ordered_scan_picks() -> None:
    assert ("HEAD", "/_ping") in routes._exact() and ("GET", "/networks") in routes._exact()
    for route in routes.compiled():
        for method in ("GET", "HEAD", "POST", "DELETE", "PUT"):
            for path in (route.pattern, route.pattern + "/", route.pattern.replace("{", "x").replace("}", "")):
                try:
                    found = routes.match(method, path)
                    got: object = found[0] if found else None
                except api_http.ApiError:
                    got = "405"
                assert got == _scanned(method, path), (method, path)
    # GET /networks/create is inspect of a network named "create", not the POST route
    route, params = routes.match("GET", "/networks/create")
    assert route.target == "pynet.api.networks:inspect" and params == {"id": "create"}


def test_a_replaced_route_table_is_looked_up_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = _fake_route("GET", "/slow", lambda req: api_http.empty())
    monkeypatch.setattr(routes, "_COMPILED", [*routes.compiled(), extra])
    assert routes.match("GET", "/slow") == (extra, {})


def test_a_remembered_version_split_still_refuses_a_bad_version() -> None:
    assert version.split_version("/v1.41/networks") == ("1.41", "/networks")
    assert version.split_version("/v1.41/networks") == ("1.41", "/networks")
    for _ in range(2):
        with pytest.raises(InvalidArgument, match="too new"):
            version.split_version("/v1.99/networks")


def _fake_route(method: str, pattern: str, fn):  # type: ignore[no-untyped-def]
    route = routes.Route(method, pattern, "x:y")
    route.handler = lambda: fn  # type: ignore[method-assign]
    return route


def _mutations(seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    samples = [
        b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
        b'POST /v1.41/networks/create HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{"Name":"a"}\n',
        b"GET /v1.41/networks?filters=%7B%22name%22%3A%5B%22a%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /containers/x/attach?stream=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        b'POST /networks/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n',
    ]
    for _ in range(150):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(4)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif op == 1:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            elif op == 2:
                del data[pos : pos + rng.randint(1, 8)]
            else:
                data[pos:pos] = rng.choice([b"\r\n", b"Content-Length: 99999999999\r\n", b"%", b"/v1.99", b"{}"])
        yield bytes(data)
    for _ in range(30):
        yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))


def test_fuzzed_requests_never_crash_the_server(sock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random bytes and mutated requests: every reply is HTTP or nothing, never a 500 from
    the parser, and the server answers a good request afterwards."""
    # core work is out of scope here: handlers that would reach the store refuse at once
    from pynet.api import core

    def no_core(*_a: object, **_k: object) -> None:
        raise api_http.ApiError(503, "core disabled in this test")

    monkeypatch.setattr(core, "reader", no_core)
    monkeypatch.setattr(core, "controller", no_core)
    for data in _mutations(14):
        reply = raw_exchange(sock, data, timeout=3)
        assert reply == b"" or reply.startswith(b"HTTP/1."), (data, reply[:200])
        assert b" 500 " not in reply.split(b"\r\n", 1)[0], (data, reply[:300])
    assert request(sock, "GET", "/_ping")[:3:2] == (200, b"OK")


def test_a_socket_path_too_long_for_sun_path_is_one_line() -> None:
    fits = "/" + "s" * 106
    assert server.parse_host("unix://" + fits) == fits
    with pytest.raises(InvalidArgument, match="^invalid -H unix:///s+: a unix socket path has at most 107 bytes$"):
        server.parse_host("unix:///" + "s" * 107)

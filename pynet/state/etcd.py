"""The cluster store: etcd v3 through its JSON gateway (``/v3/kv/*``, ``/v3/lease/*``,
``/v3/watch``), spoken over plain HTTP/1.1 sockets.

Why not the ``etcd3gw`` client: it pulls in ``requests`` and friends (~100 ms of imports
on every command of a cluster member); what pynet needs is a handful of POSTs of small
JSON bodies, so a 100-line client on ``socket`` does it with nothing but the standard
library. Keys and values are bytes on the wire (base64 in JSON); 64-bit numbers come
back as strings.

Also here: the node's cluster membership file (``<state>/cluster.json``), read by the
CLI, the overlay driver and the helper daemon alike.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.errors import InvalidArgument, Unavailable
from pynet.state.http import ResponseReader, build_request

PREFIX = "/pynet/"
DEFAULT_TIMEOUT = 3.0
CONFIG_NAME = "cluster.json"
CONFIG_VERSION = 1


# -- membership file -----------------------------------------------------------------
@dataclass
class ClusterConfig:
    """What ``pynet cluster join`` recorded for this node."""

    store: str  # "etcd://203.0.113.254:2379"
    advertise_addr: str  # this node's underlay address (its VTEP)
    node_id: str  # 12 hex digits
    node_name: str  # "<hostname>-<node_id>", as libnetwork names its peers
    hostname: str
    ttl: int = 5  # lease TTL in seconds: liveness of this node


def config_path(state_dir: Path) -> Path:
    return Path(state_dir) / CONFIG_NAME


def load_config(state_dir: Path) -> ClusterConfig | None:
    """This node's membership, or None when it has not joined a cluster."""
    from pynet.state.store import read_json

    path = config_path(state_dir)
    try:
        raw = read_json(path)
    except FileNotFoundError:
        return None
    from pynet.errors import StateCorrupt

    if not isinstance(raw, dict) or raw.get("schema_version") != CONFIG_VERSION:
        raise StateCorrupt(f"state file {path} is corrupt: unknown cluster membership format")
    try:
        return ClusterConfig(**{k: raw[k] for k in ClusterConfig.__dataclass_fields__ if k in raw})
    except TypeError as exc:
        raise StateCorrupt(f"state file {path} is corrupt: {exc}") from None


def save_config(state_dir: Path, cfg: ClusterConfig) -> None:
    from pynet.state.store import atomic_write

    atomic_write(config_path(state_dir), {"schema_version": CONFIG_VERSION, **asdict(cfg)})


def remove_config(state_dir: Path) -> None:
    try:
        os.unlink(config_path(state_dir))
    except FileNotFoundError:
        pass


# -- URLs and encoding ---------------------------------------------------------------
def parse_url(url: str) -> tuple[str, int]:
    """``etcd://host:port`` (or ``http://``, or bare ``host:port``) -> (host, port)."""
    rest = url
    for scheme in ("etcd://", "http://"):
        if rest.startswith(scheme):
            rest = rest[len(scheme) :]
            break
    else:
        if "://" in rest:
            raise InvalidArgument(f"unsupported cluster store {url!r}: use etcd://HOST:PORT")
    rest = rest.rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, "2379"
    host = host.strip("[]")
    if not _host_ok(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"invalid cluster store address {url!r}: use etcd://HOST:PORT")
    return host, int(port)


def _host_ok(host: str) -> bool:
    """An IP address or a DNS name (so ``etcd//h`` is refused, not looked up as a name)."""
    if ":" in host:
        import ipaddress

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    labels = host.split(".")
    return (
        bool(host)
        and len(host) <= 253
        and all(
            label
            and len(label) <= 63
            and label[0] != "-"
            and label[-1] != "-"
            and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
            for label in labels
        )
    )


def b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: str) -> str:
    """The range_end that makes a range cover every key starting with ``prefix``."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return b64(bytes(raw))


@dataclass
class KV:
    """One key as etcd returns it."""

    key: str
    value: bytes
    create_revision: int = 0
    mod_revision: int = 0
    version: int = 0
    lease: int = 0

    def json(self) -> Any:
        return json.loads(self.value) if self.value else None


def kv_from(raw: dict[str, Any]) -> KV:
    return KV(
        key=unb64(raw.get("key")).decode(),
        value=unb64(raw.get("value")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
        version=int(raw.get("version", 0)),
        lease=int(raw.get("lease", 0)),
    )


# -- transaction building blocks ---------------------------------------------------
def if_absent(key: str) -> dict[str, Any]:
    return {"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}


def if_present(key: str) -> dict[str, Any]:
    return {"key": b64(key), "target": "VERSION", "result": "GREATER", "version": "0"}


def if_mod(key: str, revision: int) -> dict[str, Any]:
    """``key`` unchanged since ``revision`` (0: still absent)."""
    if revision == 0:
        return if_absent(key)
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


def put_op(key: str, value: Any, lease: int = 0) -> dict[str, Any]:
    data = value if isinstance(value, (bytes, str)) else json.dumps(value, sort_keys=True)
    body: dict[str, Any] = {"key": b64(key), "value": b64(data)}
    if lease:
        body["lease"] = str(lease)
    return {"request_put": body}


def delete_op(key: str, *, prefix: bool = False) -> dict[str, Any]:
    body = {"key": b64(key)}
    if prefix:
        body["range_end"] = prefix_end(key)
    return {"request_delete_range": body}


def range_op(key: str, *, prefix: bool = False, keys_only: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"key": b64(key)}
    if prefix:
        body["range_end"] = prefix_end(key)
    if keys_only:
        body["keys_only"] = True
    return {"request_range": body}


class StoreError(Unavailable):
    """etcd answered with an error (``code`` is the gRPC status code)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def error_of(status: int, body: bytes) -> StoreError:
    try:
        raw = json.loads(body)
        message, code = raw.get("message") or raw.get("error") or "", int(raw.get("code", 0))
    except (ValueError, AttributeError):
        message, code = body[:200].decode(errors="replace"), 0
    return StoreError(f"cluster store error: {message or f'HTTP {status}'}", code)


LEASE_NOT_FOUND = 5  # gRPC NotFound, as etcd answers for an expired lease


# -- the client ----------------------------------------------------------------------
# Stores that did not answer during this command: (host, port) -> the reason. One wait
# per command is enough; without this a command paid every call's timeout in turn.
_UNREACHABLE: dict[tuple[str, int], str] = {}


class Etcd:
    """A blocking etcd v3 client for short CLI calls (each call: one connection).

    ``remember``: once the store did not answer, later calls of this process fail at once
    with the same reason (for one-shot commands; the helper daemon keeps retrying instead).
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, remember: bool = False) -> None:
        self.host, self.port = parse_url(url)
        self.timeout = timeout
        self.remember = remember

    @property
    def url(self) -> str:
        return f"etcd://{self.host}:{self.port}"

    def unreachable(self, reason: str) -> Unavailable:
        if self.remember:
            _UNREACHABLE[(self.host, self.port)] = reason
        return Unavailable(f"cannot reach the cluster store at {self.url}: {reason}")

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``path``; the decoded JSON answer (a stream's first message)."""
        if self.remember and (self.host, self.port) in _UNREACHABLE:
            raise self.unreachable(_UNREACHABLE[(self.host, self.port)])
        deadline = time.monotonic() + self.timeout
        reader = ResponseReader()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(build_request(self.host, self.port, path, body))
                while not reader.done:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("timed out")
                    sock.settimeout(left)
                    chunk = sock.recv(65536)
                    if not chunk:
                        reader.eof()
                        break
                    reader.feed(chunk)
        except TimeoutError:
            raise self.unreachable(f"no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise self.unreachable((exc.strerror or str(exc)).lower()) from None
        except ValueError as exc:
            raise self.unreachable(str(exc)) from None
        if reader.status != 200:
            raise error_of(reader.status, bytes(reader.body))
        text = bytes(reader.body).strip()
        first = text.split(b"\n", 1)[0] if text else b"{}"
        answer = json.loads(first)
        if isinstance(answer.get("error"), dict):  # an error inside a stream
            raise error_of(500, json.dumps(answer["error"]).encode())
        return answer.get("result", answer)

    # -- kv ----------------------------------------------------------------------------
    def get(self, key: str) -> KV | None:
        found = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs") or []
        return kv_from(found[0]) if found else None

    def range(self, prefix: str, *, keys_only: bool = False) -> tuple[list[KV], int]:
        """Every key under ``prefix`` and the store revision they were read at."""
        body = range_op(prefix, prefix=True, keys_only=keys_only)["request_range"]
        answer = self.call("/v3/kv/range", body)
        revision = int(answer.get("header", {}).get("revision", 0))
        return [kv_from(kv) for kv in answer.get("kvs") or []], revision

    def put(self, key: str, value: Any, lease: int = 0) -> None:
        self.call("/v3/kv/put", put_op(key, value, lease)["request_put"])

    def delete(self, key: str, *, prefix: bool = False) -> int:
        answer = self.call("/v3/kv/deleterange", delete_op(key, prefix=prefix)["request_delete_range"])
        return int(answer.get("deleted", 0))

    def txn(
        self, compare: list[dict[str, Any]], success: list[dict[str, Any]], failure: list[dict[str, Any]] | None = None
    ) -> tuple[bool, list[dict[str, Any]], int]:
        """Atomically: if every ``compare`` holds run ``success`` else ``failure``.

        Returns (succeeded, responses, revision).
        """
        answer = self.call("/v3/kv/txn", {"compare": compare, "success": success, "failure": failure or []})
        revision = int(answer.get("header", {}).get("revision", 0))
        return bool(answer.get("succeeded")), answer.get("responses") or [], revision

    def read_many(self, ops: list[dict[str, Any]]) -> tuple[list[list[KV]], int]:
        """Several ranges read at one revision (one round trip)."""
        _, responses, revision = self.txn([], ops)
        out = []
        for resp in responses:
            kvs = (resp.get("response_range") or {}).get("kvs") or []
            out.append([kv_from(kv) for kv in kvs])
        while len(out) < len(ops):
            out.append([])
        return out, revision

    # -- leases --------------------------------------------------------------------------
    def grant(self, ttl: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl)})["ID"])

    def keepalive(self, lease: int) -> int:
        """Refresh a lease; its remaining TTL (0 when it is gone)."""
        return int(self.call("/v3/lease/keepalive", {"ID": str(lease)}).get("TTL", 0))

    def revoke(self, lease: int) -> None:
        try:
            self.call("/v3/lease/revoke", {"ID": str(lease)})
        except StoreError as exc:
            if exc.code != LEASE_NOT_FOUND:
                raise


def client(cfg: ClusterConfig, *, timeout: float = DEFAULT_TIMEOUT) -> Etcd:
    """The store of ``cfg`` for a command: a store that did not answer is not waited for twice."""
    return Etcd(cfg.store, timeout=timeout, remember=True)


# -- the layout under /pynet/ --------------------------------------------------------------
NODES = PREFIX + "nodes/"  # <node>: {"id","name","hostname","addr"} (members)
ALIVE = PREFIX + "alive/"  # <node>: {"addr"} on the node's lease (liveness)
NETWORKS = PREFIX + "networks/"  # <network id>: the Network record (+ "vni")
SEQ_NETWORKS = PREFIX + "seq/networks"  # bumped by every network create/remove
NETREV = PREFIX + "netrev/"  # <network id>: bumped by every address allocation
IPAM = PREFIX + "ipam/"  # <network id>/<ip>: {"endpoint","node"}
ENDPOINTS = PREFIX + "endpoints/"  # <network id>/<node>/<endpoint id>: peer record


def node_key(node: str) -> str:
    return NODES + node


def alive_key(node: str) -> str:
    return ALIVE + node


def network_key(network_id: str) -> str:
    return NETWORKS + network_id


def netrev_key(network_id: str) -> str:
    return NETREV + network_id


def ipam_prefix(network_id: str) -> str:
    return f"{IPAM}{network_id}/"


def ipam_key(network_id: str, address: str) -> str:
    return f"{IPAM}{network_id}/{address}"


def endpoints_prefix(network_id: str) -> str:
    return f"{ENDPOINTS}{network_id}/"


def endpoint_key(network_id: str, node: str, endpoint_id: str) -> str:
    return f"{ENDPOINTS}{network_id}/{node}/{endpoint_id}"


def split_endpoint_key(key: str) -> tuple[str, str, str] | None:
    """``/pynet/endpoints/<net>/<node>/<ep>`` -> (net, node, ep)."""
    if not key.startswith(ENDPOINTS):
        return None
    parts = key[len(ENDPOINTS) :].split("/")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


# -- cleanups that waited for the store ----------------------------------------------------
OUTBOX_NAME = "cluster-outbox.json"


def queue_cleanup(state_dir: Path, item: dict[str, Any]) -> None:
    """Remember a store cleanup that failed (store unreachable) for the next sync."""
    from pynet.state.store import atomic_write

    items = pending_cleanups(state_dir)
    if item not in items:
        items.append(item)
    atomic_write(Path(state_dir) / OUTBOX_NAME, items)


def run_cleanup(store: Etcd, item: dict[str, Any]) -> None:
    """Apply one cleanup (as queued by the overlay driver) to the store; idempotent."""
    if item.get("what") == "addresses":
        release_addresses(store, item["network_id"], item["endpoint_id"])
    elif item.get("what") == "endpoint":
        store.delete(item["key"])


def release_addresses(store: Etcd, network_id: str, endpoint_id: str) -> None:
    """Free every address ``endpoint_id`` holds on the network; idempotent."""
    found, _ = store.range(ipam_prefix(network_id))
    mine = [x for x in found if (x.json() or {}).get("endpoint") == endpoint_id]
    if mine:
        store.txn([], [delete_op(x.key) for x in mine] + [put_op(netrev_key(network_id), endpoint_id)])


def pending_cleanups(state_dir: Path) -> list[dict[str, Any]]:
    from pynet.state.store import read_json

    try:
        items = read_json(Path(state_dir) / OUTBOX_NAME)
    except FileNotFoundError:
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def save_cleanups(state_dir: Path, items: list[dict[str, Any]]) -> None:
    from pynet.state.store import atomic_write

    path = Path(state_dir) / OUTBOX_NAME
    if items:
        atomic_write(path, items)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

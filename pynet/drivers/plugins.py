"""Docker's plugin discovery and its JSON-over-HTTP client (``pkg/plugins`` in moby).

Where plugins are found (first match wins), the request format, the timeout
(``$PYNET_PLUGIN_TIMEOUT``) and retries: plugins.md, "How pynet finds a plugin" and
"Failures, timeouts, rollback".
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any
from urllib.parse import urlparse

from pynet.errors import NotFound, PynetError, Timeout, Unavailable, Unsupported

MIMETYPE = "application/vnd.docker.plugins.v1.2+json"
PLUGIN_DIR_ENV = "PYNET_PLUGIN_DIR"
DEFAULT_PLUGIN_DIR = "/run/pynet/plugins"
TIMEOUT_ENV = "PYNET_PLUGIN_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
DOCKER_SOCKET_DIRS = ("/run/docker/plugins",)
DOCKER_SPEC_DIRS = ("/etc/docker/plugins", "/usr/lib/docker/plugins")
#: the longest answer read from a plugin (a guard against a runaway one)
MAX_ANSWER = 4 * 1024 * 1024


@dataclass(frozen=True)
class PluginAddress:
    """Where plugin ``name`` listens: ``scheme`` "unix" (``address`` = path) or "tcp" (host:port)."""

    name: str
    scheme: str
    address: str
    source: str  # the socket or spec file it was found through


# -- discovery ---------------------------------------------------------------------------
def plugin_dir() -> Path:
    """pynet's own plugin directory (``$PYNET_PLUGIN_DIR`` overrides)."""
    return Path(os.environ.get(PLUGIN_DIR_ENV) or DEFAULT_PLUGIN_DIR)


def call_timeout() -> float:
    """Seconds a plugin call may take (``$PYNET_PLUGIN_TIMEOUT``, default 10)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _candidates(base: str | Path, name: str, ext: str) -> list[Path]:
    return [Path(base) / f"{name}{ext}", Path(base) / name / f"{name}{ext}"]


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def discover(name: str) -> PluginAddress:
    """Find plugin ``name`` as Docker does (plus pynet's directory first)."""
    if not name or "/" in name or name.startswith(".") or "\0" in name:
        raise NotFound(f'plugin "{name}" not found')
    own = plugin_dir()
    socket_dirs = [own, *DOCKER_SOCKET_DIRS]
    spec_dirs = [own, *DOCKER_SPEC_DIRS]
    for base in socket_dirs:
        for path in _candidates(base, name, ".sock"):
            if _is_socket(path):
                return PluginAddress(name, "unix", str(path), str(path))
    for base in spec_dirs:
        for ext in (".spec", ".json"):
            for path in _candidates(base, name, ext):
                if path.is_file():
                    return read_spec(name, path)
    raise NotFound(f'plugin "{name}" not found')


def read_spec(name: str, path: Path) -> PluginAddress:
    """Parse a ``.spec`` (one URL) or ``.json`` (``{"Addr": URL, ...}``) plugin file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise Unavailable(f'plugin "{name}": cannot read {path}: {exc.strerror}') from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Unavailable(f'plugin "{name}": {path} is not valid JSON: {exc}') from None
        if not isinstance(data, dict) or not isinstance(data.get("Addr"), str):
            raise Unavailable(f'plugin "{name}": {path} has no "Addr" string')
        tls = data.get("TLSConfig") or {}
        if isinstance(tls, dict) and any(tls.get(k) for k in ("CAFile", "CertFile", "KeyFile")):
            raise Unsupported(f'plugin "{name}": TLS plugin addresses are not supported by pynet ({path})')
        text = data["Addr"]
    return parse_url(name, text.strip(), str(path))


def parse_url(name: str, url: str, source: str) -> PluginAddress:
    """``unix:///run/x.sock`` / ``tcp://127.0.0.1:9000`` / ``http://...`` -> PluginAddress."""
    parsed = urlparse(url)
    if not parsed.scheme:
        raise Unavailable(f'plugin "{name}": {source}: Unknown protocol in "{url}"')
    if parsed.scheme == "unix":
        path = parsed.path or parsed.netloc
        if not path:
            raise Unavailable(f'plugin "{name}": {source}: no socket path in "{url}"')
        return PluginAddress(name, "unix", path, source)
    if parsed.scheme in ("tcp", "http"):
        if not parsed.netloc:
            raise Unavailable(f'plugin "{name}": {source}: no host:port in "{url}"')
        return PluginAddress(name, "tcp", parsed.netloc, source)
    if parsed.scheme == "https":
        raise Unsupported(f'plugin "{name}": TLS plugin addresses are not supported by pynet ({source})')
    raise Unavailable(f'plugin "{name}": {source}: Unknown protocol in "{url}"')


# -- the client ----------------------------------------------------------------------------
class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the Host header says "plugin", as Docker's client does)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("plugin", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class PluginError(PynetError):
    """The plugin answered, with an error of its own (``{"Err": ...}`` or an HTTP error)."""


class PluginClient:
    """Calls the methods of one plugin; every call is bounded by ``timeout`` seconds."""

    def __init__(self, addr: PluginAddress, timeout: float | None = None) -> None:
        self.addr = addr
        self.timeout = timeout if timeout is not None else call_timeout()

    def call(self, method: str, payload: Any = None, *, optional: bool = False) -> dict[str, Any]:
        """POST ``/<method>``; the decoded JSON object answered.

        ``optional``: a 404 (the plugin does not implement ``method``) answers ``{}``.
        Raises PluginError (the plugin's own error), Timeout, or Unavailable (unreachable,
        or an answer that is not a JSON object).
        """
        body = b"" if payload is None else json.dumps(payload).encode()
        status, raw = self._send(method, body)
        if status == 404 and optional:
            return {}
        if status != 200:
            raise PluginError(f"{method}: {_error_text(raw)}")
        data = self._decode(method, raw)
        err = data.get("Err") or data.get("Error")  # network plugins: Err; old IPAM ones: Error
        if err:
            raise PluginError(f"remote: {err}")
        return data

    def _decode(self, method: str, raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Unavailable(
                f'plugin "{self.addr.name}" sent an invalid answer to {method}: '
                f"{_preview(raw)} (expected a JSON object)"
            )
        return data

    def _send(self, method: str, body: bytes) -> tuple[int, bytes]:
        deadline = time.monotonic() + self.timeout
        delay = 0.05
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(method)
            try:
                return self._once(method, body, remaining)
            except (ConnectionRefusedError, FileNotFoundError) as exc:
                # Not listening (yet): Docker retries with backoff; so do we, within budget.
                if time.monotonic() + delay >= deadline:
                    raise Unavailable(
                        f'plugin "{self.addr.name}" is not reachable at {self._where()}: {exc.strerror or exc}'
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except (TimeoutError, socket.timeout):
                raise self._timeout(method) from None
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                raise Unavailable(
                    f'plugin "{self.addr.name}" sent an invalid answer to {method}: {exc.__class__.__name__}: {exc}'
                ) from None

    def _once(self, method: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        if self.addr.scheme == "unix":
            conn: http.client.HTTPConnection = _UnixConnection(self.addr.address, timeout)
        else:
            conn = http.client.HTTPConnection(self.addr.address, timeout=timeout)
        try:
            conn.request("POST", "/" + method, body=body, headers={"Accept": MIMETYPE, "Content-Type": MIMETYPE})
            resp = conn.getresponse()
            return resp.status, resp.read(MAX_ANSWER)
        finally:
            conn.close()

    def _timeout(self, method: str) -> Timeout:
        return Timeout(
            f'plugin "{self.addr.name}" did not answer {method} within {self.timeout:g}s (PYNET_PLUGIN_TIMEOUT)'
        )

    def _where(self) -> str:
        return self.addr.address if self.addr.scheme == "unix" else f"tcp://{self.addr.address}"


def _preview(raw: bytes, limit: int = 80) -> str:
    text = raw.decode(errors="replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _error_text(raw: bytes) -> str:
    """Docker's reading of a non-200 answer: its ``Err`` field, else the body itself."""
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("Err"), str) and data["Err"]:
            return data["Err"]
    except ValueError:
        pass
    return raw.decode(errors="replace").strip()[:200] or "empty answer"


# -- activation ------------------------------------------------------------------------------
@dataclass
class Plugin:
    """An activated plugin: its address, client and what it implements."""

    name: str
    client: PluginClient
    implements: list[str]


_activated: dict[str, Plugin] = {}


def get(name: str, kind: str) -> Plugin:
    """Discover and activate plugin ``name``; it must implement ``kind`` (e.g. NetworkDriver)."""
    plugin = _activated.get(name)
    if plugin is None:
        client = PluginClient(discover(name))
        answer = client.call("Plugin.Activate")
        implements = answer.get("Implements")
        if not isinstance(implements, list) or not all(isinstance(i, str) for i in implements):
            raise Unavailable(
                f'plugin "{name}" sent an invalid answer to Plugin.Activate: expected {{"Implements": [...]}}'
            )
        plugin = Plugin(name, client, implements)
        _activated[name] = plugin
    if kind not in plugin.implements:
        raise NotFound(f'plugin "{name}" does not implement the requested driver ({kind})')
    return plugin


def forget() -> None:
    """Drop activated plugins (tests; a long-lived process after a plugin restarts)."""
    _activated.clear()


# -- undo ------------------------------------------------------------------------------------
def undo_resource(resource: dict[str, Any]) -> None:
    """Roll back one ``{"kind": "plugin", "plugin", "method", "args"}`` record: call it.

    Drivers log the call that reverses theirs (DeleteNetwork for CreateNetwork,
    ReleasePool for RequestPool...) so a failed or killed command can be undone.
    """
    client = PluginClient(discover(resource["plugin"]))
    client.call(resource["method"], resource.get("args"), optional=True)


def undo_record(plugin: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
    """The undo-log entry that reverses a plugin call by calling ``method`` with ``args``."""
    return {"kind": "plugin", "plugin": plugin, "method": method, "args": args}

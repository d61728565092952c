"""Run the pynet CLI in this process against a temp state dir, with the kernel fenced off.

Any path that would build the core's Controller (the only way to kernel work, locks and
signals) raises ``KernelReached`` instead, which the CLI's error boundary does not catch:
so a test sees exactly what pynet does *before* it would touch the kernel.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


class KernelReached(BaseException):
    """pynet got as far as building its controller (kernel work would follow)."""


@dataclass
class Result:
    code: int | None  # None: the command reached the controller
    out: str
    err: str


def fence_kernel(monkeypatch: pytest.MonkeyPatch, state: Path, run: Path) -> None:
    """Point pynet at ``state``/``run`` and make the controller unreachable."""
    from pynet.cnm import controller
    from pynet.state import events

    def refuse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise KernelReached()

    monkeypatch.setattr(controller.Controller, "__init__", refuse)
    # `system service` stops where it would start listening (its flags are checked before)
    from pynet.api import server

    monkeypatch.setattr(server.Server, "__init__", refuse)
    monkeypatch.setattr(events, "idle", _interrupt)  # `events` follows: Ctrl-C once it waits
    monkeypatch.setenv("PYNET_STATE_DIR", str(state))
    monkeypatch.setenv("PYNET_RUN_DIR", str(run))
    monkeypatch.delenv("PYNET_DEBUG", raising=False)


def _interrupt(seconds: float) -> None:
    raise KeyboardInterrupt


def invoke(args: list[str], stdin: str = "") -> Result:
    """``pynet <args>`` through the real entry (fast path, click, the error boundary)."""
    from pynet.cli.main import _dispatch, boundary

    out, err = _stream(), _stream()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code: int | None = boundary(lambda: _dispatch(list(args)))
    except KernelReached:
        code = None
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, _text(out), _text(err))


def _stream() -> io.TextIOWrapper:
    """A text stream with a ``.buffer``, as sys.stdout has (``logs`` writes bytes)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8", "replace")  # type: ignore[attr-defined]


NET = "1" * 64
CTR = "c" * 64
EP = "e" * 64


def seed_state(state: Path, run: Path) -> None:
    """A ready state: the built-in networks, network n1, exited container c1 on it (no kernel)."""
    from pynet.records.model import Container, Endpoint, Network, to_dict
    from pynet.state.store import Store

    store = Store(state)
    bridge = Network(id="b" * 64, name="bridge", driver="bridge", created="2024-01-01T00:00:00Z", builtin=True)
    net = Network(id=NET, name="n1", driver="bridge", created="2024-01-01T00:00:00Z")
    c = Container(
        id=CTR,
        name="c1",
        created="2024-01-01T00:00:00Z",
        path="sleep",
        status="exited",
        network_mode="n1",
        endpoints={NET: EP},
    )
    ep = Endpoint(id=EP, network_id=NET, container_id=CTR, name="c1", ipv4="10.9.0.2/24")
    host = Network(id="d" * 64, name="host", driver="host", created="2024-01-01T00:00:00Z", builtin=True)
    none = Network(id="a" * 64, name="none", driver="null", created="2024-01-01T00:00:00Z", builtin=True)
    with store.locked():
        txn = store.begin()
        txn.put("networks", host.id, to_dict(host))
        txn.put("networks", none.id, to_dict(none))
        txn.put("ipam", NET, {"space": None, "count": 1})
        txn.put("networks", bridge.id, to_dict(bridge))
        txn.put("networks", NET, to_dict(net))
        txn.put("containers", CTR, to_dict(c))
        txn.put("endpoints", EP, to_dict(ep))
        txn.put("members", f"{NET}/{EP}", {"container": CTR, "addresses": ["10.9.0.2"]})
        txn.commit()
    log = state / "containers" / CTR / "container.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("one\ntwo\n")
    run.mkdir(parents=True, exist_ok=True)
    (run / "restored").touch()


FENCED = "<kernel fenced by the test>"
_KERNEL_MODULES = (
    "netlink",
    "netlink._rtnl",
    "nft",
    "nft._nfnetlink",
    "nft._session",
    "nft._elements",
    "namespaces",
    "process",
    "supervisor",
    "zygote",
)


def fence_kernel_deep(monkeypatch: pytest.MonkeyPatch, state: Path, run: Path) -> None:
    """Let the core run (controller, services, drivers' checks) but no kernel, process,
    signal, helper or plugin call: each of those raises a KernelError saying FENCED.

    A KernelError (not KernelReached) so that the core's own rollback runs as after any
    kernel failure, and the next invocation finds a clean state.
    """
    import importlib

    from pynet.errors import KernelError, NotFound

    def fenced(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KernelError(FENCED)

    for short in _KERNEL_MODULES:
        module = importlib.import_module(f"pynet.kernel.{short}")
        for name, obj in list(vars(module).items()):
            if callable(obj) and getattr(obj, "__module__", None) == module.__name__ and not isinstance(obj, type):
                monkeypatch.setattr(module, name, fenced)
    from pynet.cnm import controller
    from pynet.daemon import client
    from pynet.drivers import plugins
    from pynet.kernel import pids, runtime

    for name in ("start", "wait_status"):
        monkeypatch.setattr(runtime, name, fenced)
    monkeypatch.setattr(pids, "signal_pid", fenced)
    # As root or not, the core runs on (unit tests need no root); the fence stops it later.
    monkeypatch.setattr(controller, "require_privileges", lambda: None)
    for name in ("request", "ensure_running", "notify", "resync", "ping", "stop"):
        monkeypatch.setattr(client, name, lambda *a, **k: False)

    def no_plugin(name: str):  # type: ignore[no-untyped-def]
        raise NotFound(f'plugin "{name}" not found')

    monkeypatch.setattr(plugins, "discover", no_plugin)
    monkeypatch.setenv("PYNET_STATE_DIR", str(state))
    monkeypatch.setenv("PYNET_RUN_DIR", str(run))
    monkeypatch.setenv("PYNET_PLUGIN_DIR", str(run / "plugins"))
    monkeypatch.delenv("PYNET_DEBUG", raising=False)


def rewrite_in_place(path: Path, **changes: object) -> None:
    """Edit a record in place (same inode), as `echo ... > file` or an editor without a
    backup does; the file's size changes too (a coarse clock can keep its ctime)."""
    record = json.loads(path.read_text())
    record.update(changes)
    with open(path, "r+") as f:
        f.truncate(0)
        f.write(json.dumps(record))

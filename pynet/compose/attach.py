"""``up`` without ``-d``: follow the project's container logs, as Compose attaches.

Lines are prefixed ``NAME  | `` and printed until every container has exited; Ctrl-C
stops the containers (SIGTERM, then SIGKILL after the timeout, as ``pynet stop``) and
leaves them for ``up``/``down``, as Compose does.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from pynet.cnm.controller import Controller

_POLL = 0.1


def follow(ctl: Controller, names: list[str], write: Callable[[str], None]) -> None:
    """Print the containers' output (prefixed) until all of them have exited."""
    from pynet import paths
    from pynet.cnm.processes import container_running
    from pynet.records import logframes

    repo = ctl.reader()
    containers = [c for c in (repo.find_container(n) for n in names) if c is not None]
    width = max((len(c.name) for c in containers), default=0)
    files: dict[str, BinaryIO] = {}
    readers: dict[str, logframes.FrameReader] = {}
    partial: dict[str, bytes] = {}
    try:
        while True:
            got = False
            for c in containers:
                f = files.get(c.id)
                if f is None:
                    try:
                        f = files[c.id] = open(paths.container_dir(c.id) / "container.log", "rb")
                    except FileNotFoundError:
                        continue
                data = f.read()
                if data:
                    got = True
                    # the log is Docker's frames (stdout and stderr apart): Compose shows both
                    frames = readers.setdefault(
                        c.id, logframes.FrameReader(logframes.is_framed(data[: logframes.HEADER]))
                    )
                    text = b"".join(payload for _stream, payload in frames.feed(data))
                    *lines, partial[c.name] = (partial.get(c.name, b"") + text).split(b"\n")
                    for line in lines:
                        write(f"{c.name:<{width}}  | {line.decode(errors='replace')}")
            if not got and not any(container_running(c) for c in containers):
                break
            time.sleep(0 if got else _POLL)
    finally:
        for f in files.values():
            f.close()
    _wait_recorded(ctl, [c.id for c in containers])


def _wait_recorded(ctl: Controller, container_ids: list[str], timeout: float = 10.0) -> None:
    """Return once each supervisor has recorded its container's exit (bounded), so that
    ``ps`` right after ``up`` shows them exited."""
    deadline = time.monotonic() + timeout
    pending = list(container_ids)
    while pending and time.monotonic() < deadline:
        repo = ctl.reader()
        pending = [cid for cid in pending if getattr(repo.container(cid), "status", "") == "running"]
        if pending:
            time.sleep(_POLL / 5)


def stop_all(ctl: Controller, names: list[str], timeout: float = 10.0) -> None:
    """Ctrl-C during ``up``: stop every container of the project that still runs."""
    from pynet.errors import PynetError

    for name in names:
        try:
            ctl.stop(name, timeout=timeout)
        except PynetError as exc:  # gone already: the others are still stopped
            ctl.notices.append(f"WARNING: stopping {name}: {exc.message}")

"""Talk to the per-host helper daemon (``python -m pynet.daemon``): start, notify, stop.

The CLI imports this on mutating paths only, so it stays light (stdlib only). Nothing
here raises on daemon trouble except ``ensure_running``; ``notify`` answers False and
lets the caller warn.

Typical use, after a state commit that changed what a container resolves::

    from pynet.daemon import client
    if not client.notify([container_id]):
        warn("the pynet helper did not confirm the DNS update; see <run>/pynetd.log")
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
TYPE_CHECKING = False  # typing costs ~6 ms to import here: annotations only
if TYPE_CHECKING:
    from typing import Any

from pynet import paths

START_TIMEOUT = 3.0
PING_TIMEOUT = 0.5
SOCK_NAME = "pynetd.sock"
PID_NAME = "pynetd.pid"
LOG_NAME = "pynetd.log"
MARKER = b"pynet.daemon"


@contextlib.contextmanager
def short_path(path: Path) -> Iterator[str]:
    """A path usable for AF_UNIX bind/connect even when ``path`` is over the 107-byte limit.

    Long paths go through ``/proc/self/fd/<dirfd>/<name>`` (test run dirs can be deep).
    """
    text = str(path)
    if len(text.encode()) < 100:
        yield text
        return
    dirfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{dirfd}/{path.name}"
    finally:
        os.close(dirfd)


def _run_dir(run_dir: Path | str | None) -> Path:
    return Path(run_dir) if run_dir is not None else paths.run_dir()


def request(message: dict[str, Any], *, timeout: float = 2.0,
            run_dir: Path | str | None = None) -> dict[str, Any] | None:
    """Send one request and return the reply; None when the daemon cannot be reached in time."""
    path = _run_dir(run_dir) / SOCK_NAME
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        with short_path(path) as connect_path:
            sock.connect(connect_path)
        sock.sendall(json.dumps(message).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        reply = json.loads(buf[: buf.index(b"\n")])
        return reply if isinstance(reply, dict) else None
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


def ping(*, timeout: float = PING_TIMEOUT, run_dir: Path | str | None = None) -> bool:
    """True when a daemon answers on this run dir's socket."""
    reply = request({"op": "ping"}, timeout=timeout, run_dir=run_dir)
    return bool(reply and reply.get("ok"))


def daemon_pid(run_dir: Path | str | None = None) -> int | None:
    """The PID of the live daemon of this run dir (checked: it is really pynet.daemon)."""
    try:
        pid = int((_run_dir(run_dir) / PID_NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_daemon(pid) else None


def _is_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return MARKER in cmdline and state not in ("Z", "X")


def _spawn(run_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYNET_RUN_DIR"] = str(run_dir)
    # Make the daemon import this very pynet, installed or not.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOG_NAME, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pynet.daemon"], start_new_session=True, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd="/",
            close_fds=True,
        )


def ensure_running(*, timeout: float = START_TIMEOUT, run_dir: Path | str | None = None) -> None:
    """Start the daemon (detached) unless one answers; wait until it does.

    Raises ``pynet.errors.Unavailable`` when none answers within ``timeout``.
    """
    rdir = _run_dir(run_dir)
    if ping(run_dir=rdir):
        return
    proc = None
    if daemon_pid(rdir) is None:
        proc = _spawn(rdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(timeout=min(PING_TIMEOUT, max(0.05, deadline - time.monotonic())), run_dir=rdir):
            return
        if proc is not None and proc.poll() not in (None, 0):
            break  # ours failed (a loser of a start race exits 0: keep waiting for the winner)
        time.sleep(0.02)
    from pynet.errors import Unavailable

    raise Unavailable(f"the pynet helper daemon did not start; see {rdir / LOG_NAME}")


def notify(container_ids: list[str], *, timeout: float = 2.0,
           run_dir: Path | str | None = None) -> bool:
    """Tell the daemon these containers changed; True once it has applied the change.

    Starts the daemon when needed. Never raises and never waits much longer than
    ``timeout`` plus the start time; False means the caller should warn.
    """
    ids = [str(i) for i in container_ids]
    if not ids:
        return True
    for _ in range(2):  # a daemon killed between ping and sync gets one restart
        try:
            ensure_running(run_dir=run_dir)
        except Exception:  # noqa: BLE001 - never raise on daemon trouble
            return False
        reply = request({"op": "sync", "containers": ids}, timeout=timeout, run_dir=run_dir)
        if reply is not None:
            return bool(reply.get("ok"))
    return False


def resync(*, timeout: float = 10.0, run_dir: Path | str | None = None) -> bool:
    """Ask a running daemon to rebuild everything from state (e.g. after crash recovery).

    Does not start one (a fresh daemon builds from state anyway).
    """
    reply = request({"op": "resync"}, timeout=timeout, run_dir=run_dir)
    return bool(reply and reply.get("ok"))


def status(*, timeout: float = 2.0, run_dir: Path | str | None = None) -> dict[str, Any] | None:
    """The daemon's view of served sandboxes, or None when no daemon answers."""
    return request({"op": "status"}, timeout=timeout, run_dir=run_dir)


def stop(*, timeout: float = 3.0, run_dir: Path | str | None = None) -> None:
    """Stop this run dir's daemon, if any: SIGTERM, then SIGKILL after ``timeout``.

    Signals only the PID from the pid file, and only after checking that process is
    ``pynet.daemon``.
    """
    pid = daemon_pid(run_dir)
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 1.0)):
        if not _is_daemon(pid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _is_daemon(pid):
            time.sleep(0.02)
        if not _is_daemon(pid):
            break
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it when we are its parent (tests)

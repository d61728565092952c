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
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    import subprocess
    from typing import Any

from pynet import paths
from pynet.errors import PynetError

START_TIMEOUT = 3.0
PING_TIMEOUT = 0.5
SOCK_NAME = "pynetd.sock"
PID_NAME = "pynetd.pid"
LOG_NAME = "pynetd.log"
MARKER = b"pynet.daemon"
KEEPER_PID_NAME = "pynetd-keeper.pid"  # pynet.daemon.keeper's (the file names match there)
KEEPER_MARKER = b"pynet/daemon/keeper.py"


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


_NOT_LISTENING: dict[str, Any] = {}  # ``request``'s answer when nothing listens (see ``refused``)


def request(
    message: dict[str, Any],
    *,
    timeout: float = 2.0,
    run_dir: Path | str | None = None,
    refused: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Send one request and return the reply; None when the daemon cannot be reached in time.

    ``refused``: returned instead of None when no daemon listens at all (no socket, or the
    connection is refused), so the caller can tell "start it" from "it did not answer".
    """
    path = _run_dir(run_dir) / SOCK_NAME
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            with short_path(path) as connect_path:
                sock.connect(connect_path)
        except (FileNotFoundError, ConnectionRefusedError):
            return refused
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
    return _runs(pid, MARKER)


def keeper_pid(run_dir: Path | str | None = None) -> int | None:
    """The PID of this run dir's keeper (``pynet.daemon.keeper``), checked like ``daemon_pid``."""
    try:
        pid = int((_run_dir(run_dir) / KEEPER_PID_NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_keeper(pid) else None


def _is_keeper(pid: int) -> bool:
    return _runs(pid, KEEPER_MARKER)


def _runs(pid: int, marker: bytes) -> bool:
    """True when ``pid`` is alive (not a zombie) and its command line holds ``marker``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return marker in cmdline and state not in ("Z", "X")


def _spawn(run_dir: Path) -> subprocess.Popen:
    """Start the keeper, which starts the daemon and restarts it when it dies.

    The keeper is a bare interpreter (``python -S``: a few MB) running
    ``pynet/daemon/keeper.py`` of this very pynet; ``PYTHONPATH`` makes the daemon it
    starts import this pynet too, installed or not.
    """
    import subprocess  # only to start the helper: ~2 ms a command otherwise (design.md, "Start-up")

    env = dict(os.environ)
    env["PYNET_RUN_DIR"] = str(run_dir)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    keeper = root / "pynet" / "daemon" / "keeper.py"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOG_NAME, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-S", str(keeper), str(run_dir)],
            start_new_session=True,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd="/",
            close_fds=True,
        )


def _start(run_dir: Path) -> subprocess.Popen | None:
    """Have a daemon started: nudge a keeper that waits out a back-off, else spawn one."""
    keeper = keeper_pid(run_dir)
    if keeper is not None:
        with contextlib.suppress(OSError):
            os.kill(keeper, signal.SIGUSR1)
            return None
    return _spawn(run_dir)


def ensure_running(*, timeout: float = START_TIMEOUT, run_dir: Path | str | None = None) -> None:
    """Start the daemon (detached) unless one answers; wait until it does.

    Raises ``pynet.errors.Unavailable`` when none answers within ``timeout``.
    """
    rdir = _run_dir(run_dir)
    if ping(run_dir=rdir):
        return
    proc = None
    if daemon_pid(rdir) is None:
        proc = _start(rdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(timeout=min(PING_TIMEOUT, max(0.05, deadline - time.monotonic())), run_dir=rdir):
            return
        if proc is not None and proc.poll() not in (None, 0):
            break  # ours failed (a keeper that lost a start race exits 0: wait for the winner)
        if proc is None and keeper_pid(rdir) is None and daemon_pid(rdir) is None:
            proc = _spawn(rdir)  # the daemon (and its keeper) left while we waited: idle exit
        time.sleep(0.02)
    from pynet.errors import Unavailable

    raise Unavailable(f"the pynet helper daemon did not start; see {rdir / LOG_NAME}")


def notify(container_ids: list[str], *, timeout: float = 2.0, run_dir: Path | str | None = None) -> bool:
    """Tell the daemon these containers changed; True once it has applied the change.

    Starts the daemon when needed. Never raises and never waits much longer than
    ``timeout`` plus the start time; False means the caller should warn.
    """
    ids = [str(i) for i in container_ids]
    if not ids:
        return True
    message = {"op": "sync", "containers": ids}
    # A running daemon (the usual case) is told at once, with no ping first; when none
    # listens it is started (twice at most: one killed right after it answered a ping).
    for attempt in range(3):
        reply = request(message, timeout=timeout, run_dir=run_dir, refused=_NOT_LISTENING)
        if reply is not _NOT_LISTENING:
            return bool(reply and reply.get("ok"))
        try:
            if attempt < 2:
                ensure_running(run_dir=run_dir)
        except (PynetError, OSError):  # the caller warns; a bug in pynet still surfaces
            return False
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
    """Stop this run dir's daemon and its keeper, if any: SIGTERM, SIGKILL after ``timeout``.

    The keeper is told first, so it does not start the daemon again. Signals only the
    PIDs from the pid files, and only after checking they are pynet's.
    """
    keeper, pid = keeper_pid(run_dir), daemon_pid(run_dir)
    if keeper is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(keeper, signal.SIGTERM)  # it passes SIGTERM on to the daemon, then exits
    _end(pid, _is_daemon, timeout)
    _end(keeper, _is_keeper, timeout)


def _end(pid: int | None, alive: Callable[[int], bool], timeout: float) -> None:
    """SIGTERM ``pid`` while ``alive(pid)``, SIGKILL it after ``timeout``; reap it if ours."""
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 1.0)):
        if not alive(pid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.02)
        if not alive(pid):
            break
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it when we are its parent (tests)

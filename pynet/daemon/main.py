"""``python -m pynet.daemon``: the per-host helper (embedded DNS for every sandbox).

One per ``$PYNET_RUN_DIR``: it holds an flock on ``pynetd.lock`` for its whole life
(a second one exits at once), writes ``pynetd.pid``, answers on ``pynetd.sock`` and
logs to ``pynetd.log``. It runs in the network namespace it was started from.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from pynet import paths
from pynet.daemon.client import LOG_NAME, PID_NAME
from pynet.state.store import Store

log = logging.getLogger("pynetd")

LOCK_NAME = "pynetd.lock"
MAX_LOG_BYTES = 10 << 20


def _setup_logging(run_dir: Path) -> None:
    path = run_dir / LOG_NAME
    with contextlib.suppress(OSError):
        if path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_suffix(".log.1"))
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s pynetd[%(process)d] %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(os.environ.get("PYNET_DAEMON_LOG_LEVEL", "INFO").upper())
    log.propagate = False


def _take_lock(run_dir: Path) -> int | None:
    """The flock fd, or None when another daemon holds it."""
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def _raise_fd_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: every served sandbox holds two sockets
    (more with upstreams and TCP clients), so 1000 containers need more than the usual
    soft 1024. Go does the same for dockerd at start."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and want > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _write_pid(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, path)


def main() -> int:
    """Run the daemon until SIGTERM/SIGINT (or a ``stop`` request); SIGHUP = resync."""
    from pynet.daemon.server import Daemon  # after the lock: a loser stays cheap

    run_dir = paths.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chdir("/")  # never pin a (test) directory
    _setup_logging(run_dir)
    lock_fd = _take_lock(run_dir)
    if lock_fd is None:
        log.info("another pynetd already runs for %s", run_dir)
        return 0
    pid_file = run_dir / PID_NAME
    _raise_fd_limit()
    daemon = None
    try:
        daemon = Daemon(Store(paths.state_dir()), run_dir, pid_file)
        _write_pid(pid_file)
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
        signal.signal(signal.SIGINT, lambda *_: daemon.stop())
        signal.signal(signal.SIGHUP, lambda *_: daemon.loop.call_later(0, daemon.resync))
        daemon.loop.watch(wake_r, 1, lambda _m: _drain(wake_r))
        log.info("started in %s (state %s)", run_dir, paths.state_dir())
        daemon.start()
        # The answer tables are long-lived: move them out of the collector's sight, and let
        # young collections run rarely, so a full collection never stalls a query (p99).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 1000)
        daemon.run()
        log.info("stopping")
        return 0
    except Exception:
        log.exception("pynetd failed")
        return 1
    finally:
        if daemon is not None:
            try:
                daemon.close()
            except Exception:  # noqa: BLE001 - stopping goes on (pid file, socket)
                log.exception("closing pynetd failed")
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(os.getpid()):
                pid_file.unlink()
        os.close(lock_fd)


def _drain(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while sock.recv(512):
            pass


if __name__ == "__main__":
    sys.exit(main())

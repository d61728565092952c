"""The waiter zygote's protocol (pynet.kernel.zygote), without root: a real zygote process
in a temporary run dir, asked to launch a command that cannot start (no container runs)."""

from __future__ import annotations

import _socket
import marshal
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynet import _detach
from pynet.kernel import pids, procnet, supervisor, zygote

pytestmark = pytest.mark.unit

ROOT = str(Path(__file__).resolve().parents[2])
SPEC = {"argv": ["/nonexistent/pynet-test-command"], "env": {"PATH": "/usr/bin:/bin"}, "new_uts": False}


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    """A run dir whose socket paths are longer than sun_path (107 bytes): the alias is used."""
    d = tmp_path / ("r" * 60) / ("u" * 40)
    d.mkdir(parents=True)
    yield d
    zygote.stop(str(d))


def _launch(run_dir: Path, ident: bytes | None = None, spec: dict | None = None) -> tuple[int, dict]:
    mine = zygote.identity(ROOT)
    message = zygote.request(
        ident or mine,
        spec or SPEC,
        container_id="c" * 64,
        log_path=str(run_dir / "log"),
        container_dir=str(run_dir),
        env={"PYNET_TEST": "1"},
    )
    sock, pid, lock = zygote.files(str(run_dir), mine)
    return zygote.launch(message, sock_path=sock, pid_path=pid, lock_path=lock, root=ROOT)


def _zygote(run_dir: Path) -> tuple[int, int]:
    [path] = run_dir.glob("zygote-*.pid")
    pid, start = (int(x) for x in path.read_text().split())
    return pid, start


def test_identity_is_stable_and_names_what_a_container_inherits() -> None:
    one, two = zygote.identity(ROOT), zygote.identity(ROOT)
    assert one == two
    old = os.umask(0o077)
    try:
        assert zygote.identity(ROOT) != one, "another umask is another launch context"
    finally:
        os.umask(old)
    assert zygote.identity("/elsewhere") != one
    text = one.decode()
    for part in ("Umask:", "CapEff:", "net ", "mnt ", "Max open files", sys.executable):
        assert part in text


def test_files_live_in_the_run_dir_named_by_the_identity(tmp_path: Path) -> None:
    sock, pid, lock = zygote.files(str(tmp_path), b"a")
    assert [Path(p).parent for p in (sock, pid, lock)] == [tmp_path] * 3
    assert Path(sock).name.startswith("zygote-") and sock.endswith(".sock") and pid.endswith(".pid")
    assert sock[: -len(".sock")] == pid[: -len(".pid")] == lock[: -len(".lock")]
    assert zygote.files(str(tmp_path), b"b")[0] != sock


def test_the_request_keeps_spec_and_environment_packed() -> None:
    message = zygote.request(b"id", SPEC, container_id="c", log_path="l", container_dir="d", env={"A": "1"})
    ident, cid, log, cdir, spec, env, tty = marshal.loads(message)
    assert (ident, cid, log, cdir, tty) == (b"id", "c", "l", "d", False)
    assert isinstance(spec, bytes) and marshal.loads(spec) == SPEC
    assert isinstance(env, bytes) and marshal.loads(env) == {"A": "1"}
    # -t: W reads it without unpacking the spec (it makes the console socket)
    with_tty = zygote.request(b"id", {**SPEC, "tty": True}, container_id="c", log_path="l", container_dir="d", env={})
    assert marshal.loads(with_tty)[-1] is True


def test_a_zygote_starts_on_demand_and_its_waiter_reports_the_launch_error(run_dir: Path) -> None:
    waiter, report = _launch(run_dir)
    # As root the exec fails (127); without root already the namespaces (125): either way
    # the waiter's launcher reported it in the kernel's words, and nothing runs.
    assert report["exit_code"] in (125, 127), report
    assert "pynet-test-command" in report["error"] or "namespaces" in report["error"]
    z, start = _zygote(run_dir)
    assert pids.pid_alive(z, start) and z != waiter
    assert list(run_dir.glob("zygote-*.sock"))
    # the same zygote serves the next request
    _launch(run_dir)
    assert _zygote(run_dir) == (z, start)


def test_only_our_user_may_connect(run_dir: Path) -> None:
    _launch(run_dir)
    [sock] = run_dir.glob("zygote-*.sock")
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600


def test_a_request_too_large_for_one_message_is_not_sent(run_dir: Path) -> None:
    with pytest.raises(zygote.ZygoteUnavailable, match="too large"):
        _launch(run_dir, spec={**SPEC, "env": {"BIG": "x" * zygote.MAX_MESSAGE}})
    assert not list(run_dir.glob("zygote-*.pid")), "no zygote was started for it"


def test_stop_ends_the_zygote_by_its_pid_file(run_dir: Path) -> None:
    _launch(run_dir)
    z, start = _zygote(run_dir)
    assert zygote.stop(str(run_dir)) == [z]
    assert not list(run_dir.glob("zygote-*.pid")) and not list(run_dir.glob("zygote-*.sock"))
    _wait_gone(z, start)
    assert zygote.stop(str(run_dir)) == []


def test_an_idle_zygote_leaves_with_its_files(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNET_DAEMON_IDLE_EXIT", "0.5")  # the helper daemon's setting
    _launch(run_dir)  # its waiter ends at once (nothing started)
    z, start = _zygote(run_dir)
    _wait_gone(z, start)
    assert not list(run_dir.glob("zygote-*.pid")) and not list(run_dir.glob("zygote-*.sock"))
    _launch(run_dir)  # the next launch starts another
    assert _zygote(run_dir)[0] != z


def test_a_dead_zygote_is_replaced(run_dir: Path) -> None:
    _launch(run_dir)
    z, start = _zygote(run_dir)
    os.kill(z, signal.SIGKILL)
    _wait_gone(z, start)  # its socket file stays behind, refusing connections
    _launch(run_dir)
    z2, _ = _zygote(run_dir)
    assert z2 != z


def test_a_request_from_another_context_is_refused(run_dir: Path) -> None:
    _launch(run_dir)  # a zygote of our identity listens
    with pytest.raises(zygote.ZygoteUnavailable, match="identity differs"):
        _launch(run_dir, ident=b"someone else")


def test_a_zygote_that_never_answers_is_given_up_without_a_start(run_dir: Path) -> None:
    sock, _pid, _lock = zygote.files(str(run_dir), zygote.identity(ROOT))
    address, d = _detach.address(sock)
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    listener.bind(address)
    os.close(d)
    listener.listen(8)
    accepted = []

    def serve() -> None:  # accept and hang up: a zygote killed before it read the request
        for _ in range(2):
            fd, _addr = listener._accept()
            accepted.append(fd)
            os.close(fd)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with pytest.raises(zygote.ZygoteUnavailable, match="did not answer"):
        _launch(run_dir)
    t.join(5)
    listener.close()
    assert len(accepted) == 2, "tried once more, then gave up (the caller forks the supervisor itself)"


def test_fork_supervisor_falls_back_when_no_zygote_takes_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def unavailable(*_a: object, **_k: object) -> None:
        raise zygote.ZygoteUnavailable("test")

    monkeypatch.setattr(zygote, "launch", unavailable)
    monkeypatch.setattr(supervisor, "_fork", lambda spec, **kw: (4242, {"pid": 1, "via": "fork"}))
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path))
    spec = supervisor.LaunchSpec(argv=["true"], env={})
    got = supervisor.fork_supervisor(spec, container_id="c", log_path="l", container_dir=str(tmp_path))
    assert got == (4242, {"pid": 1, "via": "fork"})


def test_find_waiter_reads_the_waiter_file(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        me = os.getpid()
        (tmp_path / supervisor.WAITER_FILE).write_text(
            f"{me} {pids.pid_start_time(me)} {child.pid} {pids.pid_start_time(child.pid)}\n"
        )
        assert procnet.find_waiter("x" * 64, str(tmp_path)) == (me, child.pid)
        (tmp_path / supervisor.WAITER_FILE).write_text(f"{me} 1 {child.pid} 1\n")  # reused pids
        assert procnet.find_waiter("x" * 64, str(tmp_path)) is None
    finally:
        child.kill()
        child.wait()


def _wait_gone(pid: int, start: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while pids.pid_alive(pid, start):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.02)


def test_the_zygote_preloads_only_the_launch_and_wait_code() -> None:
    """What every waiter shares: no pyroute2, click, json, typing, nor pynet above the kernel."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import select\n"
        "from pynet.kernel import namespaces, pids, supervisor, waiter, zygote\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-S", "-c", code, ROOT], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    assert "pynet.kernel.process" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in ("pyroute2", "click", "json", "typing", "rich", "yaml")]
    above = [m for m in loaded if m.startswith(("pynet.cnm", "pynet.state", "pynet.cli", "pynet.drivers"))]
    assert heavy == [] and above == [], (heavy, above)

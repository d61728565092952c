"""Process identity by pid + start time, and owner locks (pynet.kernel.pids, pynet.state.owners).

No root, no kernel objects: plain child processes and files in a temp dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.kernel import pids
from pynet.state import owners

pytestmark = pytest.mark.unit


@pytest.fixture
def sleeper():  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_start_time_names_one_process(sleeper: subprocess.Popen) -> None:
    start = pids.pid_start_time(sleeper.pid)
    assert start > 0
    assert pids.pid_alive(sleeper.pid, start)
    assert pids.pid_alive(sleeper.pid)  # 0: start time unknown (old records)
    assert not pids.pid_alive(sleeper.pid, start + 1)  # same pid, another process
    assert pids.pid_start_time(0) == 0 and not pids.pid_alive(0)


def test_signal_pid_never_hits_a_reused_pid(sleeper: subprocess.Popen) -> None:
    start = pids.pid_start_time(sleeper.pid)
    assert not pids.signal_pid(sleeper.pid, start + 1, signal.SIGKILL)
    assert sleeper.poll() is None  # untouched
    assert pids.signal_pid(sleeper.pid, start, signal.SIGKILL)  # positive control
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    assert not pids.signal_pid(sleeper.pid, start, signal.SIGKILL)


def test_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen(["true"])
    start = pids.pid_start_time(proc.pid)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    assert not pids.pid_alive(proc.pid, start)
    proc.wait(timeout=10)


def test_owner_lock_is_held_while_its_process_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path))
    lock = owners.claim("c1")
    lock.note_pid(1234, 5678)
    assert owners.orphans() == [] and not owners.any_orphan()
    lock.close()  # as when its process dies
    found = owners.orphans()
    assert [o.container_id for o in found] == ["c1"] and found[0].process() == (1234, 5678)
    found[0].release()
    assert os.listdir(tmp_path / "owners") == []


def test_owner_killed_by_sigkill_leaves_an_orphan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = (
        "import os, sys; from pynet.state import owners; owners.claim('c2'); "
        "print('ok', flush=True); os.kill(os.getpid(), 9)"
    )
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path))
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert cp.returncode == -signal.SIGKILL and cp.stdout == "ok\n", cp.stderr
    found = owners.orphans()
    assert [o.container_id for o in found] == ["c2"]
    for o in found:
        o.close()

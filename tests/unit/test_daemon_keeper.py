"""The helper's keeper (``pynet/daemon/keeper.py``): when it restarts the daemon, and how fast.

The daemon processes are faked (spawn/wait and the clock are replaced), so these run
without root; ``tests/integration/test_helper_revival.py`` kills the real daemon.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.daemon import keeper

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
KILLED = signal.SIGKILL  # a wait status: killed by SIGKILL
FAILED = 1 << 8  # a wait status: exited with status 1
STOPPED = 0  # a wait status: exited with status 0


class FakeClock:
    """``keeper.time`` stand-in: ``sleep`` advances ``monotonic`` and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0
        self.nudge_at = float("inf")  # SIGUSR1 to ``keeper`` once ``now`` passes it
        self.keeper: keeper.Keeper | None = None

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        if self.now >= self.nudge_at and self.keeper is not None:
            self.nudge_at = float("inf")
            self.keeper.on_nudge(signal.SIGUSR1, None)

    def strftime(self, fmt: str) -> str:
        return "now"


class Script:
    """The daemons' lives: (seconds it runs, its wait status), one per start.

    ``during(keeper)``, when set, runs while each daemon lives (a signal arriving then).
    """

    def __init__(self, clock: FakeClock, lives: list[tuple[float, int]]) -> None:
        self.clock, self.lives, self.starts = clock, list(lives), []
        self.signals: list[tuple[int, int]] = []
        self.during = None
        self.keeper: keeper.Keeper | None = None

    def spawn(self) -> int:
        self.starts.append(self.clock.now)
        return 4000 + len(self.starts)

    def wait(self, pid: int) -> int:
        seconds, status = self.lives.pop(0)
        self.clock.now += seconds
        if self.during:
            self.during(self.keeper)
        return status


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(keeper, "time", fake)
    monkeypatch.setattr(keeper, "say", lambda message: None)
    return fake


@pytest.fixture
def run(tmp_path, monkeypatch, clock):
    """run(lives, during=None) -> (exit code, script): a Keeper over fake daemons."""

    def go(lives: list[tuple[float, int]], during=None):
        script = Script(clock, lives)
        # the fake pids are not ours: record what would be signalled instead
        monkeypatch.setattr(keeper.os, "kill", lambda pid, sig: script.signals.append((pid, sig)))
        script.during = during
        monkeypatch.setattr(keeper, "spawn_daemon", script.spawn)
        monkeypatch.setattr(keeper, "wait_for", script.wait)
        script.keeper = keeper.Keeper(str(tmp_path))
        clock.keeper = script.keeper
        keeper.write_pid(script.keeper.pid_file)
        return script.keeper.run(), script

    return go


def test_backoff_is_none_for_a_first_death_then_doubles_up_to_30_s():
    assert [keeper.backoff(n) for n in range(1, 8)] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert keeper.backoff(20) == keeper.backoff(100) == 30.0


def test_a_killed_or_failed_daemon_is_started_again_and_a_clean_exit_ends_the_keeper(run):
    code, script = run([(5.0, KILLED), (0.5, FAILED), (3.0, STOPPED)])
    assert code == 0
    assert len(script.starts) == 3 and not script.lives
    # restarted at once after the first death, 0.1 s later after the second quick one
    assert script.starts[1] - script.starts[0] == pytest.approx(5.0)
    assert script.starts[2] - script.starts[1] == pytest.approx(0.5 + 0.1)


def test_a_crash_loop_backs_off_and_a_daemon_that_lived_10_s_resets_it(run):
    lives = [(0.01, FAILED)] * 8 + [(60.0, KILLED), (0.01, KILLED), (1.0, STOPPED)]
    code, script = run(lives)
    assert code == 0 and len(script.starts) == 11
    gaps = [b - a for a, b in zip(script.starts, script.starts[1:])]
    waits = [round(g - 0.01, 3) for g in gaps[:8]]
    assert waits == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4]  # not spinning
    assert gaps[8] == pytest.approx(60.0)  # lived long: restarted at once
    assert gaps[9] == pytest.approx(0.01 + 0.1)  # the count started over


def test_no_restart_once_asked_to_stop(run):
    stop = lambda k: k.on_stop(signal.SIGTERM, None)  # noqa: E731 - SIGTERM while it runs
    code, script = run([(1.0, KILLED), (1.0, KILLED)], stop)
    assert code == 0 and len(script.starts) == 1
    assert script.signals == [(4001, signal.SIGTERM)]  # passed on to the daemon


def test_sighup_is_passed_on_to_the_daemon(run):
    code, script = run([(1.0, STOPPED)], lambda k: k.on_hup(signal.SIGHUP, None))
    assert code == 0 and script.signals == [(4001, signal.SIGHUP)]


def test_no_restart_when_its_pid_file_is_gone(run):
    code, script = run([(1.0, KILLED), (1.0, KILLED)], lambda k: os.unlink(k.pid_file))
    assert code == 0 and len(script.starts) == 1


def test_no_restart_when_its_run_dir_is_gone(run, tmp_path):
    def drop_run_dir(k):
        os.unlink(k.pid_file)
        tmp_path.rmdir()

    code, script = run([(1.0, KILLED), (1.0, KILLED)], drop_run_dir)
    assert code == 0 and len(script.starts) == 1


def test_a_nudge_cuts_a_back_off_short(run, clock):
    lives = [(0.01, FAILED)] * 7 + [(1.0, STOPPED)]  # the 7th quick death waits 3.2 s
    clock.nudge_at = 1000.0 + 7 * 0.01 + 3.1 + 1.0  # 1 s into that back-off (SIGUSR1)
    code, script = run(lives)
    assert code == 0 and len(script.starts) == 8
    waited = script.starts[7] - script.starts[6] - 0.01
    assert 0.9 < waited < 1.1  # backing off, then nudged: no 3.2 s


def test_a_second_keeper_for_the_same_run_dir_exits_at_once(tmp_path):
    fd = keeper.take_lock(str(tmp_path))
    try:
        done = subprocess.run(
            [sys.executable, "-S", str(ROOT / "pynet/daemon/keeper.py"), str(tmp_path)], timeout=30, capture_output=True
        )
        assert done.returncode == 0
        assert not (tmp_path / keeper.PID_NAME).exists()  # it started nothing
    finally:
        os.close(fd)


def test_the_keeper_loads_only_a_few_builtin_modules():
    code = (
        "import os, sys\n"
        "before = set(sys.modules)\n"
        "path = sys.argv[1]\n"
        "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'not_main'})\n"
        "print(','.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, str(ROOT / "pynet/daemon/keeper.py")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert set(filter(None, out.stdout.strip().split(","))) <= {"_signal", "errno", "fcntl", "time"}

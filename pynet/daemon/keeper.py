"""The helper's keeper: starts ``python -m pynet.daemon`` and starts it again when it dies.

Run as a script by a bare interpreter (``python -S keeper.py RUN_DIR``: a few MB, no pynet
module, and no ``pynet.daemon`` marker in its command line). When it restarts the daemon,
how it backs off and when it exits: dns.md, "Supervision: the keeper".
"""

import _signal as signal  # the C module: signal.py would load enum, re and typing (~1 MB)
import errno
import fcntl
import os
import sys
import time

LOCK_NAME = "pynetd-keeper.lock"
PID_NAME = "pynetd-keeper.pid"
STABLE_AFTER = 10.0  # a daemon that lived this long was not crash-looping
FIRST_DELAY = 0.1  # back-off after the 2nd quick death in a row; doubles up to MAX_DELAY
MAX_DELAY = 30.0
TICK = 0.05  # how often a back-off checks for a stop or a nudge


class Keeper:
    """Runs the daemon as a child and restarts it; ``run`` returns the keeper's exit code."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.pid_file = os.path.join(run_dir, PID_NAME)
        self.child = 0
        self.stopping = False
        self.nudged = False
        self.quick_deaths = 0

    # -- signals ---------------------------------------------------------------------
    def on_stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True
        self.forward(signal.SIGTERM)

    def on_hup(self, _signum: int, _frame: object) -> None:
        self.forward(signal.SIGHUP)

    def on_nudge(self, _signum: int, _frame: object) -> None:
        self.nudged = True

    def forward(self, signum: int) -> None:
        if self.child:
            try:
                os.kill(self.child, signum)
            except ProcessLookupError:
                pass

    # -- the loop --------------------------------------------------------------------
    def run(self) -> int:
        while self.should_run():
            started = time.monotonic()
            self.child = spawn_daemon()
            if self.stopping:  # a SIGTERM that came before self.child was set
                self.forward(signal.SIGTERM)
            status = wait_for(self.child)
            pid, self.child = self.child, 0
            if self.stopping or status == 0:
                return 0
            self.quick_deaths = self.quick_deaths + 1 if time.monotonic() - started < STABLE_AFTER else 1
            delay = backoff(self.quick_deaths)
            say(f"pynetd (pid {pid}) {describe(status)}; starting it again" + (f" in {delay:.1f} s" if delay else ""))
            self.pause(delay)
        return 0

    def should_run(self) -> bool:
        if self.stopping or not os.path.isdir(self.run_dir):
            return False
        try:
            with open(self.pid_file) as f:
                return f.read().strip() == str(os.getpid())
        except OSError:
            return False

    def pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, less when stopped or nudged (SIGUSR1)."""
        self.nudged = False
        deadline = time.monotonic() + delay
        while not (self.stopping or self.nudged) and time.monotonic() < deadline:
            time.sleep(min(TICK, max(0.0, deadline - time.monotonic())))


def backoff(quick_deaths: int) -> float:
    """Seconds to wait before the next start: none for a first death, then doubling."""
    if quick_deaths <= 1:
        return 0.0
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (quick_deaths - 2))


def spawn_daemon() -> int:
    """Start ``python -m pynet.daemon`` with the keeper's environment and stdio.

    ``posix_spawn`` resets the keeper's handled signals in the child before its exec, so
    no signal meant for the daemon can run the keeper's Python handler in between.
    """
    argv = [sys.executable, "-m", "pynet.daemon"]
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)
    return os.posix_spawn(argv[0], argv, os.environ, setsigdef=handled)


def wait_for(pid: int) -> int:
    """The wait status of our child ``pid`` (signals in between are handled, not lost)."""
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def say(message: str) -> None:
    """One line to stderr (the daemon's log file, as the client starts us)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        os.write(2, f"{stamp} pynetd-keeper[{os.getpid()}] {message}\n".encode())
    except OSError:
        pass


def take_lock(run_dir: str) -> int:
    """The flock fd on ``pynetd-keeper.lock``; -1 when another keeper holds it."""
    fd = os.open(os.path.join(run_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return -1
        raise
    return fd


def write_pid(path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def main(argv: list) -> int:
    """``RUN_DIR``: keep this run dir's daemon running until it is asked to stop."""
    run_dir = argv[0]
    lock = take_lock(run_dir)
    if lock < 0:
        return 0  # another keeper looks after this run dir
    keeper = Keeper(run_dir)
    signal.signal(signal.SIGTERM, keeper.on_stop)
    signal.signal(signal.SIGINT, keeper.on_stop)
    signal.signal(signal.SIGHUP, keeper.on_hup)
    signal.signal(signal.SIGUSR1, keeper.on_nudge)
    write_pid(keeper.pid_file)
    try:
        return keeper.run()
    finally:
        try:
            with open(keeper.pid_file) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(keeper.pid_file)
        except OSError:
            pass
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

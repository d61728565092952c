"""`-t`: a real pseudo-terminal for the container (as Docker's), whatever pynet's own stdin
and stdout are: `tty` names /dev/pts/N, `test -t` is true, output has the pty's `\\r\\n`;
`run -d -t` logs it so; `-i -t` relays typed input through a terminal in raw mode. Each
with its non -t control (`not a tty`, `\\n`). Run in a throwaway host, in a busybox image
(the pty comes from the container's own devpts) and on the host's root."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import struct
import tempfile
import sys
import subprocess
import time
import termios
from pathlib import Path

import pytest

from apiclient import call
from apiserve import Service
from harness import Host, alive, busybox_rootfs, wait_for

pytestmark = pytest.mark.integration

PROBE = "busybox tty; test -t 0 && echo in; test -t 1 && echo out; echo err >&2; exit 3"


@pytest.fixture
def imaged(host: Host, tmp_path: Path) -> Host:
    """A host with the `busybox` image."""
    host.pynet("image", "import", busybox_rootfs(tmp_path / "bb"), "busybox")
    return host


def pynet_bytes(host: Host, *argv: str) -> subprocess.CompletedProcess:
    """``pynet ARGV`` with its output as bytes (text mode would hide the pty's \\r)."""
    return subprocess.run(
        host.pynet_argv(*argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        env=host.env,
        cwd=host.root,
        check=False,
    )


def run(host: Host, *argv: str) -> subprocess.CompletedProcess:
    return pynet_bytes(host, "run", "--rm", "--network", "none", *argv)


def test_run_t_gives_a_pty_from_the_containers_devpts(imaged: Host) -> None:
    cp = run(imaged, "-t", "--image", "busybox", "sh", "-c", PROBE)
    # Docker: /dev/pts/0 (the container's own devpts), stderr on the pty too, \r\n endings.
    assert (cp.returncode, cp.stdout, cp.stderr) == (3, b"/dev/pts/0\r\nin\r\nout\r\nerr\r\n", b"")


def test_run_without_t_is_no_tty(imaged: Host) -> None:
    cp = run(imaged, "--image", "busybox", "sh", "-c", PROBE)
    assert (cp.returncode, cp.stdout, cp.stderr) == (3, b"not a tty\n", b"err\n")


def test_run_t_on_the_host_root(host: Host) -> None:
    cp = run(host, "-t", "sh", "-c", "tty; test -t 1 && echo tty || echo notty")
    lines = cp.stdout.split(b"\r\n")
    assert cp.returncode == 0 and lines[0].startswith(b"/dev/pts/") and lines[1:] == [b"tty", b""], cp
    control = run(host, "sh", "-c", "test -t 1 && echo tty || echo notty")
    assert (control.returncode, control.stdout) == (0, b"notty\n")


def test_detached_t_logs_the_pty_output(imaged: Host) -> None:
    cid = imaged.pynet("run", "-d", "-t", "--network", "none", "--image", "busybox", "sh", "-c", PROBE).stdout.strip()
    plain = imaged.pynet("run", "-d", "--network", "none", "--image", "busybox", "sh", "-c", PROBE).stdout.strip()
    for c in (cid, plain):
        wait_for(lambda c=c: imaged.pynet("inspect", "-f", "{{.State.Status}}", c).stdout.strip() == "exited")
    assert imaged.pynet("inspect", "-f", "{{.State.ExitCode}} {{.Config.Tty}}", cid).stdout == "3 true\n"
    logs = pynet_bytes(imaged, "logs", cid)
    assert (logs.stdout, logs.stderr) == (b"/dev/pts/0\r\nin\r\nout\r\nerr\r\n", b"")
    assert imaged.pynet("inspect", "-f", "{{.State.ExitCode}} {{.Config.Tty}}", plain).stdout == "3 false\n"
    logs = pynet_bytes(imaged, "logs", plain)
    assert (logs.stdout, logs.stderr) == (b"not a tty\n", b"err\n")


def test_it_needs_a_terminal_as_docker(host: Host) -> None:
    cp = host.pynet("run", "--rm", "-i", "-t", "--network", "none", "true", check=False, input="")
    assert (cp.returncode, cp.stdout, cp.stderr) == (1, "", "the input device is not a TTY\n")
    assert host.pynet("ps", "-a", "-q").stdout == ""  # nothing made
    ok = host.pynet("run", "--rm", "-i", "--network", "none", "cat", check=False, input="hi\n")
    assert (ok.returncode, ok.stdout) == (0, "hi\n")


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    got = b""
    while needle not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
    return got


def test_it_relays_a_terminal_in_raw_mode_and_restores_it(imaged: Host) -> None:
    """pynet on a terminal (a pty the test holds): typed input reaches the container, ^C
    is a byte its pty turns into SIGINT, the window size is forwarded, and pynet's
    terminal is back in its own mode afterwards."""
    master, slave = os.openpty()
    termios_before = termios.tcgetattr(slave)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    script = (
        "stty size; read line; echo got:$line; trap 'echo int; exit 7' INT; trap 'busybox stty size' WINCH;"
        " echo ready; while :; do sleep 0.2; done"
    )
    proc = subprocess.Popen(
        imaged.pynet_argv("run", "--rm", "-i", "-t", "--network", "none", "--image", "busybox", "sh", "-c", script),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=imaged.env,
        cwd=imaged.root,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        out = _read_until(master, b"33 101", deadline)
        os.write(master, b"hello\r")
        out += _read_until(master, b"ready", deadline)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        os.kill(proc.pid, signal.SIGWINCH)  # what the terminal sends its foreground job
        out += _read_until(master, b"50 132", deadline)
        os.write(master, b"\x03")
        out += _read_until(master, b"int", deadline)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"33 101\r\n" in out and b"got:hello\r\n" in out and b"50 132\r\n" in out and b"int" in out, out
    assert code == 7
    assert termios.tcgetattr(slave) == termios_before  # raw mode undone
    os.close(master)
    os.close(slave)


def test_exec_t_gets_its_own_pty(imaged: Host) -> None:
    imaged.pynet("run", "-d", "--name", "c1", "--network", "none", "--image", "busybox", "sleep", "300")
    cp = pynet_bytes(imaged, "exec", "-t", "c1", "sh", "-c", "busybox tty; exit 4")
    assert (cp.returncode, cp.stdout) == (4, b"/dev/pts/0\r\n")
    control = pynet_bytes(imaged, "exec", "c1", "sh", "-c", "busybox tty; exit 4")
    assert (control.returncode, control.stdout) == (4, b"not a tty\n")


# The waiter as pynet forks it itself when no zygote takes the request (design.md).
WITHOUT_ZYGOTE = (
    "import sys; from pynet.kernel import zygote;"
    "zygote.launch = lambda *a, **k: (_ for _ in ()).throw(zygote.ZygoteUnavailable());"
    "sys.argv[0] = 'pynet'; from pynet.cli.main import entry; entry()"
)


def test_detached_t_without_the_zygote(imaged: Host) -> None:
    argv = imaged.nsenter([sys.executable, "-c", WITHOUT_ZYGOTE, "run", "-d", "-t", "--network", "none"])
    started = subprocess.run(
        [*argv, "--image", "busybox", "sh", "-c", PROBE], capture_output=True, text=True, env=imaged.env, timeout=30
    )
    cid = started.stdout.strip()
    assert started.returncode == 0 and not imaged.zygote_pids(), started
    wait_for(lambda: imaged.pynet("inspect", "-f", "{{.State.Status}}", cid).stdout.strip() == "exited")
    assert imaged.pynet("inspect", "-f", "{{.State.ExitCode}}", cid).stdout == "3\n"
    assert pynet_bytes(imaged, "logs", cid).stdout == b"/dev/pts/0\r\nin\r\nout\r\nerr\r\n"


def test_api_resize_reaches_a_tty_containers_pty(imaged: Host) -> None:
    """The docker CLI resizes a -t container through the API (POST .../resize)."""
    script = "trap 'busybox stty size' WINCH; echo ready; while :; do sleep 0.2; done"
    cid = imaged.pynet("run", "-d", "-t", "--network", "none", "--image", "busybox", "sh", "-c", script).stdout.strip()
    sock_dir = Path(tempfile.mkdtemp(prefix="pn-tty-", dir="/tmp"))
    service = Service(imaged, sock_dir)
    try:
        wait_for(lambda: b"ready" in pynet_bytes(imaged, "logs", cid).stdout)
        assert call(service.sock, "POST", f"/containers/{cid}/resize?h=30&w=90")[0] == 200
        wait_for(lambda: b"30 90\r\n" in pynet_bytes(imaged, "logs", cid).stdout)
    finally:
        service.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_kill_9_of_whoever_holds_the_master(imaged: Host) -> None:
    """The master's holder (the waiter with -d, pynet in the foreground) killed: the pty
    hangs up, the container's session gets SIGHUP, and the next command records the exit
    and frees it, as for a container without -t."""
    imaged.pynet("run", "-d", "-t", "--name", "d1", "--network", "none", "--image", "busybox", "sleep", "300")
    pid = int(imaged.pynet("inspect", "-f", "{{.State.Pid}}", "d1").stdout)
    waiter = int((imaged.state_dir / "containers" / _id(imaged, "d1") / "waiter").read_text().split()[0])
    os.kill(waiter, signal.SIGKILL)
    wait_for(lambda: not alive(pid), timeout=10, desc="the hung-up container gone")
    imaged.pynet("rm", "-f", "d1")
    assert imaged.pynet("ps", "-a", "-q").stdout == ""

    fg = subprocess.Popen(
        imaged.pynet_argv(
            "run", "-t", "--name", "f1", "--network", "none", "--image", "busybox", "sh", "-c", "echo up; sleep 300"
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=imaged.env,
        cwd=imaged.root,
    )
    try:
        assert fg.stdout is not None and fg.stdout.readline() == b"up\r\n"
        pid = int(imaged.pynet("inspect", "-f", "{{.State.Pid}}", "f1").stdout)
        fg.kill()
        fg.wait(timeout=10)
    finally:
        if fg.poll() is None:
            fg.kill()
            fg.wait()
    wait_for(lambda: not alive(pid), timeout=10, desc="the hung-up container gone")
    status = imaged.pynet("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert status.startswith("f1 Exited (255)"), status
    # positive control: -d -t still runs and logs
    cid = imaged.pynet("run", "-d", "-t", "--network", "none", "--image", "busybox", "echo", "ok").stdout.strip()
    wait_for(lambda: pynet_bytes(imaged, "logs", cid).stdout == b"ok\r\n", timeout=15, desc="ok logged")


def _id(host: Host, name: str) -> str:
    return host.pynet("inspect", "-f", "{{.Id}}", name).stdout.strip()

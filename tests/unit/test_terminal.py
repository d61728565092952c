"""`-t`'s pure pieces: the window size, raw mode and its restore, the foreground relay,
and the waiter's copy of a pty master (input fed to it, EIO as its end) — on ptys this
test opens, no root, no container."""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from pathlib import Path

import pytest

from fresh_python import run_code
from pynet.kernel import terminal, waiter

pytestmark = pytest.mark.unit


def test_size_of_a_terminal_and_of_anything_else(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        assert terminal.size(slave) == (40, 120)
        terminal.resize(master, (25, 80))
        assert terminal.size(slave) == (25, 80)
        terminal.resize(master, (0, 0))  # none known: left as it is
        assert terminal.size(slave) == (25, 80)
    finally:
        os.close(master)
        os.close(slave)
    with open(tmp_path / "f", "w") as f:
        assert terminal.size(f.fileno()) == (0, 0)


def test_raw_mode_is_restored_also_on_an_error() -> None:
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        with pytest.raises(RuntimeError), terminal.RawMode(slave):
            assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # raw inside
            raise RuntimeError("boom")
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_relay_copies_the_master_until_its_slave_is_closed(tmp_path: Path) -> None:
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:  # the "container": writes through the pty (ONLCR: \r\n) and exits
        os.close(master)
        os.write(slave, b"a\nb\n")
        os._exit(0)
    os.close(slave)
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        terminal.relay(pid, master, stdin=None, out=out)
    finally:
        os.close(out)
        os.close(master)
        os.waitpid(pid, 0)
    assert (tmp_path / "out").read_bytes() == b"a\r\nb\r\n"


def test_waiter_copies_a_pty_master_and_feeds_it_input(tmp_path: Path) -> None:
    master, slave = os.openpty()
    attr = termios.tcgetattr(slave)
    attr[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attr)
    fifo_r, fifo_w = os.pipe()
    os.write(fifo_w, b"typed\n")
    os.close(fifo_w)
    pid = os.fork()
    if pid == 0:  # echo one line back, then exit: the slave closes, the master reads EIO
        os.close(master)
        line = os.read(slave, 100)
        os.write(slave, b"got " + line)
        os._exit(0)
    os.close(slave)
    log = tmp_path / "container.log"
    waiter.copy_output(pid, str(log), {master: 1, fifo_r: 0})
    os.waitpid(pid, 0)
    raw = log.read_bytes()
    assert raw[:1] == b"\x01" and raw[8:] == b"got typed\r\n", raw  # one stdout frame, no input logged


def test_the_foreground_path_stays_light() -> None:
    """terminal is imported only by a -t run: no pyroute2, rich or typing with it."""
    code = (
        "import sys, pynet.kernel.terminal\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'rich', 'typing'))\n"
        "print(','.join(bad))"
    )
    assert run_code(code).strip() == ""

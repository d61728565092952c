"""A detached container's log: Docker's frames written by the waiter, read back per stream."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pynet.kernel import waiter
from pynet.records import logframes

pytestmark = pytest.mark.unit


def test_frames_round_trip_and_arrive_in_pieces() -> None:
    data = logframes.frame(1, b"hel") + logframes.frame(2, b"oops\n") + logframes.frame(1, b"lo\nx")
    assert data[:8] == b"\x01\x00\x00\x00\x00\x00\x00\x03"
    reader = logframes.FrameReader()
    got = [f for i in range(len(data)) for f in reader.feed(data[i : i + 1])]
    assert got == [(1, b"hel"), (2, b"oops\n"), (1, b"lo\nx")]
    # lines: a line written in two pieces is one record; stderr's line comes between
    assert logframes.lines(got) == [(1, b"hello\n"), (2, b"oops\n"), (1, b"x")]


def test_an_older_raw_log_is_read_as_stdout() -> None:
    assert not logframes.is_framed(b"one\ntwo\n")
    assert logframes.parse(b"one\ntwo\n") == [(1, b"one\ntwo\n")]
    assert logframes.is_framed(b"") and logframes.parse(b"") == []


def test_the_waiter_copies_both_streams_in_order_until_the_process_exits(tmp_path: Path) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    # the child leaves a grandchild holding the pipes open: the copy must still end
    proc = subprocess.Popen(
        ["sh", "-c", "echo one; echo two >&2; echo three; (sleep 1 &) ; exit 0"], stdout=out_w, stderr=err_w
    )
    os.close(out_w)
    os.close(err_w)
    log = tmp_path / "container.log"
    waiter.copy_output(proc.pid, str(log), {out_r: 1, err_r: 2})
    proc.wait(timeout=5)
    records = logframes.lines(logframes.parse(log.read_bytes()))
    assert sorted(records) == sorted([(1, b"one\n"), (2, b"two\n"), (1, b"three\n")])
    assert [r for r in records if r[0] == 1] == [(1, b"one\n"), (1, b"three\n")]

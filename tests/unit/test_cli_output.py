"""What the CLI prints keeps Docker's order, and a late exit record is never overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.cnm.controller import Controller
from pynet.records.model import Container
from pynet.cnm.repo import Repo
from pynet.state.store import Store

pytestmark = pytest.mark.unit


def test_output_and_errors_keep_their_order_in_one_pipe() -> None:
    # `pynet rm c1 nosuch 2>&1 | cat` prints c1 first, as Docker does
    code = "from pynet.cli.base import echo\necho('c1')\necho('Error: No such container: nosuch', err=True)\necho('c2')"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe is block-buffered
    cp = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30, env=env
    )
    assert cp.stdout == "c1\nError: No such container: nosuch\nc2\n"


def test_a_container_that_exited_before_its_start_was_recorded_stays_exited(tmp_path: Path) -> None:
    """The supervisor's `_exited` can win the lock against `run -d`'s own record."""
    store = Store(tmp_path)
    c = Container(id="c" * 64, name="quick", created="2026-11-28T00:00:00Z", path="true", status="exited")
    with store.locked():
        txn = store.begin()
        Repo(store, txn).put_container(c)
        txn.commit()
    Controller(store).record_started(c, pid=4242, supervisor_pid=4241)
    after = Repo(store).container(c.id)
    assert after is not None and (after.status, after.pid) == ("exited", c.pid)

"""pynet._detach: the detached start shared by the waiter zygote and the warm server's
client (built-in modules only: the client runs it before anything else)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pynet import _detach

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

_REPORT = (
    "import json, os\n"
    "fds = []\n"
    "for fd in range(10):\n"
    "    try:\n"
    "        os.fstat(fd)\n"
    "        fds.append(fd)\n"
    "    except OSError:\n"
    "        pass\n"
    "facts = {'fds': fds, 'cwd': os.getcwd(), 'ppid': os.getppid(), 'sid': os.getsid(0),\n"
    "         'stdio': [os.readlink(f'/proc/self/fd/{fd}') for fd in (0, 1, 2)]}\n"
    "os.write(3, json.dumps(facts).encode())\n"
)


def test_spawn_runs_the_program_detached_holding_only_the_kept_fd() -> None:
    read, write = os.pipe()
    extra = os.open(os.devnull, os.O_RDONLY)  # inheritable, above 3: must not reach the program
    os.set_inheritable(extra, True)
    try:
        _detach.spawn([sys.executable, "-S", "-c", _REPORT], write)
        os.close(write)  # EOF once the program (the only other holder) has written and left
        with os.fdopen(read, "rb") as f:
            facts = json.loads(f.read())
    finally:
        os.close(extra)
    assert extra > 3 and facts["fds"] == [0, 1, 2, 3]
    assert facts["stdio"] == ["/dev/null"] * 3 and facts["cwd"] == "/"
    assert facts["ppid"] != os.getpid(), "a double fork: not our child"
    assert facts["sid"] != os.getsid(0), "its own session"


def test_it_imports_only_what_a_started_interpreter_has_loaded() -> None:
    code = (
        "import sys, pynet\nbefore = set(sys.modules)\nimport pynet._detach\n"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('pynet')))\n"
    )
    env = {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env, check=True)
    assert out.stdout.strip() == "['__future__']"

"""Detached containers' waiters and the waiter zygote that forks them (issue #15).

- The zygote is never a container's parent: each container is the child of its own
  waiter, which is the zygote's child.
- kill -9 of the zygote: running containers and their waiters live on, their later exits
  are recorded with their own codes and logs, and the next ``run -d`` starts a new zygote.
- kill -9 of a waiter: its container lives on; ``stop`` records it and frees everything.
- The container sees the command's umask and working directory: another launch context
  gets another zygote.
- ``rm -f`` leaves no waiter behind; ``system reset`` ends the zygote.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from harness import alive, proc_stat, Host, run, wait_for

pytestmark = pytest.mark.integration


def _parent(pid: int) -> int:
    return int(proc_stat(pid)[1])


def _record(host: Host, name: str) -> dict:
    cid = host.pynet("inspect", "-f", "{{.Id}}", name).stdout.strip()
    return json.loads((host.state_dir / "containers" / f"{cid}.json").read_text())


def _state(host: Host, name: str) -> tuple[str, int]:
    out = host.pynet("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).stdout.split()
    return out[0], int(out[1])


def _kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), timeout=10, desc=f"pid {pid} gone")


def test_kill_9_of_the_zygote_spares_running_containers(host: Host) -> None:
    host.pynet("network", "create", "--subnet", "10.61.0.0/24", "zn")
    flag = host.root / "go"
    script = f"while [ ! -e {flag} ]; do sleep 0.05; done; echo bye; exit 7"
    host.pynet("run", "-d", "--name", "c1", "--network", "zn", "sh", "-c", script)
    host.pynet("run", "-d", "--name", "c2", "--network", "zn", "sleep", "300")
    [zygote] = host.zygote_pids()
    for name in ("c1", "c2"):
        rec = _record(host, name)
        assert _parent(rec["pid"]) == rec["supervisor_pid"] != zygote, "the container is its waiter's child"
        assert _parent(rec["supervisor_pid"]) == zygote, "the waiter is the zygote's child"
    c1 = _record(host, "c1")

    _kill9(zygote)
    assert _state(host, "c1") == ("running", 0) and _state(host, "c2") == ("running", 0)
    assert alive(c1["pid"]) and alive(c1["supervisor_pid"])

    flag.touch()  # c1 ends now, after its zygote: its waiter records the code
    wait_for(lambda: _state(host, "c1")[0] == "exited", timeout=15, desc="c1 recorded exited")
    assert _state(host, "c1") == ("exited", 7)
    assert host.pynet("logs", "c1").stdout == "bye\n"
    wait_for(lambda: not alive(c1["supervisor_pid"]), timeout=10, desc="c1's waiter gone")

    host.pynet("run", "-d", "--name", "c3", "--network", "zn", "sleep", "300")
    [second] = host.zygote_pids()
    assert second != zygote
    c3 = _record(host, "c3")
    assert _parent(c3["supervisor_pid"]) == second and _parent(c3["pid"]) == c3["supervisor_pid"]
    host.pynet("exec", "c3", "true")  # c3 runs in its sandbox as before

    c2 = _record(host, "c2")
    host.pynet("rm", "-f", "c1", "c2", "c3")
    for pid in (c2["pid"], c2["supervisor_pid"], c3["pid"], c3["supervisor_pid"]):
        wait_for(lambda pid=pid: not alive(pid), timeout=10, desc=f"pid {pid} gone after rm -f")
    host.pynet("system", "reset", "-f")
    wait_for(lambda: not alive(second), timeout=10, desc="system reset ended the zygote")
    assert host.zygote_pids() == [] and not list(host.run_dir.glob("zygote-*.sock"))


def test_kill_9_of_a_waiter_leaves_its_container_to_the_next_command(host: Host) -> None:
    host.pynet("network", "create", "--subnet", "10.62.0.0/24", "wn")
    host.pynet("run", "-d", "--name", "c1", "--network", "wn", "sleep", "300")
    rec = _record(host, "c1")
    _kill9(rec["supervisor_pid"])
    assert alive(rec["pid"]) and _state(host, "c1")[0] == "running"
    assert host.zygote_pids(), "the zygote is not the waiter: it lives on"
    host.pynet("stop", "-t", "1", "c1")
    assert _state(host, "c1")[0] == "exited" and not alive(rec["pid"])
    sandbox = Path(rec["netns_path"])
    assert not sandbox.exists(), "its sandbox was released"
    # positive control: a new container starts (through the same zygote) and is waited for
    host.pynet("run", "-d", "--name", "c2", "--network", "wn", "sh", "-c", "exit 5")
    wait_for(lambda: _state(host, "c2") == ("exited", 5), timeout=15, desc="c2 recorded with its code")


def test_the_container_sees_the_commands_umask_and_directory(host: Host) -> None:
    def run_d(umask: str, name: str) -> None:
        argv = host.pynet_argv("run", "-d", "--name", name, "--network", "host", "sh", "-c", "umask; pwd")
        run(["sh", "-c", f'umask {umask}; exec "$@"', "sh", *argv], env=host.env, cwd=host.root)
        wait_for(lambda: _state(host, name)[0] == "exited", timeout=15, desc=f"{name} exited")

    run_d("022", "u22")
    run_d("077", "u77")
    assert host.pynet("logs", "u22").stdout == f"0022\n{host.root}\n"
    assert host.pynet("logs", "u77").stdout == f"0077\n{host.root}\n"
    assert len(list(host.run_dir.glob("zygote-*.pid"))) == 2, "another umask, another zygote"

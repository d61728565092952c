"""The warm server (pynet/warm, docs/design.md "Warm server"), through the console script
``bin/pynet`` as a user runs it.

- warm and in-process print the same stdout and stderr and exit the same for create,
  duplicate, bad subnet, usage error, connect, disconnect, rm in use, rm missing, rm;
  PYNET_WARM=0 starts no server;
- the command runs in a child of the server, in the client's network namespace (never the
  server's, never the machine's), with the client's environment and working directory;
- Ctrl-C / SIGTERM to the client reach the command, which ends as in-process;
- a server whose pynet code changed on disk refuses (the command runs in-process) and
  leaves; an idle server leaves; a server killed with kill -9 is replaced;
- the first served command in a brand-new run directory starts a server (once it has made
  the directory; one that fails before starts none).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness import alive, proc_stat, REPO_ROOT, Host, run, wait_for

pytestmark = pytest.mark.integration

BIN = REPO_ROOT / "bin" / "pynet"


def pynet(host: Host, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    """``pynet ARGS`` through the console script, inside ``host`` (never checked)."""
    return run(
        host.nsenter([sys.executable, BIN, *args]),
        check=False,
        timeout=60,
        env={**host.env, "PYNET_WARM": "1", **(env or {})},
        cwd=cwd or host.root,
    )


def spawn(host: Host, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        host.nsenter([sys.executable, BIN, *args]),
        env={**host.env, "PYNET_WARM": "1", **(env or {})},
        cwd=host.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def server_of(host: Host, *, other_than: int = 0) -> int:
    """The host's warm server (started by a served command if none runs)."""
    if not host.warm_pids():
        pynet(host, "network", "rm", "no-such-network")  # served: starts one, changes nothing
    return wait_for(lambda: [p for p in host.warm_pids() if p != other_than], timeout=20, desc="a warm server")[0]


def _stopped_in(host: Host) -> int:
    """The stopped process in ``host``'s network namespace (PYNET_FAULT_STOP's). Not found
    by its environment: /proc/PID/environ shows what a process was exec'd with, and a
    warm child adopted its client's after the server's exec."""
    netns = _ns(host.netns)

    def find() -> int:
        for name in os.listdir("/proc"):
            if name.isdigit() and proc_stat(int(name))[:1] == ["T"]:
                try:
                    if _ns(f"/proc/{name}/ns/net") == netns:
                        return int(name)
                except OSError:
                    continue
        return 0

    return wait_for(find, timeout=20, desc="a stopped pynet in the host")


def _pending(pid: int, sig: int) -> bool:
    """``sig`` is pending for ``pid`` (thread or process-wide)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    masks = [int(line.split()[1], 16) for line in status if line.startswith(("SigPnd:", "ShdPnd:"))]
    return any(mask & (1 << (sig - 1)) for mask in masks)


def _ns(path: str) -> int:
    return os.stat(path).st_ino


_ID = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def test_warm_and_in_process_print_the_same(hosts) -> None:  # type: ignore[no-untyped-def]
    warm, cold = hosts(2)
    server = server_of(warm)
    steps = [
        ("network", "create", "n1"),
        ("network", "create", "n1"),
        ("network", "create", "--subnet", "bad", "n2"),
        ("network", "create", "--bogus", "n2"),
        ("network", "create", "--subnet", "10.70.0.0/24", "n2"),
        ("run", "-d", "--name", "c1", "--network", "n1", "sleep", "100"),
        ("network", "connect", "n2", "c1"),
        ("network", "disconnect", "n2", "c1"),
        ("network", "rm", "n1"),
        ("network", "rm", "nope"),
        ("network", "rm", "n2"),
        ("rm", "-f", "c1"),
        ("network", "prune", "-f"),
    ]
    for step in steps:
        a = pynet(warm, *step)
        b = pynet(cold, *step, env={"PYNET_WARM": "0"})
        assert (a.returncode, _ID.sub("<ID>", a.stdout), _ID.sub("<ID>", a.stderr)) == (
            b.returncode,
            _ID.sub("<ID>", b.stdout),
            _ID.sub("<ID>", b.stderr),
        ), step
    assert warm.warm_pids() == [server]  # served them all, refused none (a refusal would not end it)
    assert cold.warm_pids() == [] and not list(cold.run_dir.glob("warm-*")), "PYNET_WARM=0 started a server"


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "in-process"])
def test_the_command_runs_in_the_clients_namespace_with_its_env_and_cwd(host: Host, warm: bool) -> None:
    server = server_of(host) if warm else 0
    sub = host.root / "sub"
    sub.mkdir()
    env = {"PYNET_STATE_DIR": "rel-state", "PYNET_FAULT_STOP": "bridge_add", "PYNET_WARM": "1" if warm else "0"}
    proc = subprocess.Popen(
        host.nsenter([sys.executable, BIN, "network", "create", "--subnet", "10.71.0.0/24", "wn"]),
        env={**host.env, **env},
        cwd=sub,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stopped = _stopped_in(host)
    try:
        # warm: a child of the server, not the client; in-process: the client itself
        assert (int(proc_stat(stopped)[1]), stopped != proc.pid) == (
            (server, True) if warm else (int(proc_stat(proc.pid)[1]), False)
        )
        assert _ns(f"/proc/{stopped}/ns/net") == _ns(host.netns)
        assert os.readlink(f"/proc/{stopped}/cwd") == str(sub)
    finally:
        os.kill(stopped, signal.SIGCONT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    net_id = out.strip()
    assert json.loads((sub / "rel-state" / "networks" / f"{net_id}.json").read_text())["name"] == "wn"
    bridges = [link["ifname"] for link in host.ip_json("link", "show", "type", "bridge")]
    assert f"br-{net_id[:12]}" in bridges
    machine = json.loads(run(["ip", "-j", "link", "show"]).stdout)  # read only
    assert f"br-{net_id[:12]}" not in [link["ifname"] for link in machine]
    if warm:
        assert _ns(f"/proc/{server}/ns/net") != _ns(host.netns), "the server keeps the client's netns alive"


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "in-process"])
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_signals_to_the_client_reach_the_command(host: Host, warm: bool, sig: int, code: int) -> None:
    if warm:
        server_of(host)
    env = {"PYNET_FAULT_STOP": "bridge_add", "PYNET_WARM": "1" if warm else "0"}
    proc = spawn(host, "network", "create", "--subnet", "10.72.0.0/24", "sn", env=env)
    stopped = _stopped_in(host)
    proc.send_signal(sig)
    wait_for(lambda: _pending(stopped, sig), timeout=10, desc="the signal pending in the stopped command")
    os.kill(stopped, signal.SIGCONT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    names = pynet(host, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "sn" not in names  # the command was interrupted before its commit, in both modes
    assert pynet(host, "network", "create", "--subnet", "10.72.0.0/24", "sn").returncode == 0  # nothing left behind


def test_a_server_older_than_the_code_refuses_and_leaves(host: Host, tmp_path: Path) -> None:
    copy = tmp_path / "code"
    shutil.copytree(REPO_ROOT / "pynet", copy / "pynet")
    host.env["PYTHONPATH"] = str(copy)
    old = server_of(host)
    ids = copy / "pynet" / "ids.py"
    st = ids.stat()
    os.utime(ids, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # an upgrade installed a new ids.py
    out = pynet(host, "network", "create", "--subnet", "10.73.0.0/24", "stale")
    assert out.returncode == 0, out.stderr
    wait_for(lambda: not alive(old), timeout=10, desc="the stale server leaving")
    assert "stale" in pynet(host, "network", "ls").stdout
    new = server_of(host, other_than=old)  # the next command starts a fresh one
    assert pynet(host, "network", "rm", "stale").returncode == 0
    assert alive(new)


def test_an_idle_server_leaves(host: Host) -> None:
    host.env["PYNET_DAEMON_IDLE_EXIT"] = "1"
    server = server_of(host)
    wait_for(lambda: not alive(server), timeout=15, desc="the idle server leaving")
    assert (
        host.warm_pids() == []
        and not list(host.run_dir.glob("warm-*.sock"))
        and not list(host.run_dir.glob("warm-*.pid"))
    )


def test_a_killed_server_is_replaced(host: Host) -> None:
    server = server_of(host)
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not alive(server), timeout=10, desc="the server killed")
    out = pynet(host, "network", "create", "--subnet", "10.74.0.0/24", "k1")  # in-process; starts another
    assert out.returncode == 0, out.stderr
    new = server_of(host, other_than=server)
    out = pynet(host, "network", "rm", "k1")
    assert (out.returncode, out.stdout, out.stderr) == (0, "k1\n", "")
    assert alive(new)


def test_the_first_command_in_a_new_run_dir_starts_the_server(host: Host) -> None:
    fresh = host.root / "fresh-run"  # as on a machine where pynet never ran: no $PYNET_RUN_DIR yet
    host.run_dir, host.env["PYNET_RUN_DIR"] = fresh, str(fresh)
    out = pynet(host, "network", "create", "--bogus", "x")  # fails before it makes the run dir
    assert (out.returncode, fresh.exists()) == (125, False), out.stderr  # so nothing is started in it
    out = pynet(host, "network", "create", "--subnet", "10.76.0.0/24", "first")  # in-process: no server yet
    assert out.returncode == 0, out.stderr
    [server] = wait_for(host.warm_pids, timeout=20, desc="a warm server started by the first command")
    # the next command is the server's child (the first ran in its client: it had none)
    proc = spawn(
        host, "network", "create", "--subnet", "10.77.0.0/24", "second", env={"PYNET_FAULT_STOP": "bridge_add"}
    )
    stopped = _stopped_in(host)
    try:
        assert (int(proc_stat(stopped)[1]), stopped != proc.pid) == (server, True)
    finally:
        os.kill(stopped, signal.SIGCONT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert host.warm_pids() == [server]


def test_a_killed_client_leaves_its_command_to_complete(host: Host) -> None:
    server_of(host)
    proc = spawn(
        host, "network", "create", "--subnet", "10.75.0.0/24", "orphan", env={"PYNET_FAULT_STOP": "bridge_add"}
    )
    stopped = _stopped_in(host)
    assert stopped != proc.pid  # positive control: the command is the server's child
    proc.kill()
    proc.wait(timeout=30)  # (its output pipes: still the stopped command's too)
    os.kill(stopped, signal.SIGCONT)
    wait_for(lambda: not alive(stopped), timeout=30, desc="the command finishing")
    nets = pynet(host, "network", "inspect", "-f", "{{.Id}}", "orphan")
    assert nets.returncode == 0, nets.stderr  # completed, committed: no half-made network
    assert f"br-{nets.stdout.strip()[:12]}" in [
        link["ifname"] for link in host.ip_json("link", "show", "type", "bridge")
    ]
    assert pynet(host, "network", "rm", "orphan").returncode == 0
    proc.communicate(timeout=30)


def test_system_reset_ends_the_warm_server(host: Host) -> None:
    server = server_of(host)
    assert pynet(host, "system", "reset", "-f").returncode == 0
    wait_for(lambda: not alive(server), timeout=10, desc="the warm server ended by the reset")
    assert host.warm_pids() == []

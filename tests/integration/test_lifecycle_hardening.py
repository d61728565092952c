"""Container and command lifecycle under failures (issue #10, part B).

- A command that fails at its commit changed nothing: no container, no address, no DNAT.
- kill -9 of a foreground ``pynet run`` leaves no ghost: once its command ends, ``ps -a``
  shows it Exited and its address and published port are free again.
- A pid that the kernel reused for an unrelated process is never signalled by
  ``stop``/``kill``/``rm -f``: pynet keeps each pid's start time.
- A ``run`` killed between its commit and the start of the process leaves a ``Created``
  container holding no address, veth, namespace or DNAT rule.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from harness import alive, Host, wait_for
from test_faults import KILLED, World, check_consistent, observe, teardown_all_and_check_clean

pytestmark = pytest.mark.integration

RUN_P = ["run", "-d", "--name", "c2", "--network", "base", "--ip", "10.7.0.50", "-p", "8080:80", "sleep", "300"]


def _base(host: Host) -> None:
    host.pynet("network", "create", "--subnet", "10.7.0.0/24", "base")


def _ruleset(host: Host) -> str:
    return host.sh("nft list ruleset").stdout


def _dnat_for(host: Host, port: int) -> bool:
    return any(f"{port}" in line and ("dnat" in line or ":" in line) for line in _ruleset(host).splitlines())


def _status(host: Host, name: str) -> str:
    return host.pynet("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def _can_run_again(host: Host, port: int, ip: str, name: str = "again") -> None:
    """The address and the port are free: a new container gets them (positive control)."""
    host.pynet("run", "-d", "--name", name, "--network", "base", "--ip", ip, "-p", f"{port}:80", "sleep", "300")
    assert host.pynet("inspect", "-f", "{{.NetworkSettings.Networks.base.IPAddress}}", name).stdout.strip() == ip
    assert _dnat_for(host, port), "the new container's port mapping is in nft"


# -- a failure at commit changes nothing ------------------------------------------------


@pytest.mark.parametrize("point", ["state_commit", "state_apply"])
def test_run_p_failing_at_commit_leaves_no_container_address_or_dnat(host: Host, point: str) -> None:
    _base(host)
    before = observe(host)
    cp = host.pynet(*RUN_P, check=False, env={"PYNET_FAULT": point})
    assert cp.returncode == 125, cp.stderr
    assert f"injected fault at {point}" in cp.stderr
    assert len(cp.stderr.splitlines()) == 1 and "Traceback" not in cp.stderr
    world = World(host)
    assert world.view() == before  # no c2, not even Created
    check_consistent(host, world)
    assert not _dnat_for(host, 8080)
    assert not (host.state_dir / "journal.json").exists()
    _can_run_again(host, 8080, "10.7.0.50")
    teardown_all_and_check_clean(host)


@pytest.mark.parametrize("point", ["state_commit", "state_apply"])
def test_network_create_failing_at_commit_never_appears(host: Host, point: str) -> None:
    host.pynet("network", "ls")  # first use made the built-ins: the fault hits our commit
    cp = host.pynet("network", "create", "--subnet", "10.9.0.0/24", "newnet", check=False, env={"PYNET_FAULT": point})
    assert cp.returncode == 1 and f"injected fault at {point}" in cp.stderr, cp.stderr
    assert "newnet" not in host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "newnet" not in host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    check_consistent(host)
    host.pynet("network", "create", "--subnet", "10.9.0.0/24", "newnet")  # the subnet is free
    teardown_all_and_check_clean(host)


@pytest.mark.parametrize("point", ["state_commit", "state_apply"])
def test_connect_failing_at_commit_leaves_the_containers_files_as_they_were(host: Host, point: str) -> None:
    """The container's /etc/hosts (what ``hostname -i`` reads) must not name an address of
    a network it was not connected to: the files are rewritten only by a connect that held."""
    _base(host)
    host.pynet("network", "create", "--subnet", "10.8.0.0/24", "other")
    host.pynet("run", "-d", "--name", "c1", "--network", "base", "--ip", "10.7.0.5", "sleep", "300")
    hosts_before = host.pynet("exec", "c1", "cat", "/etc/hosts").stdout
    cp = host.pynet("network", "connect", "--ip", "10.8.0.9", "other", "c1", check=False, env={"PYNET_FAULT": point})
    assert cp.returncode == 1 and f"injected fault at {point}" in cp.stderr, cp.stderr
    assert host.pynet("exec", "c1", "cat", "/etc/hosts").stdout == hosts_before
    assert "10.8.0.9" not in host.pynet("exec", "c1", "hostname", "-i").stdout
    # positive control: the same connect without the fault does rewrite them
    host.pynet("network", "connect", "--ip", "10.8.0.9", "other", "c1")
    assert "10.8.0.9" in host.pynet("exec", "c1", "cat", "/etc/hosts").stdout
    teardown_all_and_check_clean(host)


# -- kill -9 of a foreground run ----------------------------------------------------------


def _fg_argv(host: Host, *args: str) -> list[str]:
    """``python -m pynet run --name fg --network base <args>`` (``spawn`` adds the nsenter)."""
    return host.pynet_argv("run", "--name", "fg", "--network", "base", *args)[2:]


def test_kill_9_of_foreground_run_leaves_no_ghost(host: Host) -> None:
    _base(host)
    flag = host.root / "finish"
    proc = host.spawn(
        *_fg_argv(
            host, "--ip", "10.7.0.60", "-p", "8081:80", "sh", "-c", f"while [ ! -e {flag} ]; do sleep 0.05; done"
        ),
        cwd=host.root,
    )
    wait_for(
        lambda: "running" in host.pynet("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout,
        timeout=20,
        desc="fg running",
    )
    cpid = int(host.pynet("inspect", "-f", "{{.State.Pid}}", "fg").stdout)
    assert b"pynet" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()  # the pynet process itself
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # its command still runs: Up is the truth
    assert _status(host, "fg") == "running"
    flag.touch()
    wait_for(lambda: not alive(cpid), timeout=10, desc="the command ended")
    # the next command (read-only) no longer shows it Up
    line = host.pynet("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert "fg Exited (255)" in line, line
    assert _status(host, "fg") == "exited"
    check_consistent(host)
    assert not _dnat_for(host, 8081)
    _can_run_again(host, 8081, "10.7.0.60")
    teardown_all_and_check_clean(host)


def _recorded_pid(host: Host, name: str) -> int:
    """The container's pid as the state file has it (read without running pynet)."""
    for path in (host.state_dir / "containers").glob("*.json"):
        if path.name.startswith("_"):
            continue
        rec = json.loads(path.read_text())
        if rec.get("name") == name:
            return int(rec.get("pid") or 0)
    return 0


def test_kill_9_of_foreground_run_next_mutating_command_frees_ip_and_port(host: Host) -> None:
    _base(host)
    proc = host.spawn(*_fg_argv(host, "--ip", "10.7.0.61", "-p", "8083:80", "sleep", "1"), cwd=host.root)
    wait_for(lambda: _recorded_pid(host, "fg"), timeout=20, desc="fg started")
    cpid = _recorded_pid(host, "fg")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    wait_for(lambda: not alive(cpid), timeout=10, desc="sleep 1 ended")
    # no ps in between: `run` itself reaps the ghost before it allocates
    _can_run_again(host, 8083, "10.7.0.61")
    assert _status(host, "fg") == "exited"
    check_consistent(host)
    teardown_all_and_check_clean(host)


# -- pid reuse ------------------------------------------------------------------------------


def _fake_running(host: Host, name: str, pid: int, start: int) -> None:
    """Make ``name``'s record claim that ``pid`` (started at ``start``) is its process."""
    cid = host.pynet("inspect", "-f", "{{.Id}}", name).stdout.strip()
    path = host.state_dir / "containers" / f"{cid}.json"
    rec = json.loads(path.read_text())
    rec.update(status="running", pid=pid, pid_start=start, supervisor_pid=pid, supervisor_start=start)
    path.write_text(json.dumps(rec))


def _detach_and_kill_real_processes(host: Host, name: str) -> None:
    """Kill the container's real supervisor and process (so only the fake record is left)."""
    cid = host.pynet("inspect", "-f", "{{.Id}}", name).stdout.strip()
    rec = json.loads((host.state_dir / "containers" / f"{cid}.json").read_text())
    for pid in (rec["supervisor_pid"], rec["pid"]):
        os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: not alive(rec["pid"]) and not alive(rec["supervisor_pid"]),
        timeout=10,
        desc="real processes gone",
    )


@pytest.mark.parametrize("command", [["kill"], ["stop", "-t", "1"], ["rm", "-f"]])
def test_reused_pid_is_never_signalled(host: Host, command: list[str]) -> None:
    _base(host)
    bystander = host.spawn("sleep", "300")
    wait_for(lambda: alive(bystander.pid), timeout=5, desc="bystander")
    start = _start_time(bystander.pid)
    host.pynet("run", "-d", "--name", "c1", "--network", "base", "sleep", "300")
    _detach_and_kill_real_processes(host, "c1")
    _fake_running(host, "c1", bystander.pid, start + 1)  # same pid, another process
    cp = host.pynet(*command, "c1", check=False)
    assert alive(bystander.pid), f"`pynet {' '.join(command)}` signalled an unrelated process"
    if command == ["kill"]:
        assert cp.returncode == 1 and "is not running" in cp.stderr, cp.stderr
    else:
        assert cp.returncode == 0, cp.stderr
    if command[0] == "rm":
        assert host.pynet("ps", "-aq").stdout.strip() == ""
    else:
        assert _status(host, "c1") == "exited"  # treated as exited, resources freed
    check_consistent(host)
    # positive control: with the right start time the very same pid IS signalled
    host.pynet("run", "-d", "--name", "c3", "--network", "base", "sleep", "300")
    _detach_and_kill_real_processes(host, "c3")
    _fake_running(host, "c3", bystander.pid, start)
    host.pynet("kill", "c3")
    bystander.wait(timeout=10)
    assert bystander.returncode == -signal.SIGKILL
    teardown_all_and_check_clean(host)


# -- killed between commit and start ---------------------------------------------------------


@pytest.mark.parametrize("next_command", [["ps", "-a"], ["network", "create", "probe"]])
@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_run_killed_between_commit_and_start_leaves_created_holding_nothing(
    host: Host, next_command: list[str], detach: bool
) -> None:
    _base(host)
    argv = [
        "run",
        *(["-d"] if detach else []),
        "--name",
        "c2",
        "--network",
        "base",
        "--ip",
        "10.7.0.70",
        "-p",
        "8082:80",
        "sleep",
        "300",
    ]
    cp = host.pynet(*argv, check=False, env={"PYNET_FAULT_KILL": "container_start"})
    assert cp.returncode in KILLED, cp
    host.pynet(*next_command)
    assert _status(host, "c2") == "created"
    inspect = host.pynet_json("inspect", "c2")[0]
    assert inspect["NetworkSettings"]["SandboxKey"] == ""
    assert all(not e["IPAddress"] for e in inspect["NetworkSettings"]["Networks"].values())
    check_consistent(host)  # no veth, no netns for c2
    assert not _dnat_for(host, 8082)
    _can_run_again(host, 8082, "10.7.0.70")
    teardown_all_and_check_clean(host)


def test_run_failing_between_commit_and_start_reports_and_holds_nothing(host: Host) -> None:
    _base(host)
    cp = host.pynet(
        "run",
        "-d",
        "--name",
        "c2",
        "--network",
        "base",
        "--ip",
        "10.7.0.71",
        "-p",
        "8084:80",
        "sleep",
        "300",
        check=False,
        env={"PYNET_FAULT": "container_start"},
    )
    assert cp.returncode == 125 and "injected fault at container_start" in cp.stderr, cp.stderr
    assert len(cp.stderr.splitlines()) == 1
    # right away (the failing command undid it itself): Created, holding nothing
    assert (host.run_dir / "owners").exists() and os.listdir(host.run_dir / "owners") == []
    assert _status(host, "c2") == "created"
    check_consistent(host)
    assert not _dnat_for(host, 8084)
    _can_run_again(host, 8084, "10.7.0.71")
    teardown_all_and_check_clean(host)


def test_bad_env_file_creates_nothing(host: Host) -> None:
    """``run --env-file`` with a missing file fails before anything is made (as Docker)."""
    _base(host)
    before = observe(host)
    cp = host.pynet(
        "run",
        "-d",
        "--name",
        "c2",
        "--network",
        "base",
        "--env-file",
        str(host.root / "nope"),
        "-p",
        "8085:80",
        "sleep",
        "300",
        check=False,
    )
    assert cp.returncode == 125 and "no such file or directory" in cp.stderr, cp.stderr
    world = World(host)
    assert world.view() == before
    check_consistent(host, world)
    assert not _dnat_for(host, 8085)
    _can_run_again(host, 8085, "10.7.0.72")
    teardown_all_and_check_clean(host)

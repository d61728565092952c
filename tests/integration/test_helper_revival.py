"""The helper (embedded DNS) comes back by itself after it dies, and leaves with pynet.

Real containers in a throwaway host; names are asked with ``dig @127.0.0.11`` from inside
a container's netns. Between a kill and the answer no pynet command runs (the sandbox
paths are read before the kill), so nothing but the keeper can have brought it back.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys

import pytest

from harness import Host, find_pids, wait_for

pytestmark = [
    pytest.mark.skipif(not shutil.which("dig"), reason="needs dig"),
]

BACK_WITHIN = 2.0  # seconds: the bound for name resolution to come back


def two_containers(host: Host) -> dict[str, str]:
    """c1 and c2 on net1; returns {"c1": its netns path, "c2": ..., "ip2": c2's address}."""
    host.pynet("network", "create", "net1")
    for name in ("c1", "c2"):
        host.pynet("run", "-d", "--name", name, "--network", "net1", "sleep", "600")
    info = host.pynet_json("inspect", "c2")[0]
    return {
        "c1": host.sandbox_key("c1"),
        "c2": host.sandbox_key("c2"),
        "ip2": info["NetworkSettings"]["Networks"]["net1"]["IPAddress"],
    }


def resolves(host: Host, sandbox: str, name: str, address: str) -> bool:
    """One A query from inside ``sandbox`` (a netns path) answers exactly ``address``."""
    out = host.in_sandbox(
        sandbox, "dig", "+short", "+time=1", "+tries=1", "@127.0.0.11", name, check=False, timeout=10
    ).stdout
    return out.split() == [address]


def alive(pid: int | None) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_helper_and_wait_for_dns(host: Host, c: dict[str, str]) -> int:
    """SIGKILL the helper; within BACK_WITHIN s c1 resolves c2 again. Returns the new pid."""
    old = host.helper_pid()
    assert alive(old)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not alive(old), timeout=5, desc="the killed helper to be gone")
    wait_for(
        lambda: resolves(host, c["c1"], "c2", c["ip2"]),
        timeout=BACK_WITHIN,
        desc="c1 to resolve c2 again after the helper was killed",
    )
    new = host.helper_pid()
    assert alive(new) and new != old
    return new


def restart_delays(log: os.PathLike) -> list[float]:
    """The keeper's announced delays before each restart of a daemon that failed."""
    found = re.findall(r"exited with status 1; starting it again(?: in ([\d.]+) s)?", open(log).read())
    return [float(delay or 0) for delay in found]


def pynet_processes(host: Host) -> set[int]:
    """Live processes in this host's namespaces or carrying its PYNET_STATE_DIR."""
    return find_pids(host.netns_ids(), f"PYNET_STATE_DIR={host.state_dir}".encode())


def test_a_killed_helper_comes_back_by_itself(host: Host) -> None:
    c = two_containers(host)
    assert resolves(host, c["c1"], "c2", c["ip2"])  # positive control
    keeper = host.helper_pid(keeper=True)
    kill_helper_and_wait_for_dns(host, c)
    assert keeper is not None and host.helper_pid(keeper=True) == keeper and alive(keeper)  # it restarted it
    assert resolves(
        host, c["c2"], "c1", host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["net1"]["IPAddress"]
    )  # rebuilt from state


def test_a_helper_killed_several_times_in_a_row_comes_back_each_time(host: Host) -> None:
    c = two_containers(host)
    assert resolves(host, c["c1"], "c2", c["ip2"])
    pids = {host.helper_pid()}
    for _ in range(3):
        pids.add(kill_helper_and_wait_for_dns(host, c))
    assert len(pids) == 4
    log = (host.run_dir / "pynetd.log").read_text()
    assert log.count("was killed by signal 9; starting it again") == 3


def test_system_reset_leaves_no_helper_or_keeper(host: Host) -> None:
    c = two_containers(host)
    helper, keeper = host.helper_pid(), host.helper_pid(keeper=True)
    assert {helper, keeper} <= pynet_processes(host)  # positive control
    host.pynet("system", "reset", "-f")
    wait_for(lambda: not pynet_processes(host), timeout=10, desc="no pynet process left")
    assert not alive(helper) and not alive(keeper)
    assert not (host.run_dir / "pynetd-keeper.pid").exists()
    assert not os.path.exists(c["c1"])


def test_a_helper_that_exits_idle_is_not_restarted(host: Host) -> None:
    host.env["PYNET_DAEMON_IDLE_EXIT"] = "1"  # today's lifecycle: it leaves when idle
    two_containers(host)
    helper, keeper = host.helper_pid(), host.helper_pid(keeper=True)
    assert alive(helper) and alive(keeper)
    host.pynet("rm", "-f", "c1", "c2")
    host.pynet("network", "rm", "net1")
    wait_for(
        lambda: not alive(helper) and not alive(keeper), timeout=10, desc="the idle helper and its keeper to leave"
    )
    # the waiter zygote leaves on the same idle setting, counted from its last waiter's exit
    wait_for(lambda: not pynet_processes(host), timeout=10, desc="no pynet process left")


def test_a_crash_loop_backs_off_and_stop_still_ends_it(host: Host) -> None:
    host.env["PYNET_DAEMON_LOG_LEVEL"] = "NO-SUCH-LEVEL"  # every daemon dies at its start
    start = "from pynet.daemon import client\ntry: client.ensure_running(timeout=1)\nexcept Exception as e: print(e)"
    out = host.sh(sys.executable, "-c", start).stdout
    assert "the pynet helper daemon did not start" in out
    log = host.run_dir / "pynetd.log"
    wait_for(lambda: len(restart_delays(log)) >= 6, timeout=15, desc="six restarts")
    assert restart_delays(log)[:6] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6]  # backing off, not spinning
    keeper = host.helper_pid(keeper=True)
    assert alive(keeper)
    host.sh(sys.executable, "-c", "from pynet.daemon import client; client.stop()")
    assert not alive(keeper)
    wait_for(lambda: not pynet_processes(host), timeout=10, desc="no pynet process left")

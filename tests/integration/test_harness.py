"""The integration harness itself: isolation, commands in namespaces, LANs, teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import (
    alive,
    CREATED_NETNS,
    PREFIX,
    Host,
    kernel_supports,
    leaks,
    mounts_under,
    root_snapshot,
    run,
    wait_for,
)


def _netns_names() -> set[str]:
    out = run(["ip", "-j", "netns", "list"]).stdout
    return {n["name"] for n in json.loads(out)} if out.strip() else set()


@pytest.mark.integration
def test_host_netns_is_isolated_and_has_only_lo(host: Host) -> None:
    assert host.name.startswith(PREFIX)
    assert host.name in _netns_names()
    assert os.stat(host.netns).st_ino != os.stat("/proc/self/ns/net").st_ino
    links = host.ip_json("link", "show")
    assert [link["ifname"] for link in links] == ["lo"]
    assert "UP" in links[0]["flags"]
    assert host.ip_json("-4", "route", "show") == []
    # the loopback works inside, and the machine's addresses are not there
    host.sh("ping", "-c1", "-W1", "127.0.0.1")
    assert host.sh("ping", "-c1", "-W1", "192.0.2.53", check=False).returncode != 0


@pytest.mark.integration
def test_host_dirs_and_env(host: Host) -> None:
    for d in (host.state_dir, host.run_dir):
        assert d.is_dir()
    assert host.resolv_conf.read_text() == "nameserver 192.0.2.53\n"
    assert host.env["PYNET_STATE_DIR"] == str(host.state_dir)
    assert host.env["PYNET_RUN_DIR"] == str(host.run_dir)
    assert host.env["PYNET_RESOLV_CONF"] == str(host.resolv_conf)
    host.set_upstream_dns("198.51.100.2", "198.51.100.3")
    assert host.resolv_conf.read_text() == "nameserver 198.51.100.2\nnameserver 198.51.100.3\n"


@pytest.mark.integration
def test_sh_runs_in_the_host_netns(host: Host) -> None:
    assert host.sh("echo", "a b").stdout == "a b\n"
    assert host.sh("echo $PYNET_STATE_DIR").stdout.strip() == str(host.state_dir)
    inode = host.sh("stat", "-L", "-c", "%i", "/proc/self/ns/net").stdout.strip()
    assert int(inode) == os.stat(host.netns).st_ino
    assert host.sh("exit 3", check=False).returncode == 3
    with pytest.raises(AssertionError, match=r"rc=3.*exit 3"):
        host.sh("echo out; echo err >&2; exit 3")
    assert host.sh("cat", input="fed\n").stdout == "fed\n"
    with pytest.raises(AssertionError, match="timed out"):
        host.sh("sleep", "5", timeout=0.5)


@pytest.mark.integration
def test_pynet_runs_python_module_in_host_with_env(host: Host, tmp_path: Path) -> None:
    # A stand-in `pynet` package (first on PYTHONPATH) reports what it got.
    fake = tmp_path / "fake" / "pynet"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'stdin': sys.stdin.read(),\n"
        "  'netns': os.stat('/proc/self/ns/net').st_ino, 'exe': sys.executable,\n"
        "  'env': {k: v for k, v in os.environ.items() if k.startswith('PYNET_')}}))\n"
        "sys.exit(int(os.environ.get('FAKE_RC', '0')))\n"
    )
    env = {"PYTHONPATH": str(fake.parent)}
    got = json.loads(host.pynet("network", "ls", "--format", "{{.Name}}", input="x", env=env).stdout)
    assert got["argv"] == ["network", "ls", "--format", "{{.Name}}"]
    assert got["stdin"] == "x"
    assert got["netns"] == os.stat(host.netns).st_ino
    assert got["exe"] == sys.executable
    assert got["env"]["PYNET_STATE_DIR"] == str(host.state_dir)
    assert got["env"]["PYNET_RUN_DIR"] == str(host.run_dir)
    assert got["env"]["PYNET_RESOLV_CONF"] == str(host.resolv_conf)
    assert host.pynet_json("inspect", "x", env=env)["argv"] == ["inspect", "x"]
    with pytest.raises(AssertionError, match=r"rc=4"):
        host.pynet("boom", env={**env, "FAKE_RC": "4"})
    assert host.pynet("boom", env={**env, "FAKE_RC": "4"}, check=False).returncode == 4
    assert host.pynet_argv("ls")[:3] == ["nsenter", f"--net={host.netns}", sys.executable]


@pytest.mark.integration
def test_in_sandbox_by_path_and_unmount_at_teardown(host: Host) -> None:
    key = host.run_dir / "netns" / "sbx1"
    key.parent.mkdir()
    key.touch()
    run(["unshare", f"--net={key}", "true"])  # a persistent netns, as pynet makes them
    assert [m[1] for m in mounts_under(host.run_dir)] == ["nsfs"]
    links = json.loads(host.in_sandbox(str(key), "ip", "-j", "link").stdout)
    assert [link["ifname"] for link in links] == ["lo"]
    inode = host.in_sandbox(str(key), "stat -L -c %i /proc/self/ns/net").stdout.strip()
    assert int(inode) == os.stat(key).st_ino != os.stat(host.netns).st_ino
    with pytest.raises(AssertionError, match="machine's own network namespace"):
        host.in_sandbox(f"/proc/{os.getpid()}/ns/net", "true")


@pytest.mark.integration
def test_lan_peer_pings_across(host: Host, lan_peer) -> None:
    peer = lan_peer(host)
    assert (peer.ip, peer.host_ip, peer.prefixlen) == ("198.51.100.2", "198.51.100.1", 24)
    assert {link["ifname"] for link in host.ip_json("link")} == {"lo", "lan0"}
    assert {link["ifname"] for link in peer.ip_json("link")} == {"lo", "eth0"}
    host.sh("ping", "-c1", "-W1", peer.ip)
    peer.sh(f"ping -c1 -W1 {peer.host_ip}")
    second = lan_peer(host, "203.0.113.0/24", uplink=True, routed=True)
    assert second.host_ifname == "lan1"
    assert host.ip_json("route", "show", "default")[0]["gateway"] == "203.0.113.2"
    assert second.ip_json("route", "show", "default")[0]["gateway"] == "203.0.113.1"
    host.sh("ping", "-c1", "-W1", second.ip)


@pytest.mark.integration
def test_spawned_processes_are_stopped(host: Host, lan_peer) -> None:
    peer = lan_peer(host)
    server = peer.spawn("socat", "-u", "TCP-LISTEN:7000,reuseaddr", "STDOUT")
    wait_for(lambda: "7000" in peer.sh("ss -Hltn").stdout, desc="socat listening")
    host.sh(f"echo hello | socat -u STDIN TCP:{peer.ip}:7000")
    assert server.wait(timeout=5) == 0
    assert Path(server.log).read_text() == "hello\n"
    sleeper = host.spawn("sleep", "600")
    assert sleeper.poll() is None  # the lab kills it at teardown (the leak check follows)


@pytest.mark.integration
def test_hosts_factory_makes_independent_hosts(hosts) -> None:
    h1, h2 = hosts(2)
    assert (h1.label, h2.label) == ("h1", "h2")
    assert h1.name != h2.name and h1.state_dir != h2.state_dir and h1.run_dir != h2.run_dir
    assert os.stat(h1.netns).st_ino != os.stat(h2.netns).st_ino
    h1.sh("ip link add br-x type bridge")
    assert "br-x" not in {link["ifname"] for link in h2.ip_json("link")}


@pytest.mark.integration
def test_underlay_joins_hosts_and_runs_etcd(hosts, underlay) -> None:
    if not Path("/usr/bin/etcd").exists():
        pytest.skip("etcd-server not installed (run `make deps`)")
    h1, h2 = hosts(2)
    ul = underlay([h1, h2])
    assert (ul.ip_of(h1), ul.ip_of(h2), ul.store_ip) == ("203.0.113.1", "203.0.113.2", "203.0.113.254")
    h1.sh("ping", "-c1", "-W1", ul.ip_of(h2))
    url = ul.start_etcd()
    h1.sh("etcdctl", f"--endpoints={url}", "put", "k", "v")
    assert h2.sh("etcdctl", f"--endpoints={url}", "get", "--print-value-only", "k").stdout == "v\n"
    ul.unplug(h2)
    assert h1.sh("ping", "-c1", "-W1", ul.ip_of(h2), check=False).returncode != 0
    ul.plug(h2)
    wait_for(
        lambda: h1.sh("ping", "-c1", "-W1", ul.ip_of(h2), check=False).returncode == 0, timeout=10, desc="underlay back"
    )
    ul.stop_etcd()
    assert ul.etcd.poll() is not None


@pytest.mark.integration
def test_teardown_removes_everything(tmp_path: Path) -> None:
    """A Host made by hand, with what pynet would leave running, is fully removed."""
    bystander = subprocess.Popen(["sleep", "600"])  # in the root netns, not the host's
    h = Host.create(tmp_path / "nested", "nested")
    try:
        peer = h.lan_peer()
        h.sh("ip link add br-test type bridge && ip link set br-test up")
        key = h.run_dir / "netns" / "sbx"
        key.parent.mkdir()
        key.touch()
        run(["unshare", f"--net={key}", "true"])
        # Detached processes (reparented to init, as pynet's are): a "container" in the
        # sandbox netns, a "helper" in the host netns, a "supervisor" in the root netns
        # that only carries this host's PYNET_STATE_DIR.
        spawn = "sleep 600 >/dev/null 2>&1 & echo $!"
        container = int(run(["nsenter", f"--net={key}", "/bin/sh", "-c", spawn]).stdout)
        helper = int(h.sh(spawn).stdout)
        supervisor = int(run(["/bin/sh", "-c", spawn], env=h.env).stdout)
        (h.run_dir / "pynetd.pid").write_text(f"{helper}\n")
        (h.state_dir / "containers").mkdir()
        (h.state_dir / "containers" / "c1.json").write_text(
            json.dumps({"schema_version": 1, "pid": container, "supervisor_pid": supervisor})
        )
        # a recorded pid that is not this host's must survive
        (h.state_dir / "containers" / "c2.json").write_text(json.dumps({"pid": bystander.pid}))
        assert h.recorded_pids() == {container, supervisor, helper, bystander.pid}
        h.cleanup()
        assert h.name not in _netns_names() and peer.name not in _netns_names()
        assert not os.path.exists(h.netns) and not os.path.exists(peer.netns)
        assert mounts_under(tmp_path) == []
        wait_for(lambda: not any(alive(p) for p in (container, helper, supervisor)), desc="pynet's processes gone")
        assert bystander.poll() is None
        h.cleanup()  # idempotent
    finally:
        h.cleanup()
        bystander.kill()
        bystander.wait()


@pytest.mark.integration
def test_kernel_supports() -> None:
    assert kernel_supports("bridge") is True
    assert kernel_supports("veth") is True
    assert kernel_supports("vxlan") is True
    assert kernel_supports("no_such_kind") is False
    # Both ways: a kernel with dummy links (built in, or a module the probe loads) lists it
    # in /sys/module afterwards; one without has no such entry.
    assert kernel_supports("dummy") is Path("/sys/module/dummy").exists()


@pytest.mark.unit
def test_wait_for_returns_value_or_times_out() -> None:
    calls = iter([0, None, "ok"])
    assert wait_for(lambda: next(calls), timeout=1, interval=0) == "ok"
    start = time.monotonic()
    with pytest.raises(AssertionError, match="timed out after 0.2s waiting for nothing"):
        wait_for(lambda: False, timeout=0.2, desc="nothing")
    assert time.monotonic() - start < 1
    with pytest.raises(ValueError):
        wait_for(lambda: int("x"), timeout=0.1)
    with pytest.raises(AssertionError):
        wait_for(lambda: int("x"), timeout=0.1, ignore=(ValueError,))


@pytest.mark.unit
def test_leak_diff_reports_root_changes() -> None:
    before = {"links": {"lo", "eth0"}, "netns": set(), "nft tables": set()}
    after = {
        "links": {"lo", "eth0", "br-123"},
        "netns": {"other", PREFIX + "foreign"},
        "nft tables": {"table inet pynet"},
    }
    found = "\n".join(leaks(before, after))
    assert "new links: ['br-123']" in found
    assert "new netns" not in found  # namespaces other runs made are ignored
    CREATED_NETNS.add(PREFIX + "mine")
    try:
        mine = "\n".join(leaks(before, {**after, "netns": {PREFIX + "mine"}}))
    finally:
        CREATED_NETNS.discard(PREFIX + "mine")
    assert f"new netns: ['{PREFIX}mine']" in mine  # ours must be gone
    assert "table inet pynet" in found
    assert leaks(before, dict(before)) == []
    assert "links gone: ['eth0']" in "\n".join(leaks(before, {**before, "links": {"lo"}}))


@pytest.mark.integration
def test_root_snapshot_is_stable() -> None:
    assert leaks(root_snapshot(), root_snapshot()) == []

"""Integration-test harness: throwaway "host" network namespaces that run pynet for real.

Safety model (see ``/docs/testing.md``): nothing here changes the machine's own network
namespace. Every command that could change network state runs as
``nsenter --net=<a namespace this harness created>``; the root namespace is only *read*
(by the leak check). ``ip netns exec`` is never used to run pynet: it gives each call a
fresh mount namespace, so pynet's sandbox bind mounts would vanish with the call.

Objects:
  Host      a netns + its own PYNET_STATE_DIR/PYNET_RUN_DIR/PYNET_RESOLV_CONF; runs pynet.
  Peer      an "outside" netns linked to a Host by a veth (``lan0`` <-> ``eth0``).
  Underlay  a netns with a bridge joining several Hosts (their ``eth0``); can run etcd.
  Lab       owns everything one test made and tears it down, even after a failure.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

PREFIX = "pynet-t-"  # every netns this harness makes is named PREFIX + hex
REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_TOOLS = ("ip", "nsenter", "unshare")
DUMMY_NAMESERVER = "192.0.2.53"  # unreachable inside a host netns: no route there
CREATED_NETNS: set[str] = set()  # names made by this process (the leak check uses it)
_LIVE: list[Netns] = []  # made and not yet cleaned up (for the session sweep)


# -- small helpers ---------------------------------------------------------------------


def integration_skip_reason() -> str | None:
    """Why integration tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "integration tests need root (they create network namespaces)"
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        return f"integration tests need {', '.join(missing)} (run `make deps`)"
    return None


def _text(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def describe(cp: subprocess.CompletedProcess) -> str:
    """A failure message: the command, its exit code and both output streams."""
    args = cp.args if isinstance(cp.args, str) else shlex.join(map(str, cp.args))
    return (
        f"command failed (rc={cp.returncode}): {args}\n"
        f"--- stdout ---\n{_text(cp.stdout)}--- stderr ---\n{_text(cp.stderr)}"
    )


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 30,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess:
    """Run ``argv`` (text mode, output captured, bounded by ``timeout``).

    A failure (rc != 0 with ``check``) or a timeout raises AssertionError that shows the
    command, exit code, stdout and stderr.
    """
    argv = [str(a) for a in argv]
    extra: dict[str, Any] = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, **extra)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"command timed out after {timeout}s: {shlex.join(argv)}\n"
            "(a detached child that keeps stdout/stderr open also causes this)\n"
            f"--- stdout ---\n{_text(exc.stdout)}--- stderr ---\n{_text(exc.stderr)}"
        ) from None
    if check and cp.returncode != 0:
        raise AssertionError(describe(cp))
    return cp


def _argv(argv: Sequence[Any]) -> list[str]:
    """One string = a shell command line (``sh -c``); several = an argv."""
    if len(argv) == 1 and isinstance(argv[0], str):
        return ["/bin/sh", "-c", argv[0]]
    return [str(a) for a in argv]


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 5,
    interval: float = 0.05,
    *,
    desc: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Raises AssertionError after ``timeout`` seconds. Exceptions listed in ``ignore``
    count as "not yet"; any other exception propagates.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            what = desc or getattr(predicate, "__name__", "condition")
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# The token client the traffic tests run inside a namespace: connects (TCP) or sends up to
# three datagrams (UDP: the first may wait for neighbour resolution) to IP PORT, sends
# TOKEN, prints the reply line; exit 1 with "FAIL ..." when nothing came back in TIMEOUT s.
TOKEN_CLIENT = r"""
import socket, sys
ip, port, proto, token, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
try:
    if proto == "tcp":
        s = socket.create_connection((ip, port), timeout=timeout)
        s.sendall((token + "\n").encode())
        print(s.recv(256).decode().strip())
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(timeout)
        for _ in range(3):  # UDP may lose the first datagram while neighbours resolve
            s.sendto((token + "\n").encode(), (ip, port))
            try:
                print(s.recvfrom(512)[0].decode().strip()); break
            except socket.timeout:
                continue
        else:
            raise socket.timeout("no reply")
except OSError as exc:
    print(f"FAIL {exc!r}"); sys.exit(1)
"""


def token_client(directory: Path) -> Path:
    """``directory/client.py``: TOKEN_CLIENT (argv: IP PORT tcp|udp TOKEN TIMEOUT), written once."""
    path = directory / "client.py"
    if not path.exists():
        path.write_text(TOKEN_CLIENT)
    return path


# How to make one link of a kind; kinds that need a parent get the veth ``p0``.
_KIND_ARGS = {
    "veth": "type veth peer name t1",
    "macvlan": "link p0 type macvlan mode bridge",
    "macvtap": "link p0 type macvtap mode bridge",
    "ipvlan": "link p0 type ipvlan mode l2",
    "vlan": "link p0 type vlan id 10",
    "vxlan": "type vxlan id 42 dstport 4789",
    "geneve": "type geneve id 42 remote 203.0.113.1",
}


@functools.cache
def kernel_supports(kind: str) -> bool:
    """True when this kernel can create a link of ``kind`` (tried in a throwaway netns)."""
    if not re.fullmatch(r"[a-z0-9_]+", kind):
        raise ValueError(f"bad link kind {kind!r}")
    script = f"ip link add p0 type veth peer name p1 && ip link add t0 {_KIND_ARGS.get(kind, f'type {kind}')}"
    # unshare -n: the namespace (and every link in it) dies with the shell.
    return run(["unshare", "--net", "/bin/sh", "-c", script], check=False, timeout=15).returncode == 0


def load_kernel_module(name: str) -> bool:
    """``modprobe name`` (host-wide, like the kernel's own autoload; changes no netns config).

    True when the module is loaded or built in afterwards.
    """
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"bad module name {name!r}")
    if not Path(f"/sys/module/{name}").exists() and shutil.which("modprobe"):
        run(["modprobe", name], check=False, timeout=30)
    return Path(f"/sys/module/{name}").exists()


# -- /proc helpers ---------------------------------------------------------------------


def _ns_id(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _root_netns_ids() -> set[tuple[int, int] | None]:
    return {_ns_id("/proc/1/ns/net"), _ns_id("/proc/self/ns/net")} - {None}


def assert_not_root_netns(path: str | Path) -> None:
    """Refuse to enter the machine's own network namespace through a wrong path."""
    ident = _ns_id(path)
    if ident is None:
        raise AssertionError(f"no network namespace at {path}")
    if ident in _root_netns_ids():
        raise AssertionError(f"refusing to enter {path}: it is the machine's own network namespace")


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(root: Path) -> list[tuple[str, str]]:
    """(mount point, fs type) of every mount at or below ``root`` in our mount namespace."""
    base = os.path.realpath(root)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point = _unescape(left.split()[4])
            if point == base or point.startswith(base + "/"):
                found.append((point, right.split()[0]))
    return found


def _protected_pids() -> set[int]:
    """This process and its ancestors: never signalled."""
    pids, pid = {1}, os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, ..., start time
    at [19]), or [] when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def alive(pid: int) -> bool:
    """Running (a zombie counts as dead: its parent may not be us to reap it)."""
    fields = proc_stat(pid)
    return bool(fields) and fields[0] != "Z"


def _environ_has(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def find_pids(netns_ids: set[tuple[int, int]], env_entry: bytes | None = None) -> set[int]:
    """Live processes in one of ``netns_ids``, or whose environ holds ``env_entry``."""
    found, protected = set(), _protected_pids()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in protected:
            continue
        pid = int(name)
        mine = _ns_id(f"/proc/{pid}/ns/net") in netns_ids
        if (mine or (env_entry and _environ_has(pid, env_entry))) and alive(pid):
            found.add(pid)
    return found


def kill_pids(find: Callable[[], set[int]], rounds: int = 5) -> set[int]:
    """SIGKILL what ``find`` returns until it returns nothing; return what survived."""
    left: set[int] = set()
    for _ in range(rounds):
        left = find()
        if not left:
            return left
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            wait_for(lambda: not any(alive(p) for p in left), timeout=5, desc="killed processes")
        except AssertionError:
            pass
    return find()


def _add_netns(name: str) -> None:
    run(["ip", "netns", "add", name], timeout=15)
    CREATED_NETNS.add(name)
    try:
        assert_not_root_netns(f"/run/netns/{name}")
        run(["ip", "-n", name, "link", "set", "lo", "up"], timeout=15)
    except BaseException:
        run(["ip", "netns", "del", name], check=False, timeout=15)
        raise


# -- namespaces ------------------------------------------------------------------------


class Netns:
    """A network namespace this harness made (``/run/netns/<name>``) and what runs in it."""

    def __init__(self, root: Path) -> None:
        self.name = PREFIX + secrets.token_hex(4)
        self.netns = f"/run/netns/{self.name}"
        self.root = Path(os.path.realpath(root))
        self.root.mkdir(parents=True, exist_ok=True)
        self.env: dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("PYNET_")}
        self.closed = False
        self._procs: list[subprocess.Popen] = []
        _add_netns(self.name)
        _LIVE.append(self)

    def nsenter(self, argv: Sequence[Any]) -> list[str]:
        """``argv`` prefixed to run inside this namespace."""
        return ["nsenter", f"--net={self.netns}", *map(str, argv)]

    def sh(
        self,
        *argv: Any,
        check: bool = True,
        timeout: float = 30,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """Run a command in this netns. One string = shell command line; more = argv."""
        return run(
            self.nsenter(_argv(argv)), check=check, timeout=timeout, input=input, env={**self.env, **(env or {})}
        )

    def ip_json(self, *args: Any) -> Any:
        """Parsed ``ip -j <args>`` from inside this netns."""
        return json.loads(self.sh("ip", "-j", *args).stdout or "[]")

    def spawn(self, *argv: Any, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen:
        """Start a background command in this netns; killed at cleanup.

        Output goes to a log file (``proc.log``) unless ``stdout``/``stderr`` are given.
        """
        log = self.root / f"spawn-{len(self._procs)}.log"
        popen.setdefault("stdin", subprocess.DEVNULL)
        with open(log, "wb") as out:  # the child keeps its own copy of the fd
            popen.setdefault("stdout", out)
            popen.setdefault("stderr", subprocess.STDOUT if popen["stdout"] is out else out)
            proc = subprocess.Popen(self.nsenter(_argv(argv)), env={**self.env, **(env or {})}, **popen)
        proc.log = log  # type: ignore[attr-defined]
        self._procs.append(proc)
        return proc

    def netns_ids(self) -> set[tuple[int, int]]:
        """Namespaces whose processes belong to this object."""
        return {i for i in [_ns_id(self.netns)] if i}

    def _owned_pids(self) -> set[int]:
        return find_pids(self.netns_ids())

    def _stop_processes(self) -> list[str]:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        left = kill_pids(self._owned_pids)
        return [f"{self.name}: processes still alive: {sorted(left)}"] if left else []

    def _delete_netns(self) -> list[str]:
        if os.path.exists(self.netns):
            run(["ip", "netns", "del", self.name], check=False, timeout=15)
        return [f"netns {self.name} still exists"] if os.path.exists(self.netns) else []

    def _children(self) -> list[Netns]:
        return []

    def cleanup(self) -> None:
        """Remove everything; idempotent. Raises AssertionError naming what is left."""
        if self.closed:
            return
        errors: list[str] = []
        for child in reversed(self._children()):
            try:
                child.cleanup()
            except Exception as exc:  # go on: the rest must still be removed
                errors.append(str(exc))
        errors += self._stop_processes()
        errors += self._unmount()
        errors += self._delete_netns()
        self.closed = True
        if self in _LIVE:
            _LIVE.remove(self)
        if errors:
            raise AssertionError("teardown left things behind:\n" + "\n".join(errors))

    def _unmount(self) -> list[str]:
        return []


class Peer(Netns):
    """An "outside" namespace on a LAN with a Host: ``eth0`` here, ``host_ifname`` there."""

    def __init__(self, root: Path, subnet: str, host_ifname: str) -> None:
        net = ipaddress.ip_network(subnet)
        host_ip, peer_ip = islice(net.hosts(), 2)
        self.subnet, self.prefixlen = str(net), net.prefixlen
        self.ip, self.host_ip = str(peer_ip), str(host_ip)
        self.ifname, self.host_ifname = "eth0", host_ifname
        super().__init__(root)

    def __repr__(self) -> str:
        return f"<Peer {self.name} {self.ip}/{self.prefixlen}>"


class Host(Netns):
    """A simulated machine: a netns with its own pynet state, runtime dir and resolv.conf."""

    def __init__(self, root: Path, label: str = "host") -> None:
        self.label = label
        self.peers: list[Peer] = []
        super().__init__(root)
        self.state_dir = self.root / "state"
        self.run_dir = self.root / "run"
        self.resolv_conf = self.root / "resolv.conf"
        for d in (self.state_dir, self.run_dir):
            d.mkdir(exist_ok=True)
        self.set_upstream_dns(DUMMY_NAMESERVER)
        self.env.update(
            PYNET_STATE_DIR=str(self.state_dir),
            PYNET_RUN_DIR=str(self.run_dir),
            PYNET_RESOLV_CONF=str(self.resolv_conf),
            # In-process by default: each Host would start its own warm server (~90 ms of
            # CPU) for a few commands (measured: the suite ~10% slower). PYNET_TEST_WARM=1
            # runs the whole suite through it; tests/integration/test_warm_server.py always does.
            PYNET_WARM=os.environ.get("PYNET_TEST_WARM", "0"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        )

    @classmethod
    def create(cls, root: Path, label: str = "host") -> Host:
        """Make a Host whose files live under ``root``; call ``cleanup()`` when done."""
        return cls(root, label)

    def __repr__(self) -> str:
        return f"<Host {self.label} {self.name}>"

    def set_upstream_dns(self, *servers: str) -> None:
        """Rewrite this host's resolv.conf (what pynet forwards unknown names to)."""
        self.resolv_conf.write_text("".join(f"nameserver {s}\n" for s in servers))

    # -- running pynet ----------------------------------------------------------------
    def pynet_argv(self, *args: Any) -> list[str]:
        """The exact command ``pynet()`` runs."""
        return self.nsenter([sys.executable, "-m", "pynet", *args])

    def pynet(
        self,
        *args: Any,
        check: bool = True,
        timeout: float = 60,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``pynet <args>`` inside this host (``env`` adds/overrides variables).

        The working directory is the host's root dir, so pynet is imported from
        PYTHONPATH (the repo) or the installed package, never by accident from cwd.
        """
        return run(
            self.pynet_argv(*args),
            check=check,
            timeout=timeout,
            input=input,
            env={**self.env, **(env or {})},
            cwd=self.root,
        )

    def pynet_json(self, *args: Any, timeout: float = 60, env: dict[str, str] | None = None) -> Any:
        """``json.loads`` of a successful ``pynet <args>``'s stdout."""
        return json.loads(self.pynet(*args, timeout=timeout, env=env).stdout)

    def sandbox_key(self, container: str) -> str:
        """The netns path of a container (a name/ID via inspect, or a path as is)."""
        if container.startswith("/"):
            return container
        key = self.pynet("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", container).stdout.strip()
        if not key:
            raise AssertionError(f"container {container} has no SandboxKey")
        return key

    def in_sandbox(
        self, container: str, *argv: Any, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a command in a container's network namespace (``nsenter --net=<SandboxKey>``)."""
        key = self.sandbox_key(container)
        assert_not_root_netns(key)
        return run(["nsenter", f"--net={key}", *_argv(argv)], check=check, timeout=timeout, input=input, env=self.env)

    def in_container(
        self, container: str, *argv: Any, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a command in a container's net + mount + uts namespaces (sees its /etc files)."""
        pid = self.pynet("inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
        if not pid.isdigit() or pid == "0":
            raise AssertionError(f"container {container} is not running (pid {pid!r})")
        assert_not_root_netns(f"/proc/{pid}/ns/net")
        return run(
            ["nsenter", "-t", pid, "-n", "-m", "-u", *_argv(argv)],
            check=check,
            timeout=timeout,
            input=input,
            env=self.env,
        )

    # -- outside world ----------------------------------------------------------------
    def lan_peer(
        self,
        subnet: str = "198.51.100.0/24",
        *,
        host_ifname: str | None = None,
        uplink: bool = False,
        routed: bool = False,
    ) -> Peer:
        """A peer namespace on a veth LAN: ``host_ifname`` (lan0, lan1...) here = .1, peer eth0 = .2.

        ``uplink``: the host's default route goes via the peer. ``routed``: the peer's
        default route goes via the host.
        """
        host_ifname = host_ifname or f"lan{len(self.peers)}"
        peer = Peer(self.root / f"peer-{host_ifname}", subnet, host_ifname)
        self.peers.append(peer)  # registered first: a failed setup is still cleaned up
        plen = peer.prefixlen
        run(
            [
                "ip",
                "-n",
                self.name,
                "link",
                "add",
                host_ifname,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                peer.name,
            ]
        )
        run(["ip", "-n", self.name, "addr", "add", f"{peer.host_ip}/{plen}", "dev", host_ifname])
        run(["ip", "-n", self.name, "link", "set", host_ifname, "up"])
        run(["ip", "-n", peer.name, "addr", "add", f"{peer.ip}/{plen}", "dev", "eth0"])
        run(["ip", "-n", peer.name, "link", "set", "eth0", "up"])
        if uplink:
            run(["ip", "-n", self.name, "route", "add", "default", "via", peer.ip])
        if routed:
            run(["ip", "-n", peer.name, "route", "add", "default", "via", peer.host_ip])
        return peer

    # -- teardown ---------------------------------------------------------------------
    def _children(self) -> list[Netns]:
        return list(self.peers)

    def netns_ids(self) -> set[tuple[int, int]]:
        """The host netns plus every sandbox netns bind-mounted under this host's dirs."""
        ids = super().netns_ids()
        for point, fstype in mounts_under(self.root):
            if fstype == "nsfs" and (ident := _ns_id(point)):
                ids.add(ident)
        return ids - _root_netns_ids()

    def _owned_pids(self) -> set[int]:
        # Processes pynet started: in this host's netns or a sandbox netns under its dirs,
        # or carrying this host's PYNET_STATE_DIR. That covers every pid recorded in
        # <state>/containers/*.json and <run>/pynetd.pid, each verified the same way, and
        # the waiter zygotes and warm servers named (pid + start time) by <run>/zygote-*.pid
        # and <run>/warm-*.pid (a warm server lives in a namespace of its own).
        entry = f"PYNET_STATE_DIR={self.state_dir}".encode()
        return find_pids(self.netns_ids(), entry) | set(self.zygote_pids()) | set(self.warm_pids())

    def recorded_pids(self) -> set[int]:
        """Pids pynet wrote down: containers' pid/supervisor_pid, the helper's and its keeper's."""
        pids: set[int] = set()
        for path in (self.state_dir / "containers").glob("*.json"):
            try:
                record = json.loads(path.read_text())
                pids |= {int(record.get(k) or 0) for k in ("pid", "supervisor_pid")}
            except (OSError, ValueError, AttributeError):
                continue
        return (pids | {self.helper_pid(), self.helper_pid(keeper=True)} | set(self.zygote_pids())) - {0, None}

    def zygote_pids(self, pattern: str = "zygote-*.pid") -> list[int]:
        """The live waiter zygotes of this host: the pid in each ``zygote-*.pid`` whose
        process still has the start time written next to it (a reused pid is not ours)."""
        found = []
        for path in self.run_dir.glob(pattern):
            try:
                pid, start = (int(x) for x in path.read_text().split()[:2])
            except (OSError, ValueError):
                continue
            fields = proc_stat(pid)
            if len(fields) > 19 and int(fields[19]) == start and fields[0] != "Z":
                found.append(pid)
        return found

    def warm_pids(self) -> list[int]:
        """The live warm servers of this host (``warm-*.pid``, checked as the zygotes')."""
        return self.zygote_pids("warm-*.pid")

    def helper_pid(self, *, keeper: bool = False) -> int | None:
        """The pid in ``pynetd.pid`` (or ``pynetd-keeper.pid``), unchecked; None without one."""
        try:
            return int((self.run_dir / ("pynetd-keeper.pid" if keeper else "pynetd.pid")).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _unmount(self) -> list[str]:
        for _ in range(10):
            points = mounts_under(self.root)
            if not points:
                return []
            for point, _fs in sorted(points, key=lambda p: p[0].count("/"), reverse=True):
                run(["umount", "-l", point], check=False, timeout=15)
        return [f"{self.label}: mounts left under {self.root}: {mounts_under(self.root)}"]


class Underlay(Netns):
    """A switch (bridge ``ul0``) that joins Hosts' ``eth0``; the store (etcd) lives here."""

    bridge = "ul0"

    def __init__(self, root: Path, subnet: str = "203.0.113.0/24") -> None:
        net = ipaddress.ip_network(subnet)
        self.subnet, self.prefixlen = str(net), net.prefixlen
        self._free = iter(net.hosts())
        self.store_ip = str(net.broadcast_address - 1)  # .254 in a /24
        self.members: dict[str, tuple[str, str]] = {}  # host name -> (our port, its ip)
        self.etcd: subprocess.Popen | None = None
        super().__init__(root)
        ul = ["ip", "-n", self.name]
        run([*ul, "link", "add", self.bridge, "type", "bridge"])
        run([*ul, "addr", "add", f"{self.store_ip}/{self.prefixlen}", "dev", self.bridge])
        run([*ul, "link", "set", self.bridge, "up"])

    def attach(self, host: Host, *, ifname: str = "eth0", default_route: bool = True) -> str:
        """Plug ``host`` in: its ``ifname`` gets the next address; return that address."""
        ip, port = str(next(self._free)), f"u{len(self.members)}"
        run(["ip", "-n", self.name, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", host.name])
        self.members[host.name] = (port, ip)
        run(["ip", "-n", self.name, "link", "set", port, "master", self.bridge, "up"])
        run(["ip", "-n", host.name, "addr", "add", f"{ip}/{self.prefixlen}", "dev", ifname])
        run(["ip", "-n", host.name, "link", "set", ifname, "up"])
        if default_route:
            run(["ip", "-n", host.name, "route", "add", "default", "via", self.store_ip])
        return ip

    def ip_of(self, host: Host) -> str:
        """The underlay address of ``host``."""
        return self.members[host.name][1]

    def unplug(self, host: Host) -> None:
        """Pull the cable: the host's underlay port goes down (its eth0 loses carrier)."""
        run(["ip", "-n", self.name, "link", "set", self.members[host.name][0], "down"])

    def plug(self, host: Host) -> None:
        """Put the cable back."""
        run(["ip", "-n", self.name, "link", "set", self.members[host.name][0], "up"])

    @property
    def etcd_url(self) -> str:
        """The etcd client URL (also its v3 JSON gateway)."""
        return f"http://{self.store_ip}:2379"

    def start_etcd(self, timeout: float = 30) -> str:
        """Start a one-member etcd on ``store_ip:2379``; wait until healthy; return its URL."""
        data = self.root / "etcd"
        peer = "http://127.0.0.1:2380"
        self.etcd = self.spawn(
            "etcd",
            "--name",
            "store",
            "--data-dir",
            data,
            "--listen-client-urls",
            self.etcd_url,
            "--advertise-client-urls",
            self.etcd_url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"store={peer}",
        )
        wait_for(
            lambda: (
                self.etcd.poll() is not None
                or self.etcdctl("endpoint", "health", check=False, timeout=5).returncode == 0
            ),
            timeout=timeout,
            interval=0.2,
            desc="etcd to become healthy",
        )
        if self.etcd.poll() is not None:
            raise AssertionError(f"etcd exited: {Path(self.etcd.log).read_text()[-2000:]}")
        return self.etcd_url

    def stop_etcd(self) -> None:
        """Kill etcd (a fault: the store goes away)."""
        if self.etcd and self.etcd.poll() is None:
            self.etcd.kill()
            self.etcd.wait(timeout=10)

    def etcdctl(self, *args: Any, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
        """``etcdctl --endpoints <etcd_url> <args>`` from the underlay namespace."""
        return self.sh(
            "etcdctl", f"--endpoints={self.etcd_url}", *args, check=check, timeout=timeout, env={"ETCDCTL_API": "3"}
        )


class Lab:
    """Everything one test made; ``cleanup()`` removes all of it, newest first."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects: list[Netns] = []
        self._hosts = 0

    def _keep(self, obj: Netns) -> Netns:
        self.objects.append(obj)
        return obj

    def new_host(self, label: str | None = None) -> Host:
        """One more Host, labelled ``label`` (default h1, h2, ...); labels must be unique."""
        if label is None:
            self._hosts += 1
            label = f"h{self._hosts}"
        return self._keep(Host(self.root / label, label))  # type: ignore[return-value]

    def new_hosts(self, n: int) -> list[Host]:
        """``n`` more Hosts."""
        return [self.new_host() for _ in range(n)]

    @staticmethod
    def lan_peer(host: Host, subnet: str = "198.51.100.0/24", **kw: Any) -> Peer:
        """See ``Host.lan_peer``; the host cleans its peers up."""
        return host.lan_peer(subnet, **kw)

    def underlay(
        self, hosts: Iterable[Host], subnet: str = "203.0.113.0/24", *, default_route: bool = True
    ) -> Underlay:
        """An Underlay with every host in ``hosts`` attached (its eth0)."""
        ul = self._keep(Underlay(self.root / f"underlay{len(self.objects)}", subnet))
        for host in hosts:
            ul.attach(host, default_route=default_route)  # type: ignore[attr-defined]
        return ul  # type: ignore[return-value]

    def cleanup(self) -> None:
        """Tear down everything (going on past errors); raise AssertionError if anything is left."""
        errors = []
        for obj in reversed(self.objects):
            try:
                obj.cleanup()
            except Exception as exc:
                errors.append(str(exc))
        if errors:
            raise AssertionError("\n".join(errors))


def sweep() -> None:
    """Clean up anything a crashed test left (called at session end)."""
    for obj in list(reversed(_LIVE)):
        try:
            obj.cleanup()
        except Exception as exc:  # report, keep sweeping
            print(f"pynet test harness: sweep: {exc}", file=sys.stderr)


# -- the leak check --------------------------------------------------------------------


def _root_json(*argv: str) -> Any:
    out = run(argv, timeout=15).stdout
    return json.loads(out) if out.strip() else []


def root_snapshot() -> dict[str, set[str]]:
    """What pynet must never change in the machine's own netns (read-only commands)."""
    snap = {
        "links": {link["ifname"] for link in _root_json("ip", "-j", "link", "show")},
        "netns": {n["name"] for n in _root_json("ip", "-j", "netns", "list")},
        "addresses": {
            f"{a['ifname']} {i['local']}/{i['prefixlen']}"
            for a in _root_json("ip", "-j", "-4", "addr", "show")
            for i in a.get("addr_info", [])
        },
        "routes": {
            " ".join(f"{k}={r[k]}" for k in ("table", "type", "dst", "gateway", "dev") if k in r)
            for r in _root_json("ip", "-j", "-4", "route", "show", "table", "all")
        },
        "nft tables": set(),
        "ip_forward": {Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()},
    }
    if shutil.which("nft"):
        lines = run(["nft", "list", "tables"], timeout=15).stdout.splitlines()
        snap["nft tables"] = {line.strip() for line in lines if line.strip()}
    return snap


def leaks(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[str]:
    """Differences that mean a test touched the root netns or left a namespace behind.

    Named namespaces that this process did not make belong to another run on the same
    machine (pynet itself never adds named namespaces) and are ignored; this process's own
    must all be gone.
    """
    found = []
    for key in before:
        added, removed = after[key] - before[key], before[key] - after[key]
        if key == "netns":
            removed = set()
            added = {n for n in added if n in CREATED_NETNS}
        if added:
            found.append(f"root netns: new {key}: {sorted(added)}")
        if removed:
            found.append(f"root netns: {key} gone: {sorted(removed)}")
    return found


# -- images ---------------------------------------------------------------------------
BUSYBOX = "/bin/busybox"  # Debian's busybox-static (scripts/install-deps.sh)
BUSYBOX_APPLETS = ("sh", "ls", "cat", "echo", "sleep", "top", "ps", "ping", "nslookup", "hostname", "touch", "true")


def busybox_rootfs(dest: Path) -> Path:
    """A bare root filesystem: ``bin/busybox`` and its applets as links, nothing else
    (no /proc, /dev or /etc: pynet must make them)."""
    bindir = dest / "bin"
    bindir.mkdir(parents=True)
    shutil.copy2(BUSYBOX, bindir / "busybox")
    for applet in BUSYBOX_APPLETS:
        (bindir / applet).symlink_to("busybox")
    return dest

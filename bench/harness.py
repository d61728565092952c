"""Shared benchmark harness: systems under test, an alternating runner, markdown output.

* Every measurement is whole-process wall time of a real command (``time.perf_counter``
  around ``subprocess.run`` with a timeout), like a user would see it.
* Systems are measured alternately, one sample each per round (A B C A B C ...), after a
  warm-up; we report the median (plus p90 and min) and the median of the per-round
  ratios pynet / other, which holds up on a shared, drifting 2-vCPU machine where the
  absolute times do not.
* pynet only ever runs inside a throwaway network namespace made here (``PynetSandbox``),
  with its own temporary state and run directories; the namespace is deleted at the end.
* Docker and Podman are the anchors. ``bench/setup_anchors.sh start`` prepares them and
  exports ``DOCKER_*`` / ``PODMAN_*`` variables; when one is missing, tables show the
  figures from docs/benchmarks.md marked "(anchor, not measured here)".

Standard library only, so it runs with any Python >= 3.11.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CLONE_NEWNET = 0x40000000
DEFAULT_TIMEOUT = 120.0

#: Figures measured on this kind of machine (docs/benchmarks.md), in milliseconds.
ANCHORS: dict[str, dict[str, float]] = {
    "docker": {"create_rm": 304, "ls": 16, "inspect": 16, "run_net": 365, "run_none": 236, "attach": 130},
    "podman": {"create_rm": 64, "ls": 31, "run_net": 217, "run_none": 182, "attach": 35},
}
ANCHOR_NOTE = "(anchor, not measured here)"


class CommandFailed(RuntimeError):
    """A benchmarked command exited non-zero or timed out."""


class TimedOut(CommandFailed):
    """A benchmarked command that did not finish within its timeout."""


# --------------------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)


def _enter_netns(path: str) -> Callable[[], None]:
    """A preexec_fn that moves the child into the network namespace at *path*.

    Done in the child between fork and exec, so no extra ``nsenter`` process is timed.
    """

    def enter() -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                os._exit(126)
        finally:
            os.close(fd)

    return enter


@dataclass
class Result:
    """One finished command."""

    seconds: float
    rc: int
    stdout: str
    stderr: str
    #: user + system CPU seconds of the command's processes (load shows in it far less than in
    #: wall time: what the command itself costs)
    cpu: float = 0.0


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    netns: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    stdin: str | None = None,
) -> Result:
    """Run *argv* (optionally inside the netns file *netns*), return its wall time and output."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            preexec_fn=_enter_netns(netns) if netns else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimedOut(f"timed out after {timeout:.0f}s: {' '.join(argv)}") from exc
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    res = Result(elapsed, proc.returncode, proc.stdout, proc.stderr, cpu)
    if check and proc.returncode != 0:
        msg = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise CommandFailed(f"exit {proc.returncode}: {' '.join(argv[-6:])}: {msg[-1] if msg else ''}")
    return res


def sh(cmd: str, timeout: float = 30.0) -> str:
    """Run a small shell command for facts (versions); never raises, returns '' on failure."""
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
        return (out.stdout or out.stderr).strip()
    except (subprocess.TimeoutExpired, OSError):
        return ""


# --------------------------------------------------------------------------- systems


@dataclass
class System:
    """One system under test: how to spell its commands and where they run."""

    name: str
    prefix: list[str]
    env: dict[str, str] = field(default_factory=dict)
    netns: str | None = None
    available: bool = True
    why_not: str = ""
    #: subnet second octet: each system gets its own 10.X.0.0/16 for explicit subnets
    octet: int = 0

    def cmd(self, *args: str) -> list[str]:
        return [*self.prefix, *args]

    def run(self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> Result:
        return run(self.cmd(*args), env=self.env, netns=self.netns, timeout=timeout, check=check)

    def image_args(self) -> list[str]:
        """What goes between the run options and the command: the image (none for pynet)."""
        return {"docker": ["bb:latest"], "podman": ["localhost/bb:latest"]}.get(self.name, [])

    def run_opts(self) -> list[str]:
        """Extra ``run`` options this system needs on these machines (docs/benchmarks.md)."""
        if self.name == "podman":
            return ["--runtime", "runc", "--ulimit", "nofile=10000:10000", "--ulimit", "nproc=1000:1000"]
        if self.name == "docker":
            return ["--label", "pynet-bench=1"]
        return []


def pynet_python() -> str:
    """The interpreter pynet runs with: $PYNET_PY, else the repo's .venv, else /tmp/v, else ours."""
    for cand in (os.environ.get("PYNET_PY"), str(REPO / ".venv/bin/python"), "/tmp/v/bin/python"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return sys.executable


class PynetSandbox:
    """A throwaway network namespace + temp state/run dirs in which pynet runs.

    Usage: ``with PynetSandbox("cli") as pn: pn.system.run("network", "ls")``.
    On exit: removes pynet containers and networks through pynet, then (as a fallback)
    stops leftover supervisors recorded in *our* state dir, unmounts our netns bind
    mounts, deletes the namespace and the temp dirs.
    """

    def __init__(self, tag: str) -> None:
        self.ns = f"pynet-bench-{tag}-{os.getpid()}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"pynet-bench-{tag}-"))
        self.firewall = "nftables"
        self.firewall_note = ""
        py = pynet_python()
        env = {
            "PYNET_STATE_DIR": str(self.tmp / "state"),
            "PYNET_RUN_DIR": str(self.tmp / "run"),
        }
        # The command users type: the installed console script next to the interpreter
        # (it leaves through os._exit), with no PYTHONPATH; `python -m pynet` with
        # PYTHONPATH only where no script is installed.
        script = Path(py).parent / "pynet"
        if script.exists():
            prefix = [str(script)]
            self.command_note = f"the installed `pynet` console script ({script}), no PYTHONPATH"
        else:
            prefix = [py, "-m", "pynet"]
            env["PYTHONPATH"] = str(REPO)
            self.command_note = f"`{py} -m pynet` with PYTHONPATH={REPO} (no console script installed)"
        # An installed package has its bytecode compiled (pip does it); a shell with
        # PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every edited module per command.
        subprocess.run([py, "-m", "compileall", "-q", str(REPO / "pynet")], capture_output=True, timeout=300)
        # ... and so is the code of its dataclasses' methods, which a first command keeps
        # unless PYTHONDONTWRITEBYTECODE is set (pynet/_dccache.py).
        subprocess.run([py, "-m", "pynet._dccache"], capture_output=True, timeout=300, cwd=REPO)
        self.command_note += (
            ", bytecode and dataclass code compiled first (`python -m compileall pynet`, `python -m pynet._dccache`)"
        )
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            self.command_note += "; PYTHONDONTWRITEBYTECODE was set in the bench's environment"
        self.system = System("pynet", prefix, env, f"/run/netns/{self.ns}", octet=203)
        #: `python -m pynet` spelled out, for -X importtime and cProfile runs
        self.module_prefix = [py, "-m", "pynet"]

    def __enter__(self) -> "PynetSandbox":
        run(["ip", "netns", "add", self.ns], timeout=10)
        run(["ip", "-n", self.ns, "link", "set", "lo", "up"], timeout=10)
        self._choose_firewall()
        self._await_warm()
        return self

    def _await_warm(self) -> None:
        """The firewall probe's `network create` started a warm server in the background
        (as a user's first command does): let it finish importing (≤ 10 s), so every
        measured round meets the server a user's later commands meet."""
        if self.system.env.get("PYNET_WARM", os.environ.get("PYNET_WARM")) == "0":
            return
        deadline = time.monotonic() + 10
        while not self.warm_pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _choose_firewall(self) -> None:
        """Use pynet's nftables firewall when it works here, else PYNET_FIREWALL=none."""
        forced = os.environ.get("BENCH_PYNET_FIREWALL")
        if forced:
            self.firewall = forced
            if forced == "none":
                self.system.env["PYNET_FIREWALL"] = "none"
            self.firewall_note = f"forced by BENCH_PYNET_FIREWALL={forced}"
            return
        probe = ("network", "create", "--subnet", "10.203.254.0/24", "pb-probe")
        first = self.system.run(*probe, check=False, timeout=60)
        if first.rc == 0:
            self.system.run("network", "rm", "pb-probe", check=False, timeout=60)
            return
        self.system.env["PYNET_FIREWALL"] = "none"
        self.firewall = "none"
        err = (first.stderr.strip().splitlines() or ["?"])[-1]
        self.firewall_note = f"nftables firewall unavailable ({err[:120]}); PYNET_FIREWALL=none"
        self.system.run(*probe, timeout=60)
        self.system.run("network", "rm", "pb-probe", timeout=60)

    def container_ids(self) -> list[str]:
        cdir = self.tmp / "state" / "containers"
        return sorted(p.stem for p in cdir.glob("*.json") if not p.stem.startswith("_")) if cdir.exists() else []

    def __exit__(self, *exc: object) -> None:
        sysm = self.system
        ids = self.container_ids()
        for i in range(0, len(ids), 100):
            sysm.run("rm", "-f", *ids[i : i + 100], check=False, timeout=600)
        nets = (
            [p.stem for p in (self.tmp / "state" / "networks").glob("*.json")]
            if (self.tmp / "state" / "networks").exists()
            else []
        )
        if nets:
            sysm.run("network", "prune", "-f", check=False, timeout=300)
        self._kill_leftovers()
        self._unmount_ours()
        run(["ip", "netns", "del", self.ns], timeout=30, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        """Stop supervisors that pynet started for us and that `rm -f` left (by recorded pid),
        and the waiter zygote (by its pid file).

        Only a pid whose command line names our temp dir (the supervisor, the zygote), or
        whose parent is such a supervisor (the container's process), is signalled.
        """
        import signal

        for cid in self.container_ids():
            try:
                rec = json.loads((self.tmp / "state" / "containers" / f"{cid}.json").read_text())
            except (OSError, ValueError):
                continue
            sup, child = int(rec.get("supervisor_pid") or 0), int(rec.get("pid") or 0)
            if sup <= 1 or not _cmdline_mentions(sup, str(self.tmp)):
                continue
            for pid in ([child] if child > 1 and _parent_of(child) == sup else []) + [sup]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for pid in self.zygote_pids() + self.warm_pids():  # a warm server's spare dies with it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def zygote_pids(self, pattern: str = "zygote-*.pid") -> list[int]:
        """pynet's waiter zygotes for our run dir: the pid in each ``zygote-*.pid`` whose
        process has the start time written there and names our temp dir (its pid file) on
        its command line — never a process found by name."""
        found = []
        for path in (self.tmp / "run").glob(pattern):
            try:
                pid, start = (int(x) for x in path.read_text().split()[:2])
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, ValueError, IndexError):
                continue
            if int(fields[19]) == start and fields[0] != "Z" and _cmdline_mentions(pid, str(self.tmp)):
                found.append(pid)
        return found

    def warm_pids(self) -> list[int]:
        """pynet's warm servers for our run dir (``warm-*.pid``; their socket path, in our
        temp dir, is on their command line), found as the zygotes are."""
        return self.zygote_pids("warm-*.pid")

    def warm_note(self) -> str:
        """Whether the mutating network commands ran in a warm server's child (docs/design.md)."""
        if self.system.env.get("PYNET_WARM", os.environ.get("PYNET_WARM")) == "0":
            return "off (PYNET_WARM=0): every command runs in-process"
        if self.warm_pids():
            return (
                "running, started by the sandbox's first command (the firewall probe) as a user's first command "
                "starts it; network create/rm/connect/disconnect/prune run in its forked child, other commands in-process"
            )
        return "not running (it did not start): every command ran in-process"

    def _unmount_ours(self) -> None:
        prefix = str(self.tmp)
        try:
            mounts = [ln.split()[1] for ln in Path("/proc/self/mounts").read_text().splitlines()]
        except OSError:
            return
        for mnt in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
            run(["umount", "-l", mnt], timeout=10, check=False)


def _cmdline_mentions(pid: int, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def docker_system() -> System:
    """Docker as set up by setup_anchors.sh (env), else unavailable."""
    binary = os.environ.get("DOCKER_BIN") or (
        "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker") or "docker"
    )
    host = os.environ.get("DOCKER_HOST", "unix:///tmp/pynet-bench/docker.sock")
    s = System("docker", [binary, "-H", host], octet=201)
    if os.environ.get("DOCKER_OK", "") == "0":
        s.available, s.why_not = False, "dockerd could not be started here"
        return s
    try:
        run(s.cmd("version", "--format", "{{.Server.Version}}"), timeout=15)
        run(s.cmd("image", "inspect", "bb:latest"), timeout=15)
    except (CommandFailed, OSError) as exc:
        s.available, s.why_not = False, f"docker not usable: {exc}"
    return s


def podman_system() -> System:
    """Podman (rootful, netavark) in the namespace setup_anchors.sh made, else unavailable."""
    ns = os.environ.get("PODMAN_NETNS", "bench-anchor-podman")
    netns = f"/run/netns/{ns}" if ns and ns != "host" else None
    if netns and not os.path.exists(netns):
        netns = None if os.environ.get("ANCHOR_MODE") == "host" else netns
    s = System("podman", [shutil.which("podman") or "podman"], netns=netns, octet=202)
    if os.environ.get("PODMAN_OK", "") == "0":
        s.available, s.why_not = False, "podman could not be set up here"
        return s
    try:
        if netns and not os.path.exists(netns):
            raise CommandFailed(f"{netns} missing (run bench/setup_anchors.sh start)")
        run(s.cmd("image", "exists", "localhost/bb:latest"), netns=netns, timeout=30)
    except (CommandFailed, OSError) as exc:
        s.available, s.why_not = False, f"podman not usable: {exc}"
    return s


def systems_for(pn: "PynetSandbox", wanted: Iterable[str]) -> tuple[list[System], list[System]]:
    """(every system asked for, the ones available): pynet in *pn* plus the anchors."""
    wanted = list(wanted)
    systems = ([pn.system] if "pynet" in wanted else []) + anchor_systems(w for w in wanted if w != "pynet")
    return systems, [s for s in systems if s.available]


def iperf(prefix: list[str], host: str, port: int, seconds: float) -> float:
    """Gbit/s received by an iperf3 client run under *prefix* (e.g. ``nsenter --net=NS``)."""
    res = run(
        [*prefix, "iperf3", "-c", host, "-p", str(port), "-t", f"{seconds:g}", "-J", "--connect-timeout", "3000"],
        timeout=seconds + 30,
        check=False,
    )
    try:
        data = json.loads(res.stdout)
    except ValueError:
        raise CommandFailed(f"iperf3 to {host}:{port}: {(res.stderr or res.stdout).strip()[:200]}") from None
    if "error" in data:
        raise CommandFailed(f"iperf3 to {host}:{port}: {data['error']}")
    return float(data["end"]["sum_received"]["bits_per_second"]) / 1e9


def anchor_systems(wanted: Iterable[str]) -> list[System]:
    """The anchor systems named in *wanted* (docker, podman), probed for availability."""
    out = []
    for name in wanted:
        if name == "docker":
            out.append(docker_system())
        elif name == "podman":
            out.append(podman_system())
    return out


# --------------------------------------------------------------------------- statistics


@dataclass
class Stats:
    """Samples of one measurement, in seconds."""

    samples: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.samples) and not self.error

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def p90(self) -> float:
        if not self.samples:
            return float("nan")
        s = sorted(self.samples)
        return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else float("nan")


Trial = Callable[[], float]


def alternate(
    trials: dict[str, Trial], runs: int, warmup: int, progress: str = "", *, rotate: bool = False
) -> dict[str, Stats]:
    """Run each trial once per round, in the same order every round (A B C A B C ...), or
    with *rotate* starting each round one trial later (A B, B A, ...: no system always
    runs right after the same other one).

    The first *warmup* rounds are discarded. A trial that fails is dropped from later
    rounds and its Stats carries the error text.
    """
    stats = {k: Stats() for k in trials}
    keys = list(trials)
    for rnd in range(warmup + runs):
        shift = rnd % len(keys) if rotate and keys else 0
        for key in keys[shift:] + keys[:shift]:
            trial = trials[key]
            st = stats[key]
            if st.error:
                continue
            try:
                t = trial()
            except (CommandFailed, OSError) as exc:
                st.error = str(exc)[:300]
                continue
            if rnd >= warmup:
                st.samples.append(t)
        if progress:
            print(f"  {progress}: round {rnd + 1}/{warmup + runs}", file=sys.stderr, flush=True)
    return stats


def pair_ratio(a: Stats, b: Stats) -> float:
    """Median over rounds of a_i / b_i (the samples were taken alternately)."""
    n = min(len(a.samples), len(b.samples))
    if not n or not a.ok or not b.ok:
        return float("nan")
    return statistics.median(x / y for x, y in zip(a.samples[:n], b.samples[:n]) if y > 0)


def slope_per_100(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs, scaled to 'per 100 x' (same unit as ys)."""
    if len(xs) < 2:
        return float("nan")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


# --------------------------------------------------------------------------- output


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return "—" if seconds != seconds else f"{seconds * 1000:.1f}"  # nan check


def ratio_s(r: float) -> str:
    return "—" if r != r else f"{r:.2f}×"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_QUIET_NOTE = ""


def wait_for_quiet() -> None:
    """Wait (bounded) until the 1-minute load average drops below $BENCH_QUIET_LOAD (1.5).

    The benchmark machine is shared; starting while something else saturates both vCPUs
    skews every absolute time. Waits at most $BENCH_QUIET_WAIT seconds (300), then runs
    anyway; the outcome is recorded in the environment table.
    """
    global _QUIET_NOTE
    limit = float(os.environ.get("BENCH_QUIET_LOAD", "1.5"))
    budget = float(os.environ.get("BENCH_QUIET_WAIT", "300"))
    t0 = time.monotonic()
    load = _load1()
    while load >= limit and time.monotonic() - t0 < budget:
        time.sleep(5)
        load = _load1()
    waited = time.monotonic() - t0
    _QUIET_NOTE = f"waited {waited:.0f} s for 1-min load < {limit:g}: " + (
        "reached" if load < limit else f"not reached (load {load:.2f}); ran anyway"
    )
    if waited > 1:
        print(f"bench: {_QUIET_NOTE}", file=sys.stderr, flush=True)


def _load1() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def environment(systems: Sequence[System], pn: PynetSandbox | None) -> str:
    """A markdown block recording the versions and conditions of this run."""
    return md_table(["fact", "value"], environment_facts(systems, pn))


def environment_facts(systems: Sequence[System], pn: PynetSandbox | None) -> list[tuple[str, str]]:
    """(fact, value) pairs: the versions and conditions of this run."""
    py = pynet_python()
    facts = [
        ("date (UTC)", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("kernel", platform.release()),
        ("cpus", str(os.cpu_count())),
        ("load average at start", load_average() + (f" ({_QUIET_NOTE})" if _QUIET_NOTE else "")),
        ("load average at end of run", "see the line at the end of this file"),
        ("priority", _PRIORITY_NOTE),
        (
            "pynet commit",
            sh(f"git -C {REPO} rev-parse --short HEAD")
            + (" + uncommitted changes" if sh(f"git -C {REPO} status --porcelain -- pynet") else ""),
        ),
        ("pynet python", sh(f"{py} -VV").replace("\n", " ")),
        ("pyroute2", sh(f"{py} -c 'import importlib.metadata as m; print(m.version(\"pyroute2\"))'")),
        ("nft", sh("nft --version")),
        ("iptables", sh("iptables --version")),
    ]
    if pn is not None:
        facts.append(("pynet command", pn.command_note))
        facts.append(("pynet firewall", pn.firewall + (f" — {pn.firewall_note}" if pn.firewall_note else "")))
        facts.append(("pynet runs in", f"throwaway netns `{pn.ns}` (deleted after the run)"))
        facts.append(("pynet warm server", pn.warm_note()))
    for s in systems:
        if s.name == "docker":
            v = (
                sh(
                    f"{s.prefix[0]} -H {s.prefix[2]} version --format "
                    "'client {{.Client.Version}}, server {{.Server.Version}}'"
                )
                if s.available
                else ""
            )
            facts.append(("docker", v or f"not measured: {s.why_not}"))
            if s.available:
                facts.append(("docker runs in", _anchor_where("DOCKER_NETNS")))
        if s.name == "podman":
            if s.available:
                v = (
                    sh("podman --version")
                    + ", network backend "
                    + sh("podman info --format '{{.Host.NetworkBackend}}'")
                    + ", "
                    + sh("dpkg-query -W -f='netavark ${Version}' netavark")
                )
                facts.append(("podman", v))
                facts.append(("podman runs in", _anchor_where("PODMAN_NETNS")))
            else:
                facts.append(("podman", f"not measured: {s.why_not}"))
    return facts


def write_figures(
    part: str, facts: list[tuple[str, str]], figures: dict[str, dict[str, object]], directory: Path = RESULTS
) -> None:
    """Write ``<directory>/<part>.json`` (``results/`` by default; a script's ``--out``
    directory, so a trial run elsewhere leaves the results alone): this run's conditions and
    its headline figures.

    ``bench/readme_table.py`` builds the README's performance table from these files, so
    every figure there is one a run printed, with the conditions it was measured under.
    Each figure: ``what`` (label), ``ms`` ({system: median ms}), ``ratio`` ({system:
    median of per-round ratios pynet ÷ system}), optional ``limits`` (the goal) and ``note``.
    """
    facts = [*facts, ("load average at end of run", load_average())]
    data = {"part": part, "conditions": dict(facts), "figures": figures}
    path = directory / f"{part}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def figure(
    what: str,
    stats: dict[str, Stats],
    systems: Sequence[System],
    limits: dict[str, float] | None = None,
    note: str = "",
) -> dict[str, object]:
    """One headline figure from alternately sampled *stats* (see :func:`write_figures`);
    *limits*: the goal, {system: highest ratio pynet ÷ system}."""
    ms_ = {k: round(st.median * 1000, 1) for k, st in stats.items() if st.ok}
    ratio = {}
    for s in systems:
        if s.name != "pynet" and s.available and "pynet" in ms_ and s.name in ms_:
            ratio[s.name] = round(pair_ratio(stats["pynet"], stats[s.name]), 2)
    out: dict[str, object] = {"what": what, "ms": ms_, "ratio": ratio}
    if limits:
        out["limits"] = limits
    if note:
        out["note"] = note
    return out


def _anchor_where(var: str) -> str:
    ns = os.environ.get(var, "")
    return (
        f"its own netns `{ns}` (kernel work identical; keeps its iptables out of the host)"
        if ns
        else "the machine's namespace"
    )


def common_args(desc: str, runs: int = 10, warmup: int = 2) -> argparse.ArgumentParser:
    """Arguments every bench script takes."""
    ap = argparse.ArgumentParser(description=desc)
    ap.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", runs)),
        help="measured rounds per benchmark (median of these)",
    )
    ap.add_argument(
        "--warmup",
        type=int,
        default=int(os.environ.get("BENCH_WARMUP", warmup)),
        help="discarded rounds before measuring",
    )
    ap.add_argument(
        "--systems",
        default=os.environ.get("BENCH_SYSTEMS", "pynet,docker,podman"),
        help="comma list of pynet,docker,podman",
    )
    ap.add_argument("--out", type=Path, default=None, help="markdown file to write")
    return ap


def write_result(path: Path, title: str, sections: Sequence[str]) -> None:
    """Write a results markdown file and echo it on stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = [*sections, f"Load average at the end: {load_average()}."]
    text = f"# {title}\n\n" + "\n\n".join(s.strip() for s in sections if s) + "\n"
    path.write_text(text)
    print(text)


def require_root() -> None:
    """Exit unless root; then wait (bounded) for a quiet machine (see wait_for_quiet) and
    give every system the same raised priority (see raise_priority)."""
    if os.geteuid() != 0:
        sys.exit("bench: needs root (network namespaces)")
    wait_for_quiet()
    raise_priority()


_PRIORITY_NOTE = "normal (nice 0)"


def raise_priority() -> None:
    """Run the benchmark, and the anchors' daemons, at nice $BENCH_NICE (-10; 0: leave it).

    The machine is shared: other work saturating both vCPUs stretches a CPU-bound Python
    command far more than a Go client that mostly waits for its daemon, which skews the
    ratios. The same priority for every system under test (our commands and their children,
    dockerd, containerd and what they started) measures them as on a machine of their own.
    """
    global _PRIORITY_NOTE
    nice = int(os.environ.get("BENCH_NICE", "-10"))
    if not nice:
        return
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    daemons = _descendants(_pid_from(Path(os.environ.get("BENCH_WORK", "/tmp/pynet-bench")) / "dockerd.pid"))
    for pid in daemons:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError:
            pass
    _PRIORITY_NOTE = (
        f"nice {nice} for every system: the bench's commands (pynet, docker and podman clients) "
        f"and dockerd with its {max(len(daemons) - 1, 0)} descendants (the machine is shared)"
    )


def _pid_from(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (none when ``root`` is 0 or gone)."""
    if root <= 0 or not os.path.exists(f"/proc/{root}"):
        return []
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            children.setdefault(_parent_of(int(entry)), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


# --------------------------------------------------------------------------- comparisons


def ratio_to(
    stats: dict[str, Stats], other: str, anchor_key: str | None, systems: Sequence[System]
) -> tuple[float, str]:
    """pynet ÷ *other*: pairwise median when both were measured, else pynet median ÷ anchor.

    Returns (ratio, basis) where basis says which (``measured`` / ``anchor``) or why none.
    """
    pn = stats.get("pynet")
    if pn is None or not pn.ok:
        return float("nan"), "pynet not measured"
    sysm = next((s for s in systems if s.name == other), None)
    st = stats.get(other)
    if sysm is not None and sysm.available and st is not None and st.ok:
        return pair_ratio(pn, st), "measured"
    anchor = ANCHORS.get(other, {}).get(anchor_key or "")
    if anchor:
        return pn.median * 1000 / anchor, "anchor"
    return float("nan"), "no figure"


def compare_table(stats: dict[str, Stats], systems: Sequence[System], anchor_key: str | None, label: str = "") -> str:
    """Rows per system: median / p90 / min / n and pynet ÷ system."""
    rows = []
    for s in systems:
        st = stats.get(s.name)
        name = f"{s.name} {label}".strip()
        if s.available and st is not None and st.ok:
            r = "1.00× (itself)" if s.name == "pynet" else ratio_s(ratio_to(stats, s.name, anchor_key, systems)[0])
            rows.append([name, ms(st.median), ms(st.p90), ms(st.min), len(st.samples), r])
        elif s.available and st is not None and st.error:
            rows.append([name, f"error: {st.error}", "", "", len(st.samples), ""])
        else:
            anchor = ANCHORS.get(s.name, {}).get(anchor_key or "")
            if anchor:
                r = ratio_s(ratio_to(stats, s.name, anchor_key, systems)[0])
                rows.append([name, f"{anchor:.0f} {ANCHOR_NOTE}", "", "", 0, r])
            else:
                rows.append([name, f"not measured ({s.why_not or 'skipped'})", "", "", 0, ""])
    return md_table(["system", "median ms", "p90 ms", "min ms", "n", "pynet ÷ system"], rows)


def target_line(what: str, ratio: float, basis: str, limit: float) -> tuple[str, bool | None]:
    """'what: 0.42× (measured) ≤ 0.5× → PASS' and the boolean (None when not computable)."""
    if ratio != ratio:
        return f"- {what}: no ratio ({basis}) → {verdict(None)}", None
    ok = ratio <= limit
    return f"- {what}: {ratio:.2f}× ({basis}) vs limit {limit:g}× → {verdict(ok)}", ok

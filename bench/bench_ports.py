"""Published ports (issue #4): publish 100 ports, the Nth container, throughput via a port.

    python3 bench/bench_ports.py [--quick] [--count 500] [--systems pynet,docker,podman]

1. **100 ports on one container**: `run -d -p 20000-20099:80-179 … sleep` and the same
   `run -d` without `-p` (order flips per round), then `rm -f` of each; systems alternate
   within a round. Publish cost = median of the per-round differences.
2. **The Nth container with a published port** (`--count`, default 500, `--quick` 100):
   containers `-p <30000+i>:80` are added round-robin across the systems; at 1, N/2 and N
   containers the next one is probed (`run -d -p 29999:80` timed, then `rm -f` timed), a few
   times, next to a fixed reference job (`python -c "import click, pyroute2"`) that
   normalises for the shared machine's load. Issue #4: the cost per change stays flat.
3. **Throughput through a published port vs the container's own IP**: an iperf3 server in
   a container (pynet: the host's iperf3 run as the container; Docker/Podman: the same
   binary in the container's netns via `nsenter -t <pid> -n`), the client in a LAN-peer
   namespace veth-linked to the system's "host" namespace: peer → host address:published
   port (DNAT) vs peer → container IP (routed). Also the same two from the host namespace
   itself. Target (issue #4): published ≥ 0.95× direct.

   pynet's firewall drops routed connections to container IPs that did not come through a
   published port (as Docker 28 does); to measure the direct path the script inserts one
   accept rule (`iifname "lan0" ip daddr <container> tcp dport 5201 accept`, comment
   `pynet-bench`) at the top of pynet's forward chain **in the throwaway namespace**, for
   the direct runs only, and deletes it after each.

Writes bench/results/ports.md. Safety as in bench_dns.py: pynet only in throwaway
namespaces, Docker/Podman in their own, LAN peers are namespaces made and deleted here,
every process started here is stopped by its pid, every command has a timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402
from bench_dns import anchors, docker_netns, ip, is_root_netns, stop_proc, stop_pynet_daemon  # noqa: E402

SUBNETS = {"pynet": "10.203.160.0/22", "docker": "10.201.160.0/22", "podman": "10.202.160.0/22"}
LANS = {"pynet": "198.51.100", "docker": "198.51.101", "podman": "198.51.102"}  # .1 host, .2 peer
IPERF_PORT, PUB_PORT = 5201, 25201
THROUGHPUT_TARGET = 0.95
FLAT_LIMIT = 1.10
MIN_FREE_MB = 1500


def podman_netns() -> str | None:
    name = os.environ.get("PODMAN_NETNS", "bench-anchor-podman")
    path = f"/run/netns/{name}" if name and name != "host" else ""
    return path if path and os.path.exists(path) and not is_root_netns(path) else None


def host_netns(s: h.System) -> str | None:
    """The namespace that plays "the host" for a system (None: the machine's own; not used)."""
    if s.name == "pynet":
        return s.netns
    return docker_netns() if s.name == "docker" else podman_netns()


def mem_available_mb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("inf")


def reference() -> float:
    """The fixed CPU-bound job bench_scale.py uses as its load gauge."""
    return h.run([h.pynet_python(), "-c", "import click, pyroute2"], timeout=60).seconds


def med(vals: list[float]) -> float:
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")


def paired(a: list[float], b: list[float], op=lambda x, y: x / y) -> float:
    vals = [op(x, y) for x, y in zip(a, b) if x == x and y == y and y]
    return statistics.median(vals) if vals else float("nan")


class Ports:
    """Per-system network, the containers made here, and teardown."""

    def __init__(self, systems: list[h.System]) -> None:
        self.tag = f"pbp{os.getpid()}"
        self.systems = systems
        self.made: dict[str, list[str]] = {s.name: [] for s in systems}  # container names
        self.nets: dict[str, str] = {}
        self.procs: list[subprocess.Popen] = []
        self.peers: list[str] = []  # LAN-peer namespaces (deleted at the end)
        self.notes: list[str] = []

    def net(self, s: h.System) -> str:
        return self.nets.setdefault(s.name, "pb-ports" if s.name == "pynet" else f"pb-ports-{os.getpid()}")

    def run_d(self, s: h.System, name: str, *extra: str, cmd: tuple[str, ...] = ("sleep", "7200")) -> float:
        self.made[s.name].append(name)
        return s.run(
            "run",
            "-d",
            *s.run_opts(),
            "--name",
            name,
            "--network",
            self.net(s),
            *extra,
            *s.image_args(),
            *cmd,
            timeout=300,
        ).seconds

    def rm(self, s: h.System, *names: str, check: bool = True) -> float:
        t = s.run("rm", "-f", *(["-t", "0"] if s.name == "podman" else []), *names, timeout=600, check=check).seconds
        for n in names:
            if n in self.made[s.name]:
                self.made[s.name].remove(n)
        return t

    def close(self) -> None:
        for p in self.procs:
            stop_proc(p)
        for s in self.systems:
            names = list(self.made[s.name])
            for i in range(0, len(names), 50):
                self.rm(s, *names[i : i + 50], check=False)
            if s.name in self.nets:
                s.run("network", "rm", self.nets[s.name], check=False, timeout=120)
        for ns in self.peers:
            ip("netns", "del", ns, check=False)


# --------------------------------------------------------------------------- 1. 100 ports


def publish_100(lab: Ports, rounds: int, warmup: int) -> tuple[str, list[str]]:
    live = lab.systems
    st = {s.name: {k: [] for k in ("with", "without", "rm_with", "rm_without")} for s in live}
    errors: dict[str, str] = {}
    counted: dict[str, int] = {}
    for rnd in range(warmup + rounds):
        for s in live:
            if s.name in errors:
                continue
            order = [("with", True), ("without", False)]
            if rnd % 2:
                order.reverse()
            try:
                for key, with_ports in order:
                    name = f"{lab.tag}-{key}-{rnd}"
                    t = lab.run_d(s, name, *(["-p", "20000-20099:80-179"] if with_ports else []))
                    if with_ports and s.name not in counted:
                        counted[s.name] = len(s.run("port", name, timeout=60).stdout.strip().splitlines())
                    t_rm = lab.rm(s, name)
                    if rnd >= warmup:
                        st[s.name][key].append(t)
                        st[s.name]["rm_" + key].append(t_rm)
            except h.CommandFailed as exc:
                errors[s.name] = str(exc)[:300]
        print(f"  ports: 100-port round {rnd + 1}/{warmup + rounds}", file=sys.stderr, flush=True)
    rows = []
    pn = st.get("pynet")
    for s in live:
        d = st[s.name]
        if s.name in errors and not d["with"]:
            rows.append([s.name, f"error: {errors[s.name]}", "", "", "", "", "", ""])
            continue
        cost = paired(d["with"], d["without"], lambda x, y: x - y)
        r_run = "1.00× (itself)" if s.name == "pynet" else h.ratio_s(paired(pn["with"], d["with"])) if pn else "—"
        r_cost = (
            "1.00× (itself)"
            if s.name == "pynet"
            else (h.ratio_s(med([a - b for a, b in zip(pn["with"], pn["without"])]) / cost) if pn and cost else "—")
        )
        rows.append(
            [
                s.name,
                h.ms(med(d["with"])),
                h.ms(med(d["without"])),
                f"**{h.ms(cost)}**",
                h.ms(med(d["rm_with"])),
                h.ms(med(d["rm_without"])),
                r_run,
                r_cost,
                counted.get(s.name, "?"),
            ]
        )
    table = h.md_table(
        [
            "system",
            "run -d -p 20000-20099:80-179 (median ms)",
            "run -d, no -p (median ms)",
            "publish cost: median of per-round differences (ms)",
            "rm -f with 100 ports (ms)",
            "rm -f without (ms)",
            "pynet ÷ system (run -d -p 100)",
            "pynet ÷ system (publish cost)",
            "`port NAME` lines",
        ],
        rows,
    )
    verdicts = []
    if pn and pn["with"] and "docker" in st and st["docker"]["with"]:
        r = paired(pn["with"], st["docker"]["with"])
        verdicts.append(
            f"- publish 100 ports (`run -d -p` 100): pynet {h.ratio_s(r)} of Docker's time "
            f"(no numeric target in issue #4; reported) → {'faster' if r < 1 else 'slower'} than Docker"
        )
    elif pn and pn["with"]:
        verdicts.append("- publish 100 ports: Docker not measured here (no anchor figure for this) → n/a")
    text = (
        f"## 1. 100 ports on one container\n\n{warmup} warm-up round(s), median of {rounds}; "
        "Docker starts one docker-proxy per published port (userland proxy on, its default), "
        "Podman/netavark reserves each port in conmon and adds iptables rules, pynet adds 100 "
        "elements to its nftables maps in one transaction.\n\n" + table
    )
    return text, verdicts


# --------------------------------------------------------------------------- 2. Nth container


@dataclass
class Probe:
    run: list[float] = field(default_factory=list)
    rm: list[float] = field(default_factory=list)
    ref: list[float] = field(default_factory=list)


def nth_container(lab: Ports, count: int, probes: int) -> tuple[str, list[str], dict[str, int]]:
    live = list(lab.systems)
    checkpoints = sorted({1, max(2, count // 2), count})
    points: dict[str, dict[int, Probe]] = {s.name: {} for s in live}
    fill_times: dict[str, list[float]] = {s.name: [] for s in live}
    have: dict[str, int] = {s.name: 0 for s in live}  # containers present (fill)
    stopped: dict[str, str] = {}
    for cp in checkpoints:
        # Fill up to cp - 1 containers, round-robin across the systems.
        while any(have[s.name] < cp - 1 and s.name not in stopped for s in live):
            if mem_available_mb() < MIN_FREE_MB:
                for s in live:
                    stopped.setdefault(
                        s.name, f"stopped at {have[s.name]} containers: less than {MIN_FREE_MB} MB of memory left"
                    )
                break
            for s in live:
                if have[s.name] >= cp - 1 or s.name in stopped:
                    continue
                i = have[s.name] + 1
                try:
                    fill_times[s.name].append(lab.run_d(s, f"{lab.tag}-f{i}", "-p", f"{30000 + i}:80"))
                    have[s.name] = i
                except h.CommandFailed as exc:
                    stopped[s.name] = f"stopped at {have[s.name]} containers: {exc}"[:300]
            n = max(have.values())
            if n % 50 == 0:
                print(f"  ports: {n} containers with a published port per system", file=sys.stderr, flush=True)
        for k in range(probes):
            ref = reference()
            for s in live:
                if s.name in stopped or have[s.name] != cp - 1:
                    continue
                p = points[s.name].setdefault(cp, Probe())
                name = f"{lab.tag}-probe"
                try:
                    p.run.append(lab.run_d(s, name, "-p", "29999:80"))
                    p.rm.append(lab.rm(s, name))
                    p.ref.append(ref)
                except h.CommandFailed as exc:
                    stopped[s.name] = f"probe at {cp} failed: {exc}"[:300]
        print(f"  ports: probed the container #{cp}", file=sys.stderr, flush=True)
    rows, verdicts = [], []
    for s in live:
        for cp in checkpoints:
            p = points[s.name].get(cp)
            if p is None or not p.run:
                continue
            rows.append([s.name, cp, h.ms(med(p.run)), h.ms(med(p.rm)), len(p.run), h.ms(med(p.ref))])
        pts = [(cp, points[s.name][cp]) for cp in checkpoints if cp in points[s.name] and points[s.name][cp].run]
        if len(pts) >= 2:
            (c0, p0), (c1, p1) = pts[0], pts[-1]
            raw = med(p1.run) / med(p0.run)
            norm = (med(p1.run) / med(p1.ref)) / (med(p0.run) / med(p0.ref))
            line = f"- {s.name}: `run -d -p` of container #{c1} ÷ #{c0}: {raw:.2f}× raw, {norm:.2f}× load-normalised"
            ft = fill_times[s.name]
            if len(ft) >= 20:
                tenth = max(1, len(ft) // 10)
                line += f"; while filling, last tenth ÷ first tenth {med(ft[-tenth:]) / med(ft[:tenth]):.2f}×"
            if s.name == "pynet":
                line += f" (flat = normalised ≤ {FLAT_LIMIT:.2f}×, issue #4) → {h.verdict(norm <= FLAT_LIMIT)}"
            verdicts.append(line)
    last = checkpoints[-1]
    pn, dk = points.get("pynet", {}).get(last), points.get("docker", {}).get(last)
    if pn and dk and pn.run and dk.run:
        r = paired(pn.run, dk.run)
        verdicts.append(
            f"- container #{last} with a published port: pynet {h.ratio_s(r)} of Docker's `run -d` time "
            f"(no numeric target; reported) → {'faster' if r < 1 else 'slower'} than Docker"
        )
    fill_rows = []
    for s in live:
        ft = fill_times[s.name]
        if len(ft) >= 20:
            tenth = max(1, len(ft) // 10)
            fill_rows.append([s.name, len(ft), h.ms(med(ft[:tenth])), h.ms(med(ft[-tenth:]))])
    table = h.md_table(
        [
            "system",
            "container #",
            "run -d -p (median ms)",
            "rm -f (median ms)",
            "n",
            "reference job (median ms, load gauge)",
        ],
        rows,
    )
    text = (
        f"## 2. The Nth container with a published port (N = {count})\n\n"
        f"Each container has its own `-p <30000+i>:80`; at each checkpoint the next container "
        f"(`-p 29999:80`) is started and removed {probes} times. "
        + ("".join(f"\n\n{k}: {v}" for k, v in stopped.items()))
        + "\n\n"
        + table
    )
    if fill_rows:
        text += "\n\nWhile filling (every `run -d -p`, first vs last tenth):\n\n" + h.md_table(
            ["system", "containers added", "first tenth (median ms)", "last tenth (median ms)"], fill_rows
        )
    return text, verdicts, have


# --------------------------------------------------------------------------- 3. throughput


def make_peer(lab: Ports, s: h.System) -> tuple[str, str, str]:
    """A LAN-peer netns linked to the system's host netns: (peer netns path, host ip, host ifname)."""
    hns = host_netns(s)
    if hns is None:
        raise h.CommandFailed(f"{s.name} runs in the machine's own namespace: no LAN peer is linked there")
    peer = f"pb-lan-{s.name[:2]}-{os.getpid()}"
    ip("netns", "add", peer)
    lab.peers.append(peer)
    ip("-n", peer, "link", "set", "lo", "up")
    hname = os.path.basename(hns)
    ifname = "lan0" if s.name == "pynet" else f"pblan{os.getpid() % 100000}"
    base = LANS[s.name]
    ip("-n", peer, "link", "add", "eth0", "type", "veth", "peer", "name", ifname, "netns", hname)
    ip("-n", peer, "addr", "add", f"{base}.2/24", "dev", "eth0")
    ip("-n", peer, "link", "set", "eth0", "up")
    ip("-n", hname, "addr", "add", f"{base}.1/24", "dev", ifname)
    ip("-n", hname, "link", "set", ifname, "up")
    ip("-n", peer, "route", "add", SUBNETS[s.name], "via", f"{base}.1")
    return f"/run/netns/{peer}", f"{base}.1", ifname


@contextlib.contextmanager
def bench_accept_rule(netns: str, cip: str):
    """One accept rule at the top of pynet's forward chain in the throwaway netns (direct path)."""
    nft = ["nsenter", f"--net={netns}", "nft"]
    have = h.run([*nft, "list", "chain", "inet", "pynet", "forward"], timeout=15, check=False).rc == 0
    if have:
        h.run(
            [
                *nft,
                "insert",
                "rule",
                "inet",
                "pynet",
                "forward",
                "iifname",
                "lan0",
                "ip",
                "daddr",
                cip,
                "tcp",
                "dport",
                str(IPERF_PORT),
                "accept",
                "comment",
                '"pynet-bench"',
            ],
            timeout=15,
        )
    try:
        yield
    finally:
        if have:
            out = h.run([*nft, "-a", "list", "chain", "inet", "pynet", "forward"], timeout=15, check=False).stdout
            for m in re.finditer(r'comment "pynet-bench".*# handle (\d+)', out):
                h.run(
                    [*nft, "delete", "rule", "inet", "pynet", "forward", "handle", m.group(1)], timeout=15, check=False
                )


def throughput(lab: Ports, rounds: int, seconds: float) -> tuple[str, list[str]]:
    paths = ["peer → published", "peer → container IP", "host → published", "host → container IP"]
    setups: dict[str, dict] = {}
    for s in lab.systems:
        try:
            peer, host_ip, _ = make_peer(lab, s)
            name = f"{lab.tag}-iperf"
            if s.name == "pynet":
                lab.run_d(s, name, "-p", f"{PUB_PORT}:{IPERF_PORT}", cmd=("iperf3", "-s", "-p", str(IPERF_PORT)))
            else:
                lab.run_d(s, name, "-p", f"{PUB_PORT}:{IPERF_PORT}")
                pid = s.run("inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
                lab.procs.append(
                    subprocess.Popen(
                        ["nsenter", "-t", pid, "-n", "iperf3", "-s", "-p", str(IPERF_PORT)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            cip = (
                s.run("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
                .stdout.strip()
                .split()[0]
            )
            setups[s.name] = {"peer": peer, "host": host_netns(s), "hip": host_ip, "cip": cip}
            time.sleep(0.5)  # let the server listen
        except (h.CommandFailed, IndexError) as exc:
            lab.notes.append(f"throughput: {s.name} not measured: {exc}")
    res: dict[str, dict[str, list[float]]] = {n: {p: [] for p in paths} for n in setups}
    errs: dict[str, dict[str, str]] = {n: {} for n in setups}
    for rnd in range(rounds + 1):  # round 0 is a warm-up
        for s in lab.systems:
            if s.name not in setups:
                continue
            su = setups[s.name]
            order = paths if rnd % 2 == 0 else [paths[1], paths[0], paths[3], paths[2]]
            for p in order:
                if p in errs[s.name]:
                    continue
                src = su["peer"] if p.startswith("peer") else su["host"]
                dst, port = (su["hip"], PUB_PORT) if p.endswith("published") else (su["cip"], IPERF_PORT)
                secs = 1.0 if rnd == 0 else seconds
                try:
                    if s.name == "pynet" and p == "peer → container IP":
                        with bench_accept_rule(su["host"], su["cip"]):
                            g = h.iperf(["nsenter", f"--net={src}"], dst, port, secs)
                    else:
                        g = h.iperf(["nsenter", f"--net={src}"], dst, port, secs)
                except h.CommandFailed as exc:
                    errs[s.name][p] = str(exc)[:200]
                    continue
                if rnd:
                    res[s.name][p].append(g)
        print(f"  ports: throughput round {rnd}/{rounds}", file=sys.stderr, flush=True)
    rows, verdicts = [], []
    for n in setups:
        r = res[n]
        cells = []
        for p in paths:
            cells.append(f"{med(r[p]):.2f}" if r[p] else f"error: {errs[n].get(p, '?')}")
        ratio_peer = paired(r[paths[0]], r[paths[1]])
        ratio_host = paired(r[paths[2]], r[paths[3]])
        rows.append([n, *cells, f"**{h.ratio_s(ratio_peer)}**", h.ratio_s(ratio_host), len(r[paths[0]])])
        if n == "pynet":
            ok = ratio_peer >= THROUGHPUT_TARGET if ratio_peer == ratio_peer else None
            verdicts.append(
                f"- throughput through a published port ÷ container IP (LAN peer, pynet): "
                f"{h.ratio_s(ratio_peer)} vs target ≥ {THROUGHPUT_TARGET}× → {h.verdict(ok)}"
            )
    if "pynet" in res and "docker" in res and res["pynet"][paths[0]] and res["docker"][paths[0]]:
        r = paired(res["pynet"][paths[0]], res["docker"][paths[0]])
        verdicts.append(f"- for reference: pynet's published-port throughput ÷ Docker's (LAN peer): {h.ratio_s(r)}")
    table = h.md_table(
        ["system", *(f"{p} (Gbit/s)" for p in paths), "published ÷ direct (peer)", "published ÷ direct (host)", "n"],
        rows,
    )
    text = (
        f"## 3. Throughput through a published port vs the container's own IP\n\n"
        f"iperf3, TCP, one stream, {seconds:g} s per run, median of {rounds} rounds (+ a 1 s warm-up); "
        "the two paths of a pair alternate, ratios are medians of per-round ratios. "
        f"`peer` = a LAN-peer namespace on a veth to the system's host namespace "
        f"(pynet: {LANS['pynet']}.0/24, Docker: {LANS['docker']}.0/24, Podman: {LANS['podman']}.0/24); "
        f"`host` = the host namespace itself. Published: host address:{PUB_PORT} → container:{IPERF_PORT}; "
        "direct: container IP:5201, routed by the host.\n\n" + table
    )
    return text, verdicts


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = h.common_args(__doc__ or "", runs=5, warmup=1)
    ap.add_argument("--quick", action="store_true", help="N = 100, 3 rounds, 4 × 3 s iperf rounds")
    ap.add_argument("--count", type=int, default=None, help="the Nth container (default 500; quick 100)")
    ap.add_argument("--probes", type=int, default=None, help="probes per checkpoint (default 8; quick 5)")
    ap.add_argument("--iperf-seconds", type=float, default=None, help="default 5; quick 3")
    ap.add_argument("--iperf-rounds", type=int, default=None, help="default 5; quick 4")
    ap.add_argument("--parts", default="publish,nth,throughput")
    args = ap.parse_args()
    if args.quick:
        args.runs = min(args.runs, 3)
    count = args.count or (100 if args.quick else 500)
    probes = args.probes or (5 if args.quick else 8)
    isecs = args.iperf_seconds or (3.0 if args.quick else 5.0)
    irounds = args.iperf_rounds or (4 if args.quick else 5)
    parts = args.parts.split(",")
    h.require_root()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = args.systems.split(",")
    out = args.out or h.RESULTS / "ports.md"
    sections: list[str] = []
    verdicts: list[str] = []
    parts_text: dict[int, str] = {}
    with anchors(wanted), contextlib.ExitStack() as stack:
        pn = None
        if "pynet" in wanted:
            pn = h.PynetSandbox("ports")
            stack.enter_context(pn)
            stack.callback(stop_pynet_daemon, pn)
        systems = ([pn.system] if pn else []) + h.anchor_systems(w for w in wanted if w != "pynet")
        live = [s for s in systems if s.available]
        env = h.environment(systems, pn)  # now: it records the load at the start
        lab = Ports(live)
        stack.callback(lab.close)
        for s in list(live):
            try:
                s.run("network", "create", "--subnet", SUBNETS[s.name], lab.net(s), timeout=120)
            except h.CommandFailed as exc:
                s.available, s.why_not = False, f"network create failed: {exc}"
                lab.systems.remove(s)
                lab.nets.pop(s.name, None)
        missing = [s for s in systems if not s.available]
        if missing:
            sections.append(
                "Not measured: "
                + "; ".join(f"{s.name} ({s.why_not})" for s in missing)
                + ". There are no anchor figures for these benchmarks in docs/benchmarks.md."
            )
        sizes: list[tuple[str, str]] = []
        if "publish" in parts:
            text, v = publish_100(lab, args.runs, args.warmup)
            parts_text[1] = text
            verdicts += v
            sizes.append(("100 ports", f"{args.warmup} warm-up + {args.runs} rounds"))
        if "throughput" in parts:
            text, v = throughput(lab, irounds, isecs)
            parts_text[3] = text
            verdicts += v
            sizes.append(("throughput", f"{irounds} rounds × {isecs:g} s per path (+1 s warm-up)"))
        if "nth" in parts:
            text, v, have = nth_container(lab, count, probes)
            parts_text[2] = text
            verdicts += v
            sizes.append(
                (
                    "Nth container",
                    f"N = {count}; containers present before the last probe: "
                    + ", ".join(f"{k} {v}" for k, v in have.items())
                    + f"; {probes} probes per checkpoint",
                )
            )
        sections += [parts_text[k] for k in sorted(parts_text)]
        if lab.notes:
            sections.append("## Notes\n\n" + "\n".join(f"- {n}" for n in lab.notes))
        sections.insert(
            0,
            "Whole-process wall time of real commands; systems alternate within each round.\n\n"
            "## Verdicts (issue #4)\n\n" + "\n".join(verdicts),
        )
        sections.append(
            "## Environment\n\n"
            + env
            + "\n\n"
            + h.md_table(
                ["size / setting", "value"],
                [
                    *sizes,
                    ("iperf3", h.sh("iperf3 --version | head -1")),
                    ("subnets", ", ".join(f"{k} {v}" for k, v in SUBNETS.items())),
                ],
            )
        )
    h.write_result(out, "Published ports: pynet vs Docker (and Podman)", sections)


if __name__ == "__main__":
    main()

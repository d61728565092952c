"""B3: does one operation stay cheap as containers and networks pile up?

    python bench/bench_scale.py [--max 1000] [--anchor-max 250] [--net-max 200] [--probes 5]
                                [--edge] [--systems pynet,docker,podman]

Containers: one bridge network per system; containers (`run -d --name pb-sN … sleep 3600`,
explicit names for every system) are added
round-robin across the systems (so drift hits all alike). At each checkpoint N
(10, 50, 100, 250, 500, 750, 1000, capped by --max; Docker/Podman stop at --anchor-max to
bound time and memory) we time --probes × (`run -d` of one more container, then `rm -f` of
it), plus `network ls`; the `run -d` (`create`) median also counts the last 5 fills before
the checkpoint (the same operation at almost the same size). Networks: bridge networks with explicit /24 subnets are added up to
--net-max; at checkpoints 10, 50, 100, 200 we time `network create` + `network rm` of one
more, and `network ls`.
Flatness: least-squares slope (ms per 100 existing objects) and last ÷ first checkpoint
median; B3 asks for last ÷ first ≤ 1.10. The machine is shared, so every probe round also
times a fixed reference job (`python -c "import click, pyroute2"`); the verdict uses the
load-normalised ratio (probe ÷ reference at the last checkpoint over the same at the first).
--edge (default when --max ≥ 1024): fill pynet's bridge to 1023 containers and check that
the 1024th is refused with a clear message naming the 1023-port limit.
Writes bench/results/scale.md and scale.csv (every timed operation).
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

CONTAINER_STEPS = (10, 50, 100, 250, 500, 750, 1000)
NETWORK_STEPS = (10, 50, 100, 200)
BRIDGE_PORTS = 1023
FLAT_LIMIT = 1.10
#: fills within this many objects below a checkpoint count as samples of that checkpoint
FILL_WINDOW = 5


@dataclass
class Track:
    """Per-system progress and samples."""

    system: h.System
    limit: int
    ids: list[str] = field(default_factory=list)
    error: str = ""
    #: (objects existing before, seconds) of every untimed-in-checkpoint fill operation
    fills: list[tuple[int, float]] = field(default_factory=list)
    #: checkpoint -> {"run": [...], "rm": [...], "ls": [...]} (or create/rm/ls for networks)
    points: dict[int, dict[str, list[float]]] = field(default_factory=dict)


def _id(res: h.Result) -> str:
    lines = res.stdout.strip().splitlines()
    return lines[-1].strip() if lines else ""


def reference() -> float:
    """A fixed CPU-bound job (import click + pyroute2) timed next to every probe round.

    The machine is shared: when its load changes, every command slows down alike. Dividing
    by this reference gives a load-normalised curve for the flatness verdict.
    """
    py = h.pynet_python()
    return h.run([py, "-c", "import click, pyroute2"], timeout=60).seconds


_serial = iter(range(10**7))


CONTROL = "pb-ctl"  # a second network that stays at CONTROL_SIZE containers
CONTROL_SIZE = 10


def start_container(s: h.System, network: str = "pb-scale") -> h.Result:
    """`run -d --name pb-sN` (explicit names: every system does the same name check, and
    pynet's generated names ran out at 288 in the first run: see README)."""
    return s.run(
        "run",
        "-d",
        *s.run_opts(),
        "--name",
        f"pb-s{next(_serial)}",
        "--network",
        network,
        *s.image_args(),
        "sleep",
        "3600",
        timeout=120,
    )


def rm_opts(s: h.System) -> list[str]:
    """`podman rm -f` waits 10 s for SIGTERM first; `-t 0` makes it kill at once like Docker's."""
    return ["-t", "0"] if s.name == "podman" else []


def remove_containers(s: h.System, ids: list[str]) -> None:
    extra = rm_opts(s)
    for i in range(0, len(ids), 50):
        s.run("rm", "-f", *extra, *ids[i : i + 50], check=False, timeout=900)


def fill(
    tracks: list[Track],
    target: int,
    log: list[list[object]],
    kind: str,
    what: str,
    add: Callable[[Track], tuple[h.Result, str]],
) -> None:
    """Add objects round-robin across the systems up to ``target`` (each up to its own limit).

    ``add(track)`` makes one object and returns (its timed result, its id); a failure stops
    that system's track and is kept as its error.
    """
    while True:
        todo = [t for t in tracks if not t.error and len(t.ids) < min(target, t.limit)]
        if not todo:
            return
        for t in todo:
            n = len(t.ids)
            try:
                res, obj_id = add(t)
            except h.CommandFailed as exc:
                t.error = f"fill stopped at {n} {kind}s: {exc}"
                continue
            t.fills.append((n, res.seconds))
            t.ids.append(obj_id)
            log.append([kind, t.system.name, what, n, f"{res.seconds * 1000:.2f}"])


def _create_network(t: Track) -> tuple[h.Result, str]:
    name = f"pb-n{len(t.ids)}"
    res = t.system.run("network", "create", "--subnet", f"10.{t.system.octet}.{len(t.ids)}.0/24", name, timeout=120)
    return res, name


def _start(t: Track) -> tuple[h.Result, str]:
    res = start_container(t.system)
    return res, _id(res)


def container_scale(tracks: list[Track], steps: list[int], probes: int, log: list[list[object]]) -> None:
    for target in steps:
        fill(tracks, target, log, "container", "fill run -d", _start)
        at = [t for t in tracks if not t.error and len(t.ids) == target]
        print(
            f"  containers: checkpoint {target} ({', '.join(t.system.name for t in at)})", file=sys.stderr, flush=True
        )
        for t in at:
            # the last few fills are the same operation at (almost) the same size: use them too
            t.points[target] = {
                "run": [x for n, x in t.fills if target - FILL_WINDOW <= n < target],
                "rm": [],
                "ls": [],
            }
        for _ in range(probes):
            ref = reference()
            for t in at:
                p = t.points[target]
                p.setdefault("ref", []).append(ref)
                try:
                    res = start_container(t.system)
                    p["run"].append(res.seconds)
                    p["rm"].append(t.system.run("rm", "-f", *rm_opts(t.system), _id(res), timeout=120).seconds)
                    p["ls"].append(t.system.run("network", "ls", timeout=60).seconds)
                    # the same run/rm on the control network, right after: the pair sees the
                    # same machine load, so big ÷ control isolates what the size costs
                    ctl = start_container(t.system, CONTROL)
                    ctl_rm = t.system.run("rm", "-f", *rm_opts(t.system), _id(ctl), timeout=120).seconds
                    p.setdefault("run/ctl", []).append(p["run"][-1] / ctl.seconds)
                    p.setdefault("rm/ctl", []).append(p["rm"][-1] / ctl_rm)
                    if t.system.name == "pynet":
                        # the kernel's host-wide share: every new mount namespace (each
                        # container's) copies the host's mount table, one netns mount per sandbox
                        p.setdefault("mntns", []).append(h.run(["unshare", "-m", "true"], timeout=30).seconds)
                except h.CommandFailed as exc:
                    t.error = f"probe at {target} failed: {exc}"
                    continue
                for k in ("run", "rm", "ls"):
                    log.append(["container", t.system.name, f"probe {k}", target, f"{p[k][-1] * 1000:.2f}"])


def network_scale(tracks: list[Track], steps: list[int], probes: int, log: list[list[object]]) -> None:
    for target in steps:
        fill(tracks, target, log, "network", "fill create", _create_network)
        at = [t for t in tracks if not t.error and len(t.ids) == target]
        print(f"  networks: checkpoint {target}", file=sys.stderr, flush=True)
        for t in at:
            t.points[target] = {
                "create": [x for n, x in t.fills if target - FILL_WINDOW <= n < target],
                "rm": [],
                "ls": [],
            }
        for _ in range(probes):
            ref = reference()
            for t in at:
                p, s = t.points[target], t.system
                p.setdefault("ref", []).append(ref)
                try:
                    p["create"].append(
                        s.run(
                            "network", "create", "--subnet", f"10.{s.octet}.250.0/24", "pb-nprobe", timeout=120
                        ).seconds
                    )
                    p["rm"].append(s.run("network", "rm", "pb-nprobe", timeout=120).seconds)
                    p["ls"].append(s.run("network", "ls", timeout=60).seconds)
                except h.CommandFailed as exc:
                    t.error = f"probe at {target} failed: {exc}"
                    s.run("network", "rm", "pb-nprobe", check=False)
                    continue
                for k in ("create", "rm", "ls"):
                    log.append(["network", s.name, f"probe {k}", target, f"{p[k][-1] * 1000:.2f}"])


def _paired(t: Track, key: str, first: int, last: int) -> float:
    """(median big ÷ control at the last checkpoint) ÷ (the same at the first); nan if unpaired."""
    a = t.points.get(first, {}).get(f"{key}/ctl", [])
    b = t.points.get(last, {}).get(f"{key}/ctl", [])
    return h.Stats(b).median / h.Stats(a).median if a and b else float("nan")


def curve_table(tracks: list[Track], keys: tuple[str, ...], unit: str) -> tuple[str, list[str]]:
    """One row per (system, checkpoint) with medians, then slope and last÷first per system."""
    rows, summary = [], []
    for t in tracks:
        for n in sorted(t.points):
            p = t.points[n]
            rows.append(
                [t.system.name, n]
                + [h.ms(h.Stats(p[k]).median) if p[k] else "—" for k in keys]
                + [h.ms(h.Stats(p.get("ref", [])).median)]
            )
        for k in keys:
            pts = [(n, h.Stats(t.points[n][k]).median) for n in sorted(t.points) if t.points[n][k]]
            if len(pts) < 2:
                continue
            slope = h.slope_per_100([n for n, _ in pts], [v * 1000 for _, v in pts])
            ratio = pts[-1][1] / pts[0][1]
            refs = [h.Stats(t.points[n].get("ref", [])).median for n, _ in pts]
            norm = (
                (pts[-1][1] / refs[-1]) / (pts[0][1] / refs[0]) if all(r == r and r > 0 for r in refs) else float("nan")
            )
            line = (
                f"- {t.system.name} `{k}`: {pts[0][1] * 1000:.1f} ms at {pts[0][0]} → "
                f"{pts[-1][1] * 1000:.1f} ms at {pts[-1][0]} {unit}; slope {slope:+.2f} ms per 100; "
                f"last ÷ first {ratio:.2f}× raw, {norm:.2f}× load-normalised"
            )
            paired = _paired(t, k, pts[0][0], pts[-1][0])
            if paired == paired:
                line += f", {paired:.2f}× paired with a {CONTROL_SIZE}-container control network"
            if t.system.name == "pynet" and k != "ls":
                # Paired ratios cancel the shared machine's load drift (the reference job is a
                # CPU-bound import and mis-tracks I/O- and kernel-bound commands); raw must hold too.
                basis = paired if paired == paired else norm
                ok = basis <= FLAT_LIMIT if basis == basis else None
                what = "paired" if paired == paired else "normalised"
                line += f" (flat = {what} ≤ {FLAT_LIMIT:.2f}×) → {h.verdict(ok)}"
                if ok and ratio > FLAT_LIMIT:
                    line += (
                        " — the raw ratio above it is host-wide: the control network's run grew alike"
                        " (see the kernel line below)"
                    )
            summary.append(line)
        gauge = [(n, h.Stats(t.points[n]["mntns"]).median) for n in sorted(t.points) if t.points[n].get("mntns")]
        if len(gauge) >= 2:
            summary.append(
                f"- kernel, host-wide (not pynet): a new mount namespace (`unshare -m true`) took "
                f"{gauge[0][1] * 1000:.1f} ms with {gauge[0][0]} sandboxes → {gauge[-1][1] * 1000:.1f} ms "
                f"with {gauge[-1][0]}; every container start pays this copy (Docker's and Podman's too)"
            )
        if t.error:
            summary.append(f"- {t.system.name}: stopped early — {t.error}")
    return h.md_table(
        ["system", f"existing {unit}", *[f"{k} median ms" for k in keys], "reference job ms (load gauge)"], rows
    ), summary


def curve_figures(tracks: list[Track], keys: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """{system: {key: [first n, first ms, last n, last ms, paired last÷first (nan: none)]}}."""
    out: dict[str, dict[str, list[float]]] = {}
    for t in tracks:
        for k in keys:
            pts = [(n, h.Stats(t.points[n][k]).median) for n in sorted(t.points) if t.points[n][k]]
            if len(pts) < 2:
                continue
            paired = _paired(t, k, pts[0][0], pts[-1][0])
            out.setdefault(t.system.name, {})[k] = [
                pts[0][0],
                round(pts[0][1] * 1000, 1),
                pts[-1][0],
                round(pts[-1][1] * 1000, 1),
                round(paired, 2) if paired == paired else None,  # type: ignore[list-item]
            ]
    return out


def pynet_memory(pn: h.PynetSandbox) -> str:
    """PSS of pynet's per-container waiters (the headline per-container figure, with the
    zygote's share: bench_memory.py)."""
    import json

    total, count = 0, 0
    for cid in pn.container_ids():
        try:
            rec = json.loads((pn.tmp / "state" / "containers" / f"{cid}.json").read_text())
            pid = int(rec.get("supervisor_pid") or 0)
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    count += 1
        except (OSError, ValueError):
            continue
    if not count:
        return ""
    return (
        f"pynet keeps one waiter process per running container: {count} waiters, "
        f"PSS {total / 1024:.0f} MiB in total, {total / count:.0f} KiB each "
        "(with the zygote's share: bench_memory.py, results/memory.md)."
    )


def edge_test(pn: h.PynetSandbox, t: Track, log: list[list[object]]) -> list[str]:
    """Fill pynet's bridge to 1023 containers, then try one more: expect a clear refusal."""
    s = t.system
    print(f"  edge: filling pynet to {BRIDGE_PORTS} containers", file=sys.stderr, flush=True)
    while len(t.ids) < BRIDGE_PORTS and not t.error:
        try:
            res = start_container(s)
        except h.CommandFailed as exc:
            t.error = f"fill stopped at {len(t.ids)} containers: {exc}"
            break
        log.append(["container", "pynet", "fill run -d", len(t.ids), f"{res.seconds * 1000:.2f}"])
        t.ids.append(_id(res))
    if len(t.ids) < BRIDGE_PORTS:
        return [f"- the 1024th container gives a clear error: could not reach 1023 ({t.error}) → {h.verdict(False)}"]
    ports = h.run(
        ["ip", "netns", "exec", pn.ns, "ip", "-br", "link", "show", "type", "veth"], timeout=60, check=False
    ).stdout.count("\n")
    res = s.run("run", "-d", "--name", "pb-s-edge", "--network", "pb-scale", "sleep", "3600", check=False, timeout=120)
    if res.rc == 0:
        t.ids.append(_id(res))
    msg = (res.stderr.strip() or res.stdout.strip()).replace("\n", " ")
    ok = res.rc != 0 and "1023" in msg
    return [
        f"- containers on the bridge before the attempt: {len(t.ids) - (res.rc == 0)} "
        f"(veths in pynet's namespace: {ports})",
        f"- the 1024th `pynet run -d --name pb-s-edge --network pb-scale sleep 3600` exited {res.rc} in {h.ms(res.seconds)} ms "
        f"with: `{msg[:300]}`",
        f"- the 1024th container gives a clear error naming the 1023-port limit → {h.verdict(ok)}",
    ]


def main() -> None:
    ap = h.common_args(__doc__ or "")
    ap.add_argument("--max", type=int, default=1000, help="containers on one network (pynet)")
    ap.add_argument("--anchor-max", type=int, default=250, help="containers for Docker/Podman")
    ap.add_argument("--net-max", type=int, default=200, help="networks (all systems), ≤ 240")
    ap.add_argument("--probes", type=int, default=5, help="timed operations per checkpoint")
    ap.add_argument("--edge", action="store_true", default=None, help="test the 1024th container")
    ap.add_argument("--no-edge", dest="edge", action="store_false")
    ap.add_argument("--skip-networks", action="store_true")
    args = ap.parse_args()
    h.require_root()
    args.net_max = min(args.net_max, 240)
    edge = args.edge if args.edge is not None else args.max >= BRIDGE_PORTS + 1
    wanted = args.systems.split(",")
    out = args.out or h.RESULTS / "scale.md"
    log: list[list[object]] = []
    t0 = time.monotonic()
    with h.PynetSandbox("scale") as pn:
        systems, live = h.systems_for(pn, wanted)
        facts = h.environment_facts(systems, pn)
        figures: dict[str, dict[str, object]] = {}
        # a probe adds one container on top of the checkpoint: the last checkpoint keeps a port free
        cmax = min(args.max, BRIDGE_PORTS - 1)
        steps = sorted({n for n in CONTAINER_STEPS if n <= cmax} | {cmax})
        tracks = [Track(s, cmax if s.name == "pynet" else min(cmax, args.anchor_max)) for s in live]
        sections = [
            "Time of ONE operation as objects pile up (whole-process wall time of the command). "
            f"Sizes used: containers on one network up to **{cmax}** for pynet and "
            f"**{min(cmax, args.anchor_max)}** for Docker/Podman (checkpoints {', '.join(map(str, steps))}); "
            f"networks up to **{args.net_max}**. {args.probes} probes per checkpoint; every timed "
            "operation is in scale.csv. `run`/`create` medians also include the last "
            f"{FILL_WINDOW} fill operations before each checkpoint. Podman's `rm -f` is given `-t 0` "
            "(kill at once, as Docker's and pynet's `rm -f` do; without it Podman waits 10 s).",
            "## Environment\n\n" + h.md_table(["fact", "value"], facts),
        ]
        verdicts: list[str] = []
        mem = ""
        control_ids: dict[str, list[str]] = {}
        try:
            for s in live:
                s.run("network", "create", "--subnet", f"10.{s.octet}.248.0/21", "pb-scale")
                s.run("network", "create", "--subnet", f"10.{s.octet}.247.0/24", CONTROL)
                control_ids[s.name] = [_id(start_container(s, CONTROL)) for _ in range(CONTROL_SIZE)]
            container_scale(tracks, steps, args.probes, log)
            mem = pynet_memory(pn)
            edge_lines: list[str] = []
            pt = next((t for t in tracks if t.system.name == "pynet"), None)
            if edge and pt is not None:
                edge_lines = edge_test(pn, pt, log)
            table, summary = curve_table(tracks, ("run", "rm", "ls"), "containers")
            figures["containers"] = {
                "what": "`run -d` / `rm -f` of one more container as containers on one network grow",
                "curve": curve_figures(tracks, ("run", "rm")),
                "flat_limit": 1.25,
            }
            verdicts += [ln for ln in summary if "PASS" in ln or "FAIL" in ln]
            verdicts += [ln for ln in edge_lines if "PASS" in ln or "FAIL" in ln]
            sections.append(
                "## Containers on one bridge: `run -d` / `rm -f` of one more, `network ls`\n\n"
                + table
                + "\n\n"
                + "\n".join(summary)
                + (f"\n\n{mem}" if mem else "")
            )
            if edge_lines:
                sections.append("## The 1024th container on one bridge\n\n" + "\n".join(edge_lines))
            elif pt is not None:
                sections.append(
                    "## The 1024th container on one bridge\n\nNot tested in this run "
                    f"(--max {args.max} < 1024; pass --edge or --max 1024)."
                )
        finally:
            print("  removing containers", file=sys.stderr, flush=True)
            for t in tracks:
                remove_containers(t.system, t.ids + control_ids.get(t.system.name, []))
                t.system.run("network", "rm", "pb-scale", CONTROL, check=False, timeout=300)
        if not args.skip_networks:
            ntracks = [Track(s, args.net_max) for s in live]
            nsteps = sorted({n for n in NETWORK_STEPS if n <= args.net_max} | {args.net_max})
            try:
                network_scale(ntracks, nsteps, args.probes, log)
                table, summary = curve_table(ntracks, ("create", "rm", "ls"), "networks")
                figures["networks"] = {
                    "what": "`network create` / `network ls` as networks grow",
                    "curve": curve_figures(ntracks, ("create", "ls")),
                    "flat_limit": 1.25,
                }
                verdicts += [ln for ln in summary if "PASS" in ln or "FAIL" in ln]
                ls_at_max = next(
                    (t.points[max(t.points)]["ls"] for t in ntracks if t.system.name == "pynet" and t.points), []
                )
                if ls_at_max:
                    v = h.Stats(ls_at_max).median
                    verdicts.append(
                        f"- `pynet network ls` with {args.net_max} networks ≤ 100 ms (B3): "
                        f"{h.ms(v)} ms → {h.verdict(v <= 0.100)}"
                    )
                sections.append(
                    "## Networks: `network create` + `network rm` of one more, `network ls`\n\n"
                    + table
                    + "\n\n"
                    + "\n".join(summary)
                )
            finally:
                for t in ntracks:
                    for i in range(0, len(t.ids), 50):
                        t.system.run("network", "rm", *t.ids[i : i + 50], check=False, timeout=600)
        sections.append("## Verdicts\n\n" + "\n".join(verdicts))
        sections.append(f"Total benchmark time: {(time.monotonic() - t0) / 60:.1f} min.")
    h.write_figures("scale", facts, figures)
    csv_path = out.with_suffix(".csv")
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "system", "operation", "existing_objects", "ms"])
        w.writerows(log)
    h.write_result(out, "Scale: one operation as containers and networks pile up", sections)


if __name__ == "__main__":
    main()

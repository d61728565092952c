"""B1 + B8: network create+rm, `network ls`, `network inspect`, `ps`, CLI start-up (--help).

    python bench/bench_cli.py [--runs 10] [--warmup 2] [--systems pynet,docker,podman]

Targets (issue #15): create+rm with default arguments ≤ 0.35× Docker and ≤ 1.5× Podman;
`network ls`, `network inspect`, `ps` ≤ 1.0× Docker. Also B8's "read-only commands never
import pyroute2, rich or asyncio" (nor re, json, dataclasses, pathlib: design.md, "Start-up"). Writes bench/results/cli.md and cli.json (the README's
table, bench/readme_table.py).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

HEAVY = ("pyroute2", "rich", "asyncio")
#: what the read-only commands fast paths never load either (docs/design.md, "Start-up")
READ_ONLY_HEAVY = (*HEAVY, "re", "json", "dataclasses", "pathlib")


def create_rm_trials(systems: list[h.System], parts: dict[str, dict[str, list[float]]]) -> dict[str, h.Trial]:
    """`network create NAME` + `network rm NAME` with default arguments (as users type them:
    IPAM picks the subnet), timed as one trial (each part kept too)."""
    trials: dict[str, h.Trial] = {}
    for s in systems:
        counter = iter(range(10**6))
        parts[s.name] = {"create": [], "rm": []}

        def trial(s: h.System = s, counter=counter) -> float:  # type: ignore[no-untyped-def]
            i = next(counter)
            name = f"pb-b1-{i}"
            t1 = s.run("network", "create", name).seconds
            t2 = s.run("network", "rm", name).seconds
            parts[s.name]["create"].append(t1)
            parts[s.name]["rm"].append(t2)
            return t1 + t2

        trials[s.name] = trial
    return trials


def _netns_of(s: h.System) -> list[str]:
    """`ip -n NS` / `ip netns exec NS` prefix for the namespace where *s* makes its bridges."""
    if s.netns:
        return ["ip", "netns", "exec", os.path.basename(s.netns)]
    ns = os.environ.get("DOCKER_NETNS", "") if s.name == "docker" else ""
    return ["ip", "netns", "exec", ns] if ns else []


def kernel_objects(s: h.System) -> str:
    """What one `network create` leaves in the kernel: new bridges, new firewall lines."""
    pre = _netns_of(s)

    def snapshot() -> tuple[set[str], int]:
        links = h.run([*pre, "ip", "-br", "link", "show", "type", "bridge"], timeout=15, check=False).stdout
        rules = h.run([*pre, "nft", "list", "ruleset"], timeout=15, check=False).stdout
        return {ln.split()[0] for ln in links.splitlines() if ln.strip()}, len(rules.splitlines())

    try:
        b0, r0 = snapshot()
        s.run("network", "create", "--subnet", f"10.{s.octet}.230.0/24", "pb-b1-objects")
        b1, r1 = snapshot()
        s.run("network", "rm", "pb-b1-objects")
        b2, r2 = snapshot()  # right after rm returned: nothing of the network may be left
    except h.CommandFailed as exc:
        return f"error: {exc}"
    new = sorted(b1 - b0)
    left = sorted(b2 & set(new))
    return (
        f"bridge at create: {'yes (' + ', '.join(new) + ')' if new else 'no'}; "
        f"nft ruleset lines +{r1 - r0}; right after rm: bridge {'STILL THERE' if left else 'gone'}, "
        f"nft ruleset lines {r2 - r0:+d} vs before create"
    )


def importtime(pn: h.PynetSandbox, *args: str) -> tuple[list[tuple[int, str]], list[str], str]:
    """(top cumulative imports in µs, heavy modules imported, error) for `pynet ARGS`."""
    s = pn.system
    # the command as users run it: the console script when installed (see PynetSandbox)
    script = s.prefix if len(s.prefix) == 1 else pn.module_prefix[1:]
    res = h.run(
        [pn.module_prefix[0], "-X", "importtime", *script, *args],
        env=s.env,
        netns=s.netns,
        timeout=60,
        check=False,
    )
    rows = []
    for line in res.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
    banned = HEAVY if args[:1] == ("--help",) else READ_ONLY_HEAVY
    heavy = sorted({name.split(".")[0] for _, _, name in rows if name.split(".")[0] in banned})
    top = sorted(((cum, name) for cum, depth, name in rows), reverse=True)[:8]
    err = "" if res.rc == 0 else f"exit {res.rc}: {(res.stderr.strip().splitlines() or [''])[-1][:160]}"
    return top, heavy, err


def read_only_imports(pn: h.PynetSandbox) -> tuple[list[list[str]], list[str]]:
    """Import cost of pynet's read-only commands; flags the imports they must not make."""
    rows, lines = [], []
    for label, cmd in (
        ("--help", ("--help",)),
        ("network ls", ("network", "ls")),
        ("network inspect", ("network", "inspect", "pb-ls")),
        ("ps", ("ps",)),
    ):
        top, heavy, err = importtime(pn, *cmd)
        if heavy:
            tail = f"imports {', '.join(heavy)} → {h.verdict(False)}"
        elif err:
            tail = f"the command failed ({err}) → {h.verdict(None)}"
        else:
            tail = f"→ {h.verdict(True)}"
        banned = HEAVY if label == "--help" else READ_ONLY_HEAVY
        lines.append(f"- `pynet {label}` imports none of {', '.join(banned)}: {tail}")
        rows.append([f"`pynet {label}`", ", ".join(f"{n} {c / 1000:.1f}" for c, n in top[:6])])
    return rows, lines


def cpu_table(pn: h.PynetSandbox, runs: int) -> list[list[str]]:
    """Median CPU time of pynet's read-only commands next to the interpreter's floor."""
    py = h.pynet_python()
    cmds = {
        "`python -c pass`": lambda: h.run([py, "-c", "pass"]),
        "`pynet network ls`": lambda: pn.system.run("network", "ls"),
        "`pynet network inspect NET`": lambda: pn.system.run("network", "inspect", "pb-ls"),
        "`pynet ps`": lambda: pn.system.run("ps"),
    }
    samples: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, fn in cmds.items():
            samples[k].append(fn().cpu)
    floor = h.Stats(samples["`python -c pass`"]).median
    return [
        [k, h.ms(h.Stats(v).median), "" if k.startswith("`python") else f"+{h.ms(h.Stats(v).median - floor)}"]
        for k, v in samples.items()
    ]


def main() -> None:
    ap = h.common_args(__doc__ or "", runs=10, warmup=2)
    args = ap.parse_args()
    h.require_root()
    wanted = args.systems.split(",")
    out = args.out or h.RESULTS / "cli.md"
    with h.PynetSandbox("cli") as pn:
        systems, live = h.systems_for(pn, wanted)
        facts = h.environment_facts(systems, pn)
        sections = [
            "Whole-process wall time of each command; rounds alternate the systems "
            f"(A B C A B C …), {args.warmup} warm-up rounds, median of {args.runs}. "
            "Ratios are medians of the per-round ratios pynet ÷ system.",
            "## Environment\n\n" + h.md_table(["fact", "value"], facts),
        ]
        verdicts: list[str] = []

        # B1 -------------------------------------------------------------------------
        print("B1 network create+rm", file=sys.stderr)
        parts: dict[str, dict[str, list[float]]] = {}
        b1 = h.alternate(create_rm_trials(live, parts), args.runs, args.warmup, "create+rm")
        objs = [f"- {s.name}: {kernel_objects(s)}" for s in live]
        part_rows = [
            [
                s.name,
                h.ms(h.Stats(parts[s.name]["create"][args.warmup :]).median),
                h.ms(h.Stats(parts[s.name]["rm"][args.warmup :]).median),
            ]
            for s in live
            if parts.get(s.name, {}).get("create")
        ]
        line, ok = h.target_line("create+rm ≤ 0.35× Docker", *h.ratio_to(b1, "docker", "create_rm", systems), 0.35)
        line_p, _ = h.target_line("create+rm ≤ 1.5× Podman", *h.ratio_to(b1, "podman", None, systems), 1.5)
        verdicts += [line, line_p]
        sections.append(
            "## B1. `network create NET` + `network rm NET` (default arguments: a bridge; IPAM picks the subnet)\n\n"
            + h.compare_table(b1, systems, "create_rm")
            + "\n\nParts (median ms):\n\n"
            + h.md_table(["system", "create", "rm"], part_rows)
            + "\n\nWhat one create leaves in the kernel (like with like):\n\n"
            + "\n".join(objs)
            + "\n\n"
            + line
            + "\n"
            + line_p
        )

        # ls / inspect -------------------------------------------------------------------
        print("network ls / inspect", file=sys.stderr)
        for s in live:
            s.run("network", "create", "--subnet", f"10.{s.octet}.231.0/24", "pb-ls", check=False)
        ls = h.alternate(
            {s.name: (lambda s=s: s.run("network", "ls").seconds) for s in live}, args.runs, args.warmup, "ls"
        )
        insp = h.alternate(
            {s.name: (lambda s=s: s.run("network", "inspect", "pb-ls").seconds) for s in live},
            args.runs,
            args.warmup,
            "inspect",
        )
        ps = h.alternate({s.name: (lambda s=s: s.run("ps").seconds) for s in live}, args.runs, args.warmup, "ps")
        cpu = cpu_table(pn, args.runs)
        imp_rows, heavy_lines = read_only_imports(pn)
        for s in live:
            s.run("network", "rm", "pb-ls", check=False)
        line_ls, _ = h.target_line("`network ls` ≤ 1.0× Docker", *h.ratio_to(ls, "docker", "ls", systems), 1.0)
        line_in, _ = h.target_line(
            "`network inspect` ≤ 1.0× Docker", *h.ratio_to(insp, "docker", "inspect", systems), 1.0
        )
        line_ps, _ = h.target_line("`ps` ≤ 1.0× Docker", *h.ratio_to(ps, "docker", None, systems), 1.0)
        verdicts += [line_ls, line_in, line_ps]
        sections.append(
            "## `network ls` (one user network + each system's defaults)\n\n"
            + h.compare_table(ls, systems, "ls")
            + "\n\n"
            + line_ls
        )
        sections.append("## `network inspect NET`\n\n" + h.compare_table(insp, systems, "inspect") + "\n\n" + line_in)
        sections.append("## `ps` (no containers)\n\n" + h.compare_table(ps, systems, None) + "\n\n" + line_ps)
        sections.append(
            "## pynet's own CPU time (user + system, median; the load shows far less in it than in wall time)\n\n"
            + h.md_table(["command", "CPU ms", "beyond `python -c pass`"], cpu)
        )
        h.write_figures(
            "cli",
            facts,
            {
                "create_rm": h.figure(
                    "`network create NET` + `network rm NET` (default arguments)",
                    b1,
                    systems,
                    {"docker": 0.35, "podman": 1.5},
                    "Podman makes no bridge until a container joins",
                ),
                "ls": h.figure("`network ls`", ls, systems, {"docker": 1.0}),
                "inspect": h.figure("`network inspect NET`", insp, systems, {"docker": 1.0}),
                "ps": h.figure("`ps`", ps, systems, {"docker": 1.0}),
            },
        )

        # B8 start-up ----------------------------------------------------------------------
        print("start-up", file=sys.stderr)
        py = h.pynet_python()
        floors = {
            "python -S -c pass": [py, "-S", "-c", "pass"],
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import click'": [py, "-c", "import click"],
        }
        trials: dict[str, h.Trial] = {k: (lambda v=v: h.run(v).seconds) for k, v in floors.items()}
        for s in live:
            trials[f"{s.name} --help"] = lambda s=s: s.run("--help").seconds
        trials["pynet --version"] = lambda: pn.system.run("--version").seconds
        start = h.alternate(trials, args.runs, args.warmup, "start-up")
        floor = start["python -c pass"].median
        rows = []
        for k, st in start.items():
            if st.ok:
                rows.append([k, h.ms(st.median), h.ms(st.p90), h.ms(st.min), f"{st.median / floor:.1f}×"])
            else:
                rows.append([k, f"error: {st.error}", "", "", ""])
        ro = {
            "`pynet --help`": start.get("pynet --help"),
            "`pynet network ls`": ls.get("pynet"),
            "`pynet network inspect`": insp.get("pynet"),
        }
        ro_lines = []
        for k, st in ro.items():
            if st is None or not st.ok:
                why = st.error if st is not None and st.error else "not measured"
                ro_lines.append(
                    f"- {k} ≤ 100 ms and ≤ 2.5× `python -c pass` (stretch goal from the research, "
                    f"not an issue bar): {why[:200]} → {h.verdict(False)}"
                )
                continue
            ok = st.median <= 0.100 and st.median <= 2.5 * floor
            ro_lines.append(
                f"- {k} ≤ 100 ms and ≤ 2.5× `python -c pass` ({h.ms(2.5 * floor)} ms; stretch goal "
                "from the research, not an issue bar): "
                f"{h.ms(st.median)} ms → {h.verdict(ok)}"
            )
        verdicts += ro_lines + heavy_lines
        sections.append(
            "## B8. CLI start-up (floors first)\n\n"
            + h.md_table(["command", "median ms", "p90 ms", "min ms", "× python -c pass"], rows)
            + "\n\n"
            + "\n".join(ro_lines)
            + "\n\nLargest cumulative imports "
            "(`python -X importtime`, ms):\n\n"
            + h.md_table(["command", "top imports"], imp_rows)
            + "\n\n"
            + "\n".join(heavy_lines)
        )
        sections.append("## Verdicts\n\n" + "\n".join(verdicts))
    h.write_result(out, "CLI benchmarks: network create/rm, ls, inspect, start-up", sections)


if __name__ == "__main__":
    main()

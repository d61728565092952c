"""B2: cost of attaching a container to a network, and of connect / disconnect.

    python bench/bench_attach.py [--runs 10] [--warmup 2] [--systems pynet,docker,podman]

attach cost = median(`run --rm --network NET true`) − median(`run --rm --network none true`)
(the whole container start minus the same start without a network). Each round runs, for
every system in turn, the NET and the none variant back to back (their order flips every
round). Target (issue #2): pynet's attach cost ≤ Podman's (~35 ms anchor).
Then `network connect NET2 C` / `network disconnect NET2 C` on a running container.
Writes bench/results/attach.md.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

PODMAN_ATTACH_ANCHOR_MS = 35.0


def run_true(s: h.System, network: str) -> float:
    return s.run("run", "--rm", *s.run_opts(), "--network", network, *s.image_args(), "true").seconds


def attach_rounds(live: list[h.System], runs: int, warmup: int) -> dict[str, tuple[h.Stats, h.Stats]]:
    """{system: (net stats, none stats)}, sampled alternately; order NET/none flips per round."""
    out = {s.name: (h.Stats(), h.Stats()) for s in live}
    for rnd in range(warmup + runs):
        for s in live:
            net, none = out[s.name]
            if net.error or none.error:
                continue
            order = [("pb-att", net), ("none", none)]
            if rnd % 2:
                order.reverse()
            for network, st in order:
                try:
                    t = run_true(s, network)
                except h.CommandFailed as exc:
                    st.error = str(exc)[:300]
                    break
                if rnd >= warmup:
                    st.samples.append(t)
        print(f"  attach: round {rnd + 1}/{warmup + runs}", file=sys.stderr, flush=True)
    return out


def attach_table(res: dict[str, tuple[h.Stats, h.Stats]], systems: list[h.System]) -> tuple[str, dict[str, float]]:
    rows, deltas = [], {}
    for s in systems:
        if s.name in res:
            net, none = res[s.name]
            if net.ok and none.ok:
                n = min(len(net.samples), len(none.samples))
                paired = statistics.median(a - b for a, b in zip(net.samples[:n], none.samples[:n]))
                deltas[s.name] = paired
                rows.append(
                    [
                        s.name,
                        h.ms(net.median),
                        h.ms(none.median),
                        h.ms(net.median - none.median),
                        f"**{h.ms(paired)}**",
                        n,
                    ]
                )
            else:
                rows.append([s.name, f"error: {net.error or none.error}", "", "", "", 0])
            continue
        a = h.ANCHORS.get(s.name, {})
        if a:
            deltas[s.name] = a["attach"] / 1000
            rows.append(
                [
                    f"{s.name} {h.ANCHOR_NOTE}",
                    f"{a['run_net']:.0f}",
                    f"{a['run_none']:.0f}",
                    f"~{a['attach']:.0f}",
                    "",
                    0,
                ]
            )
    table = h.md_table(
        [
            "system",
            "run --network NET (median ms)",
            "run --network none (median ms)",
            "difference of medians (ms)",
            "attach cost = median of per-round differences (ms)",
            "n",
        ],
        rows,
    )
    return table, deltas


def start_idle(live: list[h.System]) -> dict[str, str]:
    """One long-running container per system on pb-att: {system: container id}.

    It keeps every network "in use" during the rounds. That matters for Podman, which makes
    the bridge (and starts aardvark-dns) at the first container and removes them with the
    last: without it each `run --rm` would pay for the whole network set-up and teardown.
    """
    conts: dict[str, str] = {}
    for s in live:
        try:
            cid = (
                s.run("run", "-d", *s.run_opts(), "--network", "pb-att", *s.image_args(), "sleep", "3600")
                .stdout.strip()
                .splitlines()[-1]
            )
            conts[s.name] = cid
        except (h.CommandFailed, IndexError) as exc:
            print(f"  {s.name}: cannot start a long-running container: {exc}", file=sys.stderr)
    return conts


def stop_idle(live: list[h.System], conts: dict[str, str]) -> None:
    for s in live:
        if s.name in conts:
            s.run("rm", "-f", *(["-t", "0"] if s.name == "podman" else []), conts[s.name], check=False, timeout=120)


def connect_rounds(live: list[h.System], conts: dict[str, str], runs: int, warmup: int) -> dict[str, h.Stats]:
    """`network connect pb-att2 C` then `network disconnect pb-att2 C`, alternately per system."""
    trials: dict[str, h.Trial] = {}
    for s in live:
        if s.name not in conts:
            continue
        trials[f"{s.name} connect"] = lambda s=s: s.run("network", "connect", "pb-att2", conts[s.name]).seconds
        trials[f"{s.name} disconnect"] = lambda s=s: s.run("network", "disconnect", "pb-att2", conts[s.name]).seconds
    return h.alternate(trials, runs, warmup, "connect/disconnect")


def main() -> None:
    ap = h.common_args(__doc__ or "", runs=10, warmup=2)
    ap.add_argument("--no-connect", action="store_true", help="skip connect/disconnect")
    args = ap.parse_args()
    h.require_root()
    wanted = args.systems.split(",")
    out = args.out or h.RESULTS / "attach.md"
    with h.PynetSandbox("attach") as pn:
        systems, live = h.systems_for(pn, wanted)
        facts = h.environment_facts(systems, pn)
        for s in live:
            s.run("network", "create", "--subnet", f"10.{s.octet}.240.0/24", "pb-att")
            s.run("network", "create", "--subnet", f"10.{s.octet}.241.0/24", "pb-att2")
        sections = [
            f"Whole-process wall time; {args.warmup} warm-up rounds, median of {args.runs}; "
            "systems alternate within each round. Docker/Podman run the local busybox image "
            "(`true` applet); pynet runs the host's `true`. Each system keeps one idle "
            "container on the network during the rounds (the network is in use, as in "
            "practice; Podman would otherwise build and tear down its bridge, firewall "
            "rules and aardvark-dns on every `run --rm`). The attach cost is the median "
            "of the per-round differences (neighbouring samples, robust to load drift).",
            "## Environment\n\n" + h.md_table(["fact", "value"], facts),
        ]
        conts = start_idle(live)
        try:
            res = attach_rounds(live, args.runs, args.warmup)
            table, deltas = attach_table(res, systems)
            run_net = {name: pair[0] for name, pair in res.items()}
            fig_run = h.figure("`run --rm --network NET true`", run_net, systems, {"docker": 0.25, "podman": 1.0})
            h.write_figures(
                "attach",
                facts,
                {
                    "run_net": fig_run,
                    "attach": {
                        "what": "attach cost (`run --network NET` − `run --network none`, per-round differences)",
                        "ms": {k: round(v * 1000, 1) for k, v in deltas.items() if k in res},
                        "ratio": {},
                    },
                },
            )
            verdicts = []
            for other, limit in (("docker", 0.25), ("podman", 1.0)):
                r = fig_run["ratio"].get(other)  # type: ignore[union-attr]
                verdicts.append(
                    h.target_line(
                        f"`run --rm --network NET true` ≤ {limit:g}× {other.capitalize()}",
                        float("nan") if r is None else r,
                        "measured" if r is not None else "not measured",
                        limit,
                    )[0]
                )
            pd = deltas.get("pynet")
            if pd is not None:
                ok = pd * 1000 <= PODMAN_ATTACH_ANCHOR_MS
                verdicts.append(
                    f"- attach cost ≤ Podman's ~{PODMAN_ATTACH_ANCHOR_MS:.0f} ms (issue #2): "
                    f"pynet {h.ms(pd)} ms → {h.verdict(ok)}"
                )
                if "podman" in deltas and "podman" in res:
                    ok2 = pd <= deltas["podman"]
                    verdicts.append(
                        f"- attach cost ≤ Podman's measured here ({h.ms(deltas['podman'])} ms): → {h.verdict(ok2)}"
                    )
                if "docker" in deltas:
                    basis = "measured" if "docker" in res else "anchor"
                    verdicts.append(f"- for reference, Docker's attach cost ({basis}): {h.ms(deltas['docker'])} ms")
            sections.append(
                "## B2. `run --rm --network NET true` vs `--network none`\n\n" + table + "\n\n" + "\n".join(verdicts)
            )
            if not args.no_connect:
                cs = connect_rounds(live, conts, args.runs, args.warmup)
                rows = [
                    [k, h.ms(st.median), h.ms(st.p90), h.ms(st.min), len(st.samples)]
                    if st.ok
                    else [k, f"error: {st.error}", "", "", len(st.samples)]
                    for k, st in cs.items()
                ]
                sections.append(
                    "## `network connect NET2 C` / `network disconnect NET2 C` (running container)\n\n"
                    + h.md_table(["system / command", "median ms", "p90 ms", "min ms", "n"], rows)
                )
            sections.append("## Verdicts\n\n" + "\n".join(verdicts))
        finally:
            stop_idle(live, conts)
            for s in live:
                for net in ("pb-att", "pb-att2"):
                    s.run("network", "rm", net, check=False)
    h.write_result(out, "Attach cost: run --network NET vs --network none", sections)


if __name__ == "__main__":
    main()

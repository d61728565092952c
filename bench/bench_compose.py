#!/usr/bin/env python3
"""`compose up -d` / `down` of a 10-service, 3-network file: pynet vs Debian's docker-compose.

    bench/bench_compose.py [--runs N] [--warmup N] [--systems pynet,docker] [--out FILE]

The same file for both (``image: bb:latest``, the busybox image bench/setup_anchors.sh
imports into Docker; pynet has no such image, so it runs ``sleep`` from the host and says
so). pynet runs its console script in a throwaway namespace (PynetSandbox); Docker's side
is Debian's ``docker-compose`` 1.29 against the dockerd that ``bench/setup_anchors.sh start``
runs in its own namespace (DOCKER_HOST). Without that dockerd (or docker-compose), the
Docker rows say "not measured" and why. Each round times ``up -d`` then ``down`` for each
system in turn; medians over the measured rounds. ``down -t 0`` on both: busybox's
``sleep`` as Docker's PID 1 ignores SIGTERM, so Docker's default 10 s stop timeout would
measure only that wait.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

SERVICES = 10
NETWORKS = ("front", "back", "data")


def compose_file() -> str:
    """10 services over 3 networks (explicit subnets), some on two, one with replicas' alias."""
    lines = ["services:"]
    for i in range(SERVICES):
        nets = [NETWORKS[i % 3]] + ([NETWORKS[(i + 1) % 3]] if i % 2 == 0 else [])
        lines += [
            f"  s{i}:",
            "    image: bb:latest",
            "    command: sleep 1000000",
            "    networks:",
            *[f"      {n}:\n        aliases: [svc{i}-{n}]" for n in nets],
        ]
    lines.append("networks:")
    for j, n in enumerate(NETWORKS):
        lines += [f"  {n}:", "    ipam:", f"      config: [{{subnet: 10.{90 + j}.0.0/24}}]"]
    return "\n".join(lines) + "\n"


def timed(system: h.System, *args: str, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    h.run(system.cmd(*args), env={**system.env, **(env or {})}, netns=system.netns, timeout=300)
    return time.perf_counter() - t0


def docker_compose(docker: h.System) -> h.System:
    """Debian's docker-compose (1.29) talking to the bench dockerd, or unavailable."""
    binary = shutil.which("docker-compose")
    host = next((a for a in docker.prefix if a.startswith("unix://")), "")
    dc = h.System("docker-compose", [binary or "docker-compose"], {"DOCKER_HOST": host})
    if not docker.available:
        dc.available, dc.why_not = False, docker.why_not
    elif binary is None:
        dc.available, dc.why_not = False, "docker-compose is not installed (Debian: docker-compose)"
    return dc


def main() -> None:
    ap = h.common_args(__doc__.splitlines()[1], runs=5, warmup=1)
    args = ap.parse_args()
    h.require_root()
    wanted = args.systems.split(",")
    work = Path(tempfile.mkdtemp(prefix="pynet-bench-compose-"))
    (work / "compose.yaml").write_text(compose_file())
    try:
        with h.PynetSandbox("compose") as pn:
            systems: list[h.System] = [pn.system] if "pynet" in wanted else []
            if "docker" in wanted:
                systems.append(docker_compose(h.docker_system()))
            up = {s.name: h.Stats() for s in systems}
            down = {s.name: h.Stats() for s in systems}
            for rnd in range(args.warmup + args.runs):
                for s in systems:
                    if not s.available or up[s.name].error:
                        continue
                    base = ["-f", str(work / "compose.yaml"), "-p", "benchc"]
                    compose = ["compose", *base] if s.name == "pynet" else base
                    try:
                        t_up = timed(s, *compose, "up", "-d")
                        t_down = timed(s, *compose, "down", "-t", "0")
                    except (h.CommandFailed, OSError) as exc:
                        up[s.name].error = down[s.name].error = str(exc)[:300]
                        continue
                    if rnd >= args.warmup:
                        up[s.name].samples.append(t_up)
                        down[s.name].samples.append(t_down)
                print(f"  compose: round {rnd + 1}/{args.warmup + args.runs}", file=sys.stderr, flush=True)
            verdicts = "## Verdicts\n\n" + "\n".join(
                [_up_verdict(up), f"- compose down: pynet ÷ docker-compose = {_ratio(down)}"]
            )
            sections = [
                f"{SERVICES} services, {len(NETWORKS)} networks (the file is in bench/bench_compose.py). "
                "pynet: `pynet compose up -d` / `down`; Docker: Debian's `docker-compose` 1.29 against "
                "dockerd 20.10 (bench/setup_anchors.sh). `down -t 0` for both (see the script's docstring).",
                "## compose up -d\n\n" + _table(up, systems),
                "## compose down\n\n" + _table(down, systems),
                verdicts,
                h.environment([s for s in systems if s.name != "pynet"], pn),
            ]
            if args.out:
                h.write_result(args.out, "compose up/down", sections)
            else:
                print("\n\n".join(sections))
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: issue #15: `compose up` of a 10-service, 3-network file ≤ 0.3× Debian's docker-compose
UP_LIMIT = 0.3
_NOT_MEASURED = "not measured (Docker's side needs bench/setup_anchors.sh start and docker-compose)"


def _measured(stats: dict[str, h.Stats]) -> bool:
    pn, dc = stats.get("pynet"), stats.get("docker-compose")
    return pn is not None and dc is not None and pn.ok and dc.ok


def _up_verdict(stats: dict[str, h.Stats]) -> str:
    if not _measured(stats):
        return f"- compose up -d ≤ {UP_LIMIT:g}× docker-compose (issue #15): {_NOT_MEASURED}"
    ratio = h.pair_ratio(stats["pynet"], stats["docker-compose"])
    return h.target_line(f"compose up -d ≤ {UP_LIMIT:g}× docker-compose (issue #15)", ratio, "measured", UP_LIMIT)[0]


def _ratio(stats: dict[str, h.Stats]) -> str:
    if not _measured(stats):
        return _NOT_MEASURED
    return f"{h.pair_ratio(stats['pynet'], stats['docker-compose']):.2f}× (measured; no target in issue #15)"


def _table(stats: dict[str, h.Stats], systems: list[h.System]) -> str:
    rows = []
    pn = stats.get("pynet")
    for s in systems:
        st = stats[s.name]
        if not s.available:
            rows.append([s.name, f"not measured ({s.why_not})", "", "", 0, ""])
        elif st.error:
            rows.append([s.name, f"error: {st.error}", "", "", len(st.samples), ""])
        else:
            ratio = "1.00× (itself)" if s.name == "pynet" else h.ratio_s(h.pair_ratio(pn, st) if pn else float("nan"))
            rows.append([s.name, h.ms(st.median), h.ms(st.p90), h.ms(st.min), len(st.samples), ratio])
    return h.md_table(["system", "median ms", "p90 ms", "min ms", "n", "pynet ÷ system"], rows)


if __name__ == "__main__":
    main()

"""Issue #14: the same docker client against pynet's Engine API socket and against dockerd.

    python bench/bench_api.py [--runs 10] [--ls-runs 200] [--warmup 2] [--systems pynet,docker]

In one run, alternating rounds: `docker network ls` and `docker run --rm --network NET
bb:latest true` with the docker CLI pointed (DOCKER_HOST) at `pynet system service` in a
throwaway namespace, and the same CLI at dockerd (bench/setup_anchors.sh). pynet's image
`bb:latest` is a busybox root filesystem imported with `pynet image import`.
Writes bench/results/api.md and api.json (the README's table: `docker network ls`, goal
≤ 1.0× dockerd, issue #15).

`network ls` gets its own, larger count of rounds (``--ls-runs``), each round in turn
starting with the next system: the servers' share of the command is about 1 ms of ~25
(the rest is the client's own start-up, the same for both), so ten rounds on a shared
machine cannot tell 0.97× from 1.01× (docs/engine-api.md, "Where the time goes").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

DOCKER_CLIENT = "/usr/bin/docker"  # the same client binary for both servers
LS_RUNS = 200  # paired rounds of `network ls`: its ~2% differences need them (see the docstring)
LS_LIMIT = 1.0  # issue #15: `docker network ls` through pynet's API ≤ 1.0× the same client against dockerd


def busybox_rootfs(dest: Path) -> Path:
    (dest / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", dest / "bin" / "busybox")
    for applet in ("sh", "true", "sleep"):
        (dest / "bin" / applet).symlink_to("busybox")
    return dest


class ApiServer:
    """`pynet system service` inside the sandbox's namespace; stopped by its PID."""

    def __init__(self, pn: h.PynetSandbox) -> None:
        self.sock = str(pn.tmp / "d.sock")
        argv = [
            "nsenter",
            f"--net={pn.system.netns}",
            *pn.system.prefix,
            "system",
            "service",
            "-H",
            f"unix://{self.sock}",
        ]
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **pn.system.env}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not Path(self.sock).exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench_api: the API server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def main() -> None:
    ap = h.common_args(__doc__.splitlines()[0])
    ap.add_argument(
        "--ls-runs", type=int, default=LS_RUNS, help="measured rounds of `docker network ls` (cheap, and noisy)"
    )
    args = ap.parse_args()
    h.require_root()
    wanted = [s for s in args.systems.split(",") if s in ("pynet", "docker")]
    out = args.out or h.RESULTS / "api.md"
    with h.PynetSandbox("api") as pn:
        tmp = Path(tempfile.mkdtemp(prefix="pynet-bench-api-"))
        try:
            pn.system.run("image", "import", str(busybox_rootfs(tmp / "bb")), "bb:latest", timeout=120)
            server = ApiServer(pn)
            try:
                via_api = h.System("pynet", [DOCKER_CLIENT, "-H", f"unix://{server.sock}"])
                systems = ([via_api] if "pynet" in wanted else []) + h.anchor_systems(
                    [w for w in wanted if w == "docker"]
                )
                live = [s for s in systems if s.available]
                for s in live:
                    s.run("network", "create", "pb-api", timeout=60)
                ls = h.alternate(
                    {s.name: _trial(s, "network", "ls") for s in live}, args.ls_runs, args.warmup, "ls", rotate=True
                )
                run = h.alternate(
                    {s.name: _trial(s, "run", "--rm", "--network", "pb-api", "bb:latest", "true") for s in live},
                    args.runs,
                    args.warmup,
                    "run --rm",
                )
                for s in live:
                    s.run("network", "rm", "pb-api", timeout=60, check=False)
            finally:
                server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        facts = h.environment_facts(systems, pn)
        fig_ls = h.figure("`docker network ls` through the Engine API", ls, systems, {"docker": LS_LIMIT})
        fig_run = h.figure("`docker run --rm --network N bb true` through the Engine API", run, systems)
        h.write_figures("api", facts, {"network_ls": fig_ls, "run_rm": fig_run})
        sections = [
            f"The same client (`{DOCKER_CLIENT}`) against each server; whole-process wall time, "
            f"median of {args.ls_runs} rounds for `network ls` (each round starting with the next "
            f"server) and {args.runs} alternating rounds for `run` ({args.warmup} warm-up rounds dropped).",
            "## Environment\n\n" + h.md_table(["fact", "value"], facts),
            "## Results\n\n" + _table(systems, {"docker network ls": ls, "docker run --rm --network N bb true": run}),
            "## Verdicts\n\n" + _verdict(fig_ls),
        ]
    h.write_result(out, "The Engine API: pynet's socket vs dockerd (issues #14, #15)", sections)


def _verdict(fig: dict[str, object]) -> str:
    """Issue #15's goal for the API: the same client, pynet's socket ≤ 1.0× dockerd's."""
    r = fig["ratio"].get("docker")  # type: ignore[union-attr]
    return h.target_line(
        f"`docker network ls` against pynet ≤ {LS_LIMIT:g}× against dockerd (issue #15)",
        float("nan") if r is None else r,
        "measured" if r is not None else "not measured",
        LS_LIMIT,
    )[0]


def _trial(s: h.System, *argv: str) -> h.Trial:
    return lambda: s.run(*argv, timeout=120).seconds


def _table(systems: list[h.System], results: dict[str, dict[str, h.Stats]]) -> str:
    rows = []
    for what, stats in results.items():
        for s in systems:
            st = stats.get(s.name)
            if not s.available:
                rows.append([what, s.name, f"unavailable: {s.why_not}", "", ""])
            elif st is None or not st.ok:
                rows.append([what, s.name, f"error: {st.error if st else '?'}", "", ""])
            else:
                ratio = h.pair_ratio(stats["pynet"], st) if s.name != "pynet" and "pynet" in stats else float("nan")
                rows.append([what, s.name, h.ms(st.median), h.ms(st.p90), h.ratio_s(ratio)])
    return h.md_table(["command", "server", "median ms", "p90 ms", "pynet ÷ this"], rows)


if __name__ == "__main__":
    main()

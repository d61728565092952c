"""Where does a pynet command spend its time? Import cost, profile, child processes.

    python bench/profile_pynet.py [--repeat 5]

For `network create`, `run --rm --network NET true`, `network ls` (inside a throwaway netns):
* wall time (median of --repeat) next to `python -c pass`;
* `python -X importtime`: the largest cumulative imports and the share of all imports;
* cProfile (`python -m cProfile`): the largest functions by cumulative time, with imports
  (`<frozen importlib._bootstrap>`) shown as one line;
* child processes executed (strace -f -e execve, when strace exists): e.g. `nft` calls.
Writes bench/results/profile.md; the raw .prof files go to bench/results/raw/profile/ (not committed).
"""

from __future__ import annotations

import io
import pstats
import re
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

CASES = {
    "network create": ("network", "create", "--subnet", "10.203.77.0/24", "pp-net"),
    "run --rm --network NET true": ("run", "--rm", "--network", "pp-base", "true"),
    "network ls": ("network", "ls"),
    "network inspect NET": ("network", "inspect", "pp-base"),
}
UNDO = {"network create": ("network", "rm", "pp-net")}


def wall(pn: h.PynetSandbox, args: tuple[str, ...], repeat: int) -> float:
    out = []
    for _ in range(repeat + 1):
        out.append(pn.system.run(*args).seconds)
        if args[:2] == ("network", "create"):
            pn.system.run(*UNDO["network create"])
    return statistics.median(out[1:])


def importtime(pn: h.PynetSandbox, args: tuple[str, ...]) -> tuple[float, list[tuple[float, float, str]]]:
    """(total import ms, [(cumulative ms, self ms, module)]) sorted by cumulative."""
    s = pn.system
    res = h.run(
        [pn.module_prefix[0], "-X", "importtime", *pn.module_prefix[1:], *args], env=s.env, netns=s.netns, timeout=60
    )
    rows = []
    for line in res.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)) / 1000, int(m.group(1)) / 1000, len(m.group(3)), m.group(4)))
    if args[:2] == ("network", "create"):
        s.run(*UNDO["network create"])
    total = sum(r[1] for r in rows)
    return total, sorted(((c, se, n) for c, se, d, n in rows), reverse=True)


def package_shares(rows: list[tuple[float, float, str]]) -> list[tuple[str, float]]:
    """Self import time summed per top-level package (pynet split per subpackage)."""
    acc: dict[str, float] = {}
    for _, self_ms, name in rows:
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == "pynet" and len(parts) > 1 else parts[0]
        acc[key] = acc.get(key, 0.0) + self_ms
    return sorted(acc.items(), key=lambda kv: -kv[1])


def cprofile(pn: h.PynetSandbox, args: tuple[str, ...], label: str, outdir: Path) -> tuple[str, float]:
    s = pn.system
    prof = outdir / (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".prof")
    # `python -m pynet` leaves through os._exit (as the console script), which would skip
    # cProfile's writing the profile: run main(), which leaves through SystemExit.
    runner = outdir / "run_pynet.py"
    runner.write_text("from pynet.cli.main import main\n\nmain()\n")
    h.run(
        [pn.module_prefix[0], "-m", "cProfile", "-o", str(prof), str(runner), *args],
        env=s.env,
        netns=s.netns,
        timeout=60,
    )
    if args[:2] == ("network", "create"):
        s.run(*UNDO["network create"])
    st = pstats.Stats(str(prof), stream=io.StringIO())
    total = st.total_tt  # type: ignore[attr-defined]
    rows = []
    for (fname, line, func), (cc, nc, tt, ct, callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append((ct, tt, nc, _short(fname), line, func))
    rows.sort(reverse=True)
    # Drop import machinery and the runpy/click plumbing that is ~100 % of everything.
    skip = re.compile(r"importlib|<frozen|runpy|click/core|click/decorators|^~$|cProfile|profile")
    keep = [r for r in rows if not skip.search(r[3]) and r[5] not in ("<module>", "exec")][:18]
    imp = max((r[0] for r in rows if r[5] == "_find_and_load"), default=0.0)
    table = h.md_table(
        ["cumulative ms", "own ms", "calls", "function"],
        [[f"{ct * 1000:.1f}", f"{tt * 1000:.1f}", nc, f"`{f}:{ln}({fn})`"] for ct, tt, nc, f, ln, fn in keep],
    )
    return (
        table + f"\n\nAll imports (`_find_and_load`, cumulative): {imp * 1000:.1f} ms of "
        f"{total * 1000:.1f} ms profiled.",
        total,
    )


def _short(fname: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in fname:
            return fname.split(marker, 1)[1]
    return fname.replace(str(h.REPO) + "/", "")


def children(pn: h.PynetSandbox, args: tuple[str, ...]) -> str:
    """Programs the command executes (strace -f -e trace=execve), counted."""
    if not shutil.which("strace"):
        return "strace not installed"
    s = pn.system
    res = h.run(
        ["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", *s.cmd(*args)],
        env=s.env,
        netns=s.netns,
        timeout=60,
        check=False,
    )
    if args[:2] == ("network", "create"):
        s.run(*UNDO["network create"])
    progs: dict[str, int] = {}
    for line in res.stderr.splitlines():
        m = re.search(r'execve\("([^"]+)"', line)
        if m and "= -1" not in line:  # failed PATH lookups are not programs run
            prog = Path(m.group(1)).name
            progs[prog] = progs.get(prog, 0) + 1
    return ", ".join(f"{k} ×{v}" for k, v in sorted(progs.items(), key=lambda kv: -kv[1])) or "none"


def main() -> None:
    ap = h.common_args(__doc__ or "", runs=5, warmup=1)
    args = ap.parse_args()
    h.require_root()
    out = args.out or h.RESULTS / "profile.md"
    outdir = out.parent / "raw" / "profile"
    outdir.mkdir(parents=True, exist_ok=True)
    py = h.pynet_python()
    floor = statistics.median(h.run([py, "-c", "pass"]).seconds for _ in range(args.runs))
    floor_s = statistics.median(h.run([py, "-S", "-c", "pass"]).seconds for _ in range(args.runs))
    with h.PynetSandbox("profile") as pn:
        pn.system.run("network", "create", "--subnet", "10.203.78.0/24", "pp-base")
        sections = [
            f"pynet {h.sh(f'git -C {h.REPO} rev-parse --short HEAD')}, firewall {pn.firewall}. "
            f"Floors: `python -c pass` {h.ms(floor)} ms, `python -S -c pass` {h.ms(floor_s)} ms "
            "(the difference is site + the venv's .pth files)."
        ]
        summary = []
        for label, cmd in CASES.items():
            print(f"profile: {label}", file=sys.stderr, flush=True)
            t = wall(pn, cmd, args.runs)
            total_imp, rows = importtime(pn, cmd)
            shares = package_shares(rows)
            prof_table, _ = cprofile(pn, cmd, label, outdir)
            kids = children(pn, cmd)
            summary.append(
                [
                    f"`pynet {label}`",
                    h.ms(t),
                    f"{total_imp:.1f}",
                    ", ".join(f"{k} {v:.1f}" for k, v in shares[:5]),
                    kids,
                ]
            )
            sections.append(
                f"## `pynet {label}` — {h.ms(t)} ms wall (median of {args.runs})\n\n"
                f"Import time (self, summed per package; total {total_imp:.1f} ms):\n\n"
                + h.md_table(["package", "ms"], [[k, f"{v:.1f}"] for k, v in shares[:12]])
                + "\n\nLargest cumulative imports:\n\n"
                + h.md_table(
                    ["cumulative ms", "self ms", "module"], [[f"{c:.1f}", f"{se:.1f}", n] for c, se, n in rows[:15]]
                )
                + "\n\ncProfile, largest by cumulative time (import machinery hidden):\n\n"
                + prof_table
                + f"\n\nPrograms executed: {kids}"
            )
        pn.system.run("network", "rm", "pp-base", check=False)
    sections.insert(
        1,
        "## Summary\n\n"
        + h.md_table(["command", "wall ms", "imports ms", "top import costs (ms, self)", "programs executed"], summary),
    )
    h.write_result(out, "Where pynet's time goes", sections)


if __name__ == "__main__":
    main()

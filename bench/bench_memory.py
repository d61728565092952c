"""Memory per detached container (issue #15: ≤ 1 MiB PSS): `run -d` N `sleep` containers,
then the PSS of every pynet process that exists because of them — each container's waiter
and the waiter zygote that forked them — divided by N.

    python bench/bench_memory.py [--containers 50] [--out bench/results/memory.md]

PSS (proportional set size, /proc/PID/smaps_rollup) splits each shared page among the
processes that map it, so the sum over processes is the memory they cost together. The
containers' own `sleep` processes are not counted (Docker's and Podman's would be the same);
pynet's helper daemon (DNS) is not either: it exists with or without containers.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as h  # noqa: E402

GOAL_KIB = 1024


def rollup(pid: int) -> dict[str, int]:
    """smaps_rollup of ``pid`` in kB ({} when it is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def waiter_pids(pn: h.PynetSandbox) -> list[int]:
    """The recorded waiter (``supervisor_pid``) of every running container."""
    found = []
    for cid in pn.container_ids():
        try:
            rec = json.loads((pn.tmp / "state" / "containers" / f"{cid}.json").read_text())
        except (OSError, ValueError):
            continue
        if rec.get("status") == "running" and int(rec.get("supervisor_pid") or 0) > 1:
            found.append(int(rec["supervisor_pid"]))
    return found


def measure(pn: h.PynetSandbox, n: int) -> dict[str, object]:
    """Start ``n`` detached containers; PSS of their waiters and the zygote, per container."""
    s = pn.system
    s.run("network", "create", "--subnet", "10.203.236.0/22", "pb-mem")
    for i in range(n):
        s.run("run", "-d", "--name", f"pb-mem-{i}", "--network", "pb-mem", "sleep", "3600", timeout=60)
    time.sleep(1.0)  # let the last waiters settle into their wait
    waiters, zygotes = waiter_pids(pn), pn.zygote_pids()
    per = {pid: rollup(pid) for pid in {*waiters, *zygotes}}
    total = sum(r.get("Pss", 0) for r in per.values())
    private = [per[p].get("Private_Dirty", 0) for p in waiters if per.get(p)]
    return {
        "containers": n,
        "waiters": len(waiters),
        "zygotes": len(zygotes),
        "total_kib": total,
        "per_container_kib": round(total / n, 1) if n else None,
        "zygote_pss_kib": sum(per[p].get("Pss", 0) for p in zygotes if per.get(p)),
        "waiter_private_dirty_median_kib": statistics.median(private) if private else None,
        "waiter_pss_median_kib": statistics.median(per[p].get("Pss", 0) for p in waiters) if waiters else None,
    }


def main() -> None:
    ap = h.common_args(__doc__ or "")
    ap.add_argument("--containers", type=int, default=int(os.environ.get("BENCH_MEM_N", 50)))
    args = ap.parse_args()
    h.require_root()
    out = args.out or h.RESULTS / "memory.md"
    with h.PynetSandbox("memory") as pn:
        facts = h.environment_facts([pn.system], pn)
        m = measure(pn, args.containers)
        per = m["per_container_kib"]
        ok = per is not None and per <= GOAL_KIB  # type: ignore[operator]
        rows = [[k, v] for k, v in m.items()]
        sections = [
            f"`pynet run -d --network pb-mem sleep 3600`, {args.containers} times; then the PSS "
            "(/proc/PID/smaps_rollup) of each container's recorded waiter and of the waiter "
            "zygote(s) that forked them, summed and divided by the number of containers. The "
            "containers' own `sleep` processes and pynet's DNS helper (there with or without "
            "containers) are not counted.",
            "## Environment\n\n" + h.md_table(["fact", "value"], facts),
            "## Memory per detached container\n\n" + h.md_table(["figure", "value"], rows),
            "## Verdicts\n\n"
            f"- memory per detached container ≤ {GOAL_KIB / 1024:g} MiB PSS (issue #15): "
            f"{per} KiB → {h.verdict(ok)}",
        ]
        if per is not None:
            h.write_figures(
                "memory",
                facts,
                {
                    "memory": {
                        "what": f"memory per detached container (PSS of its waiter + its share of the zygote, "
                        f"{args.containers} `run -d`)",
                        "kib": {"pynet": per},
                        "goal_kib": GOAL_KIB,
                    }
                },
            )
        h.write_result(out, "pynet memory per detached container", sections)


if __name__ == "__main__":
    main()

"""bench/bench_scale.py's judgement (issue #15: "run/rm and DNS stay flat (±25%) from 10 to
4000 containers over 4 networks, and `network create`/`ls` stay flat to 1000 networks"):
the paired ratio decides, q/s is judged first ÷ last, and the sizes fit the kernel's limits."""

from __future__ import annotations

import importlib.util
import ipaddress
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bs():
    """bench/bench_scale.py, loaded with bench/'s own `harness` and `bench_dns`; the names are
    given back afterwards (tests/harness.py is also imported as `harness`)."""
    names = ("harness", "bench_dns", "bench_scale")
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_scale", BENCH / "bench_scale.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_scale"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        while str(BENCH) in sys.path:  # bench_scale.py puts it there too
            sys.path.remove(str(BENCH))
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


def _track(bs, name: str = "pynet"):
    return bs.Track(bs.h.System(name, [name]), 4000)


def test_issue_15_sizes_fit_the_bridge_and_the_subnets(bs) -> None:
    assert bs.SCALE_NETS * bs.PER_NET >= 4000 and bs.PER_NET + 2 <= bs.BRIDGE_PORTS
    # 4 container networks (/21: 2045 hosts each), the control, and 1000+ network /27s never overlap
    nets = [ipaddress.ip_network(f"10.203.{8 * i}.0/21") for i in range(bs.SCALE_NETS)]
    nets.append(ipaddress.ip_network("10.203.247.0/24"))
    nets += [ipaddress.ip_network(bs.subnet27(203, i)) for i in range(bs.NET_CAP)]
    nets.append(ipaddress.ip_network("10.203.250.0/24"))  # the network probe
    assert all(n.num_addresses - 3 >= 1021 for n in nets[: bs.SCALE_NETS])
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_query_names_spread_over_the_network_and_always_have_ten_lines(bs) -> None:
    names = [f"pb-s{i}" for i in range(0, 4000, 4)]
    picked = bs.query_names(names)
    assert len(picked) == 10 and picked[0] == "pb-s0" and picked[-1] == "pb-s3996" and len(set(picked)) == 10
    assert bs.query_names(["a", "b", "c"]) == ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a"]


def test_flatness_is_judged_on_the_paired_ratio(bs) -> None:
    t = _track(bs)
    # raw run time doubles (the machine got busier), but so did the control network's run:
    # paired = (big ÷ control at 4000) ÷ (the same at 10) = 1.0 -> flat
    t.points[10] = {"run": [0.080] * 3, "rm": [0.1] * 3, "ls": [0.03] * 3, "run/ctl": [1.0] * 3, "rm/ctl": [1.0] * 3}
    t.points[4000] = {"run": [0.160] * 3, "rm": [0.1] * 3, "ls": [0.03] * 3, "run/ctl": [1.0] * 3, "rm/ctl": [1.3] * 3}
    _, summary = bs.curve_table([t], ("run", "rm", "ls"), "containers", ("run", "rm"))
    run = next(line for line in summary if "`run`" in line)
    rm = next(line for line in summary if "`rm`" in line)
    assert "2.00× raw" in run and "1.00× paired" in run and run.count("PASS") == 1
    assert "1.30× paired" in rm and "FAIL" in rm  # rm grew 30% more than its control's
    ls = next(line for line in summary if "`ls`" in line)
    assert "PASS" not in ls and "FAIL" not in ls  # `network ls` with containers: reported, not a goal
    assert bs.curve_figures([t], ("run", "rm"))["pynet"] == {
        "run": [10, 80.0, 4000, 160.0, 1.0],
        "rm": [10, 100.0, 4000, 100.0, 1.3],
    }


def test_dns_flatness_judges_qps_first_over_last_and_counts_lost(bs) -> None:
    t = _track(bs)
    base = {"rcodes": "NOERROR 100%", "ctl q/s": 100_000.0, "ctl p99": 0.5, "ctl lost": 0}
    t.dns_points[10] = {**base, "q/s": 100_000.0, "p99": 0.5, "lost": 0}
    t.dns_points[4000] = {**base, "q/s": 75_000.0, "p99": 0.55, "lost": 0}  # q/s fell to 0.75×
    _, summary, curve = bs.dns_section([t])
    qps = next(line for line in summary if "q/s" in line)
    p99 = next(line for line in summary if "p99" in line)
    assert "0.75× paired" in qps and "first ÷ last = 1.33× ≤ 1.25×" in qps and "FAIL" in qps
    assert "1.10× paired" in p99 and "PASS" in p99
    assert curve["pynet"]["q/s"] == [10, 100000, 4000, 75000, 0.75]
    t.dns_points[4000]["lost"] = 3
    _, summary, _ = bs.dns_section([t])
    assert any("3 lost → **FAIL**" in line for line in summary)


def test_dns_p99_is_judged_at_the_fixed_load_and_the_saturated_one_only_reported(bs) -> None:
    """With fixed-load figures at both ends, the p99 verdict is theirs (a saturated p99 that
    doubled, 2.0× paired, fails nothing); the README curve carries the judged p99."""
    t = _track(bs)
    base = {"rcodes": "NOERROR 100%", "ctl q/s": 100_000.0, "ctl p99": 0.5, "ctl p99@": 0.3, "ctl lost": 0}
    t.dns_points[10] = {**base, "q/s": 100_000.0, "p99": 0.5, "p99@": 0.3, "lost": 0}
    t.dns_points[4000] = {**base, "q/s": 100_000.0, "p99": 1.0, "p99@": 0.42, "lost": 0}
    table, summary, curve = bs.dns_section([t])
    saturated = next(line for line in summary if "p99 saturated" in line)
    fixed = next(line for line in summary if "p99 at 20k q/s" in line)
    assert "2.00× paired" in saturated and "not judged" in saturated
    assert "PASS" not in saturated and "FAIL" not in saturated
    assert "1.40× paired" in fixed and "FAIL" in fixed  # 0.42 / 0.3 > 1.25
    assert curve["pynet"]["p99 at 20k q/s"] == [10, 0.3, 4000, 0.42, 1.4]
    assert "| pynet | 4000 | 100,000 | 1.00 | 0.42 | 0 |" in table
    t.dns_points[4000]["p99@"] = 0.33
    _, summary, _ = bs.dns_section([t])
    assert any("p99 at 20k q/s" in line and "1.10× paired" in line and "PASS" in line for line in summary)


def test_dns_paired_prefers_the_median_of_per_round_ratios(bs) -> None:
    first = {"q/s": 100.0, "ctl q/s": 50.0, "q/s/ctl": 1.0}  # medians disagree with the rounds'
    last = {"q/s": 100.0, "ctl q/s": 100.0, "q/s/ctl": 0.9}
    assert bs._dns_paired(first, last, "q/s") == pytest.approx(0.9)
    del first["q/s/ctl"], last["q/s/ctl"]
    assert bs._dns_paired(first, last, "q/s") == pytest.approx(0.5)  # 1.0 / 2.0


def test_dns_fixed_load_is_a_share_of_the_slowest_warm_up_unless_asked(bs) -> None:
    """bench_dns.py's fixed offered load: the same for every system, one each sustains."""
    dnsb = sys.modules["bench_dns"]
    assert dnsb.fixed_rate(0, {"pynet": 180_000.0, "docker": 45_600.0}) == 36_000
    assert dnsb.fixed_rate(25_000, {"pynet": 180_000.0, "docker": 45_600.0}) == 25_000
    assert dnsb.fixed_rate(0, {"pynet": float("nan")}) == dnsb.FALLBACK_RATE
    assert dnsb.fixed_rate(0, {"docker": 900.0}) == 1000


def test_kernel_threads_cpu_names_the_busiest_thread_only_when_it_shows(bs) -> None:
    """The host gauge reads /proc: a total in % of one CPU, then the busiest kernel thread."""
    out = bs.kernel_threads_cpu(0.05)
    total, _, rest = out.partition("%")
    assert total.isdigit()
    assert rest == "" or (rest.startswith(" (") and rest.endswith("%)"))


def test_dns_rounds_alternate_which_side_goes_first(bs) -> None:
    """A B, B A, A B: neighbouring runs of a round see the same load."""
    calls = []
    runs = bs._alternating("big", "ctl", 3, lambda c: calls.append(c) or len(calls))
    assert calls == ["big", "ctl", "ctl", "big", "big", "ctl"]
    assert runs == {"": [1, 4, 5], "ctl ": [2, 3, 6]}


def test_cleanup_retries_a_stuck_batch_one_by_one_and_never_raises(bs, monkeypatch, capsys) -> None:
    """dockerd once hung for good on one container: its batch must cost one short retry per
    name, the rest are still removed, and the networks part still runs after it."""
    calls: list[tuple[str, ...]] = []

    def fake_run(s, *args, timeout=300):
        calls.append(args)
        if "stuck" in args:
            raise bs.h.TimedOut(f"timed out after {timeout:.0f}s: {' '.join(args[:4])}")
        return bs.h.Result(0.0, 0, "", "")

    monkeypatch.setattr(bs, "plain_run", fake_run)
    s = _track(bs).system
    names = [f"c{i}" for i in range(60)]
    names[7] = "stuck"
    bs.remove_all(s, ("rm", "-f"), names, jobs=2)
    first, second = ("rm", "-f", *names[:50]), ("rm", "-f", *names[50:])
    assert first in calls and second in calls  # batches of 50
    singles = [c for c in calls if len(c) == 3]
    assert sorted(c[2] for c in singles) == sorted(names[:50])  # only the failed batch, one by one
    assert "stuck" in capsys.readouterr().err

    bs.remove_all(s, ("network", "rm"), ["pb-scale0", "stuck"], 1)  # reported, not raised
    assert ("network", "rm", "pb-scale0") in calls
    assert "network rm stuck" in capsys.readouterr().err


def test_cleanup_stops_retrying_once_the_engine_is_wedged(bs, monkeypatch, capsys) -> None:
    """dockerd 20.10 once stopped answering every `rm`: after WEDGED_AFTER removals time out the
    remaining names are skipped (left to setup_anchors.sh stop), instead of 60 s each for hours."""
    calls: list[tuple[str, ...]] = []

    def fake_run(s, *args, timeout=300):
        calls.append(args)
        raise bs.h.TimedOut(f"timed out after {timeout:.0f}s: {' '.join(args[:4])}")

    monkeypatch.setattr(bs, "plain_run", fake_run)
    s = _track(bs).system
    bs.remove_all(s, ("rm", "-f"), [f"c{i}" for i in range(150)], jobs=1)
    singles = [c for c in calls if len(c) == 3]
    assert len(calls) == bs.WEDGED_AFTER  # the first batch, then single names until wedged
    assert len(singles) == bs.WEDGED_AFTER - 1
    err = capsys.readouterr().err
    assert "the engine is wedged: 48 left to its own cleanup" in err
    assert "the engine is wedged: 50 left to its own cleanup" in err  # later batches not tried


def test_cleanup_keeps_retrying_names_that_fail_fast(bs, monkeypatch) -> None:
    """A fast failure (`No such container`) is not a wedge: every name is still retried."""
    calls: list[tuple[str, ...]] = []

    def fake_run(s, *args, timeout=300):
        calls.append(args)
        raise bs.h.CommandFailed(f"exit 1: {' '.join(args[:6])}: No such container")

    monkeypatch.setattr(bs, "plain_run", fake_run)
    bs.remove_all(_track(bs).system, ("rm", "-f"), [f"c{i}" for i in range(60)], jobs=2)
    assert len([c for c in calls if len(c) == 3]) == 60

"""``network diagnose``'s reasoning on synthetic facts: the foreign-firewall evaluator, how the
prediction and the probe combine, the port flag, the documented cause set, and that the
read-only commands never load it (nor rich)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.cli.diagnose import check_dst, parse_port, text_lines
from pynet.cnm.diagnose.nftpath import Packet, judge
from pynet.cnm.diagnose.verdict import CAUSES, Finding, Step, conclude
from pynet.errors import EXIT_USAGE, InvalidArgument

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def chain(name: str, *, hook: str | None = "forward", policy: str = "accept", table: str = "filter", prio: int = 0):
    spec = {"family": "ip", "table": table, "name": name, "handle": 1}
    if hook:
        spec.update(type="filter", hook=hook, prio=prio, policy=policy)
    return {"chain": spec}


def rule(chain_name: str, *expr: dict, table: str = "filter", handle: int = 10) -> dict:
    return {"rule": {"family": "ip", "table": table, "chain": chain_name, "handle": handle, "expr": list(expr)}}


def match(left: dict, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


OIF = {"meta": {"key": "oifname"}}
IIF = {"meta": {"key": "iifname"}}
DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}
TCP_DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
CT_STATE = {"ct": {"key": "state"}}
OUT = Packet("forward", "br-1", "eth0", "10.1.0.2", "198.51.100.2", "icmp")


def docker_like(*user_rules: dict) -> list[dict]:
    """Docker's FORWARD (policy drop, DOCKER-USER first) with pynet's accept rules for br-1."""
    return [
        chain("FORWARD", policy="drop"),
        chain("DOCKER-USER", hook=None),
        *user_rules,  # iptables -I FORWARD: above the jump
        rule("FORWARD", {"counter": None}, {"jump": {"target": "DOCKER-USER"}}),
        rule("DOCKER-USER", match(OIF, "br-1"), {"accept": None}),
        rule("DOCKER-USER", match(IIF, "br-1"), match(OIF, "docker0"), {"return": None}),
        rule("DOCKER-USER", match(IIF, "br-1"), match(OIF, "br-*"), {"return": None}),
        rule("DOCKER-USER", match(IIF, "br-1"), {"accept": None}),
    ]


def test_policy_drop_with_pynets_accept_rules_lets_egress_out() -> None:
    assert judge(docker_like(), OUT).verdict == "accept"


def test_policy_drop_without_them_drops_and_says_which_chain() -> None:
    v = judge([chain("FORWARD", policy="drop")], OUT)
    assert (v.verdict, v.where, v.rule) == ("drop", "table ip filter chain FORWARD: policy drop", None)


def test_to_another_pynet_bridge_falls_back_to_the_policy() -> None:
    # iifname br-1 oifname br-* return: Docker's chain decides -> its policy drop
    v = judge(docker_like(), Packet("forward", "br-1", "br-2", "10.1.0.2", "10.2.0.2", "icmp"))
    assert v.verdict == "drop" and v.where.endswith("policy drop")


def test_a_users_drop_rule_above_names_the_rule_and_its_handle() -> None:
    drop = rule("FORWARD", match(DADDR, "198.51.100.2"), {"counter": None}, {"drop": None}, handle=42)
    v = judge(docker_like(drop), OUT)
    assert v.verdict == "drop"
    assert v.where == "table ip filter chain FORWARD: rule ip daddr 198.51.100.2 counter drop"
    assert v.rule is not None and v.rule["handle"] == 42
    other = Packet("forward", "br-1", "eth0", "10.1.0.2", "198.51.100.9", "icmp")
    assert judge(docker_like(drop), other).verdict == "accept"  # positive control


@pytest.mark.parametrize(
    ("right", "op", "dropped"),
    [
        ({"prefix": {"addr": "198.51.100.0", "len": 24}}, "==", True),
        ({"prefix": {"addr": "203.0.113.0", "len": 24}}, "==", False),
        ({"set": ["192.0.2.1", "198.51.100.2"]}, "==", True),
        ("198.51.100.2", "!=", False),
    ],
)
def test_address_matches(right, op: str, dropped: bool) -> None:
    v = judge([chain("fw"), rule("fw", match(DADDR, right, op), {"drop": None})], OUT)
    assert (v.verdict == "drop") is dropped


def test_ports_protocols_and_conntrack() -> None:
    web = Packet("forward", "br-1", "eth0", "10.1.0.2", "198.51.100.2", "tcp", 80)
    drop80 = [chain("fw"), rule("fw", match(TCP_DPORT, 80), {"drop": None})]
    assert judge(drop80, web).verdict == "drop"
    assert judge(drop80, OUT).verdict == "accept"  # tcp dport never matches ICMP
    established_only = [
        chain("fw", policy="drop"),
        rule("fw", match(CT_STATE, ["established", "related"]), {"accept": None}),
    ]
    assert judge(established_only, web).verdict == "drop"  # a new connection is not established
    reject = [chain("fw"), rule("fw", match(TCP_DPORT, {"range": [1, 1024]}), {"reject": None})]
    assert judge(reject, web).verdict == "drop"


def test_jump_return_goto_and_hooks() -> None:
    rules = [
        chain("fw"),
        chain("sub", hook=None),
        rule("fw", {"jump": {"target": "sub"}}),
        rule("sub", match(OIF, "eth1"), {"drop": None}),
        rule("sub", {"return": None}),
        rule("fw", match(OIF, "eth0"), {"goto": {"target": "sub2"}}),
        chain("sub2", hook=None),
        rule("sub2", {"drop": None}),
    ]
    assert judge(rules, OUT).verdict == "drop"
    assert judge(rules, Packet("input", "br-1", "", "10.1.0.2", "10.1.0.1", "icmp")).verdict == "accept"
    assert (
        judge([chain("in", hook="input", policy="drop")], Packet("input", "br-1", "", "a", "b", "icmp")).verdict
        == "drop"
    )


def test_pynets_own_table_is_not_judged_here() -> None:
    assert judge([chain("forward", table="pynet", policy="drop")], OUT).verdict == "accept"


def test_a_rule_it_cannot_read_makes_it_unknown_never_a_guess() -> None:
    xt = rule("fw", {"xt": {"type": "match", "name": "statistic"}}, {"drop": None})
    v = judge([chain("fw"), xt], OUT)
    assert v.verdict == "unknown"
    assert v.doubts == ["table ip filter chain fw: a rule pynet cannot evaluate: xt match statistic drop"]
    # ...unless a match it can read already rules the packet out
    narrowed = rule("fw", match(DADDR, "192.0.2.9"), {"xt": {"type": "match", "name": "statistic"}}, {"drop": None})
    assert judge([chain("fw"), narrowed], OUT).verdict == "accept"


def test_a_jump_loop_ends() -> None:
    loop = [
        chain("fw"),
        chain("a", hook=None),
        rule("fw", {"jump": {"target": "a"}}),
        rule("a", {"jump": {"target": "a"}}),
    ]
    assert judge(loop, OUT).verdict == "accept"


# -- prediction + probe ------------------------------------------------------------------
STEPS = [Step("SRC running", True, "a")]
UP = {"kind": "icmp", "target": "10.1.0.3", "ok": True, "detail": "2/2 echo replies"}
DOWN = {**UP, "ok": False, "detail": "0/2 echo replies"}


def test_conclude() -> None:
    ok = conclude(STEPS, Finding(), UP)
    assert (ok.reachable, ok.cause, ok.exit_code) == (True, "ok", 0)
    blocked = conclude(STEPS, Finding("icc-disabled", "fix it"), DOWN)
    assert (blocked.reachable, blocked.cause, blocked.fix, blocked.exit_code) == (False, "icc-disabled", "fix it", 1)
    unexplained = conclude(STEPS, Finding(), DOWN)
    assert (unexplained.reachable, unexplained.cause, unexplained.exit_code) == (None, "unknown", 2)
    doubt = conclude(STEPS, Finding("foreign-firewall-drop", certain=False), DOWN)
    assert (doubt.cause, doubt.exit_code) == ("unknown", 2)
    missed = conclude(STEPS, Finding("icc-disabled"), UP)  # reality wins, and the miss is shown
    assert (missed.reachable, missed.cause) == (True, "ok")
    assert missed.steps[-1] == Step("prediction", False, "predicted icc-disabled, but the probe got through")
    unsent = conclude(STEPS, Finding("not-running", "restart"), None)
    assert (unsent.reachable, unsent.probe["kind"], unsent.exit_code) == (False, "none", 1)


def test_json_shape() -> None:
    out = conclude(STEPS, Finding("no-listener", "start it"), DOWN).to_json()
    assert list(out) == ["reachable", "cause", "steps", "probe", "fix"]
    assert out["steps"] == [{"check": "SRC running", "ok": True, "detail": "a"}]


def test_text_lines() -> None:
    d = conclude(
        [*STEPS, Step("shared network", False, "a on x, b on y")],
        Finding("no-shared-network", "pynet network connect y a"),
        DOWN,
    )
    lines = text_lines(d, "a", "b", "")
    assert lines[0] == ("", "a -> b")
    assert lines[2] == ("fail", "shared network  a on x, b on y")
    assert lines[3] == ("fail", "probe           icmp 10.1.0.3: 0/2 echo replies")
    assert lines[-1] == ("", "fix: pynet network connect y a")


@pytest.mark.parametrize(
    ("text", "want"), [("", (0, "tcp")), ("80", (80, "tcp")), ("53/udp", (53, "udp")), ("443/TCP", (443, "tcp"))]
)
def test_port_flag(text: str, want: tuple[int, str]) -> None:
    assert parse_port(text) == want


@pytest.mark.parametrize("text", ["http", "0", "65536", "80/sctp", "-1", "80/"])
def test_bad_port_flag(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_port(text)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.render().startswith(f'invalid argument "{text}" for "-p, --port" flag')


def test_the_docs_list_exactly_the_causes() -> None:
    text = (ROOT / "docs" / "diagnose.md").read_text()
    table = text.split("## Causes", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `([a-z-]+)` \|", table, re.M) == list(CAUSES)


def test_read_only_commands_never_load_diagnose_or_rich(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pynet.cli import main\n"
        "for argv in (['network', 'ls'], ['network', 'inspect', 'bridge'], ['ps', '-a'], ['inspect', 'x']):\n"
        "    try:\n"
        "        main.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'rich' or 'diagnose' in m or m.endswith('probes'))\n"
        "sys.stderr.write('MODULES=' + ','.join(bad) + '\\n')\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PYNET_STATE_DIR": str(tmp_path / "s"), "PYNET_RUN_DIR": str(tmp_path / "r")}
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert "MODULES=\n" in cp.stderr, cp.stderr


def test_terminal_view_uses_rich_and_says_the_same(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from pynet.cli import diagnose as view

    d = conclude([*STEPS, Step("route", False, "no route to [10.9.9.9]")], Finding("no-route"), DOWN)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    view.render_text(d, "a", "b", "")
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert "rich" in sys.modules
    assert "  ✘ route        no route to [10.9.9.9]\n" in out  # markup-like text is escaped, not eaten
    assert "NOT reachable: no-route" in out


@pytest.mark.parametrize("dst", ["c2", "db.example", "my_db", "10.0.0.2", "host", "web-1"])
def test_dst_that_can_be_a_name_or_address_is_walked(dst: str) -> None:
    check_dst(dst)


@pytest.mark.parametrize("dst", ["a b", "10.1.2.3/24", "999.1.1.1", "", "-x", "a;b"])
def test_dst_that_no_name_or_address_can_be_is_one_line(dst: str) -> None:
    with pytest.raises(InvalidArgument, match=f'^invalid DST "{re.escape(dst)}": expected a container') as caught:
        check_dst(dst)
    assert caught.value.exit_code == 1

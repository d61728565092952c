"""What the OTHER firewall tables do to one packet: a small evaluator of ``nft -j list ruleset``.

pynet's own tables are judged from its records (``walk``); this module follows every
foreign base chain on the packet's hook (``forward`` or ``input``; families ip and inet) in
priority order, through jumps and gotos, to a verdict. It understands the matches Docker
and a hand-written firewall use (iif/oifname with ``*`` wildcards, ip saddr/daddr with
prefixes and sets, l4proto/protocol, tcp/udp dport, ct state/status); a rule it cannot
read that would drop makes the answer "unknown" rather than a guess. docs/diagnose.md.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

OWN_TABLE = "pynet"
_VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "continue")
_NEUTRAL = ("counter", "log", "comment", "notrack")


@dataclass
class Packet:
    """The first packet of a connection as a hook sees it (IPv4)."""

    hook: str  # "forward" | "input"
    iif: str
    oif: str  # "" on input
    saddr: str
    daddr: str
    l4proto: str  # "icmp" | "tcp" | "udp"
    dport: int = 0
    dnat: bool = False  # the packet was DNATed to a published port (ct status dnat)


@dataclass
class Verdict:
    """``verdict`` is "accept", "drop" or "unknown"; ``where`` names the chain and rule."""

    verdict: str
    where: str = ""
    doubts: list[str] = field(default_factory=list)
    rule: dict[str, Any] | None = None  # the dropping rule (family, table, chain, handle); None for a policy


def judge(ruleset: list[dict[str, Any]], pkt: Packet) -> Verdict:
    """The verdict of every foreign base chain on ``pkt``'s hook, in priority order."""
    rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for obj in ruleset:
        if "rule" in obj:
            r = obj["rule"]
            rules.setdefault((r["family"], r["table"], r["chain"]), []).append(r)
    bases = [o["chain"] for o in ruleset if "chain" in o and _applies(o["chain"], pkt)]
    doubts: list[str] = []
    for chain in sorted(bases, key=lambda c: _prio(c.get("prio"))):
        found: list[dict[str, Any]] = []
        outcome, where = _run(chain["family"], chain["table"], chain["name"], rules, pkt, doubts, 0, found)
        if outcome is None and chain.get("policy") == "drop":
            outcome, where, found = "drop", f"{_name(chain)}: policy drop", []
        if outcome == "drop":
            return Verdict("drop", where, doubts, found[0] if found else None)
    return Verdict("unknown" if doubts else "accept", "", doubts)


def _applies(chain: dict[str, Any], pkt: Packet) -> bool:
    return (
        chain.get("hook") == pkt.hook
        and chain.get("family") in ("ip", "inet")
        and chain.get("table") != OWN_TABLE
        and chain.get("type", "filter") == "filter"
    )


def _prio(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _name(chain: dict[str, Any]) -> str:
    return f"table {chain['family']} {chain['table']} chain {chain['name']}"


def _run(
    family: str,
    table: str,
    chain: str,
    rules: dict[Any, list[dict[str, Any]]],
    pkt: Packet,
    doubts: list[str],
    depth: int,
    found: list[dict[str, Any]],
) -> tuple[str | None, str]:
    """("accept"|"drop", where) or (None, "") when the chain returns or falls through."""
    if depth > 16:  # nft itself refuses deeper jump stacks; a loop ends here too
        return None, ""
    name = f"table {family} {table} chain {chain}"
    for rule in rules.get((family, table, chain), []):
        matched, verdict = _rule(rule.get("expr", []), pkt)
        if matched is False or verdict is None:
            continue
        kind, target = verdict
        if matched is None:
            if kind in ("drop", "reject", "jump", "goto"):
                doubts.append(f"{name}: a rule pynet cannot evaluate: {_describe(rule)}")
            continue
        if kind in ("accept", "drop", "reject"):
            found.append(rule)
            return ("accept" if kind == "accept" else "drop"), f"{name}: rule {_describe(rule)}"
        if kind in ("jump", "goto"):
            outcome, where = _run(family, table, target, rules, pkt, doubts, depth + 1, found)
            if outcome is not None or kind == "goto":
                return outcome, where
            continue
        if kind == "return":
            return None, ""
    return None, ""


def _rule(exprs: list[dict[str, Any]], pkt: Packet) -> tuple[bool | None, tuple[str, str] | None]:
    """(matched: True/False/None=unknown, (verdict, jump target) or None)."""
    matched: bool | None = True
    for expr in exprs:
        key = next(iter(expr), "")
        if key in _VERDICTS:
            value = expr[key]
            return matched, (key, value.get("target", "") if isinstance(value, dict) else "")
        if key in _NEUTRAL:
            continue
        result = _match(expr["match"], pkt) if key == "match" else None
        if result is False:
            return False, None
        if result is None:
            matched = None
    return matched, None


def _match(m: dict[str, Any], pkt: Packet) -> bool | None:
    have = _field(m.get("left"), pkt)
    if have is _UNKNOWN:
        return None
    if have is _ABSENT:  # e.g. tcp dport on an ICMP packet: the match fails
        return False
    hit = _compare(have, m.get("right"))
    if hit is None:
        return None
    op = m.get("op", "==")
    if op in ("==", "in"):
        return hit
    if op == "!=":
        return not hit
    return None


_UNKNOWN = object()
_ABSENT = object()


def _field(left: Any, pkt: Packet) -> Any:
    if not isinstance(left, dict):
        return _UNKNOWN
    if "meta" in left:
        key = left["meta"].get("key")
        return {
            "iifname": pkt.iif,
            "oifname": pkt.oif,
            "iif": pkt.iif,
            "oif": pkt.oif,
            "l4proto": pkt.l4proto,
            "nfproto": "ipv4",
        }.get(key, _UNKNOWN)
    if "payload" in left:
        proto, name = left["payload"].get("protocol"), left["payload"].get("field")
        if proto == "ip":
            return {"saddr": pkt.saddr, "daddr": pkt.daddr, "protocol": pkt.l4proto}.get(name, _UNKNOWN)
        if proto in ("tcp", "udp", "th") and name == "dport":
            return pkt.dport if proto in ("th", pkt.l4proto) else _ABSENT
        return _UNKNOWN
    if "ct" in left:
        key = left["ct"].get("key")
        if key == "state":
            return {"new"}
        if key == "status":
            return {"dnat"} if pkt.dnat else set()
    return _UNKNOWN


def _compare(have: Any, right: Any) -> bool | None:
    if isinstance(have, set):  # ct flags: any of the named bits
        wanted = right if isinstance(right, list) else [right]
        return any(w in have for w in wanted) if all(isinstance(w, str) for w in wanted) else None
    if isinstance(right, dict) and "set" in right:
        results = [_compare(have, item) for item in right["set"]]
        return True if True in results else (None if None in results else False)
    if isinstance(right, dict) and "prefix" in right:
        return _in_prefix(have, right["prefix"])
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        return low <= have <= high if isinstance(have, int) and isinstance(low, int) else None
    if isinstance(right, str) and isinstance(have, str):
        if right.startswith("@"):
            return None  # a named set: not evaluated
        return fnmatch.fnmatchcase(have, right) if right.endswith("*") else have == right
    if isinstance(right, int) and isinstance(have, int):
        return have == right
    return None


def _in_prefix(have: Any, prefix: dict[str, Any]) -> bool | None:
    try:
        return ipaddress.ip_address(have) in ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}", strict=False)
    except (ValueError, KeyError, TypeError):
        return None


def _describe(rule: dict[str, Any]) -> str:
    """A rule in about nft's words ("ip daddr 198.51.100.2 counter drop"), for people."""
    words = []
    for expr in rule.get("expr", []):
        key = next(iter(expr), "")
        if key == "match":
            m = expr["match"]
            op = "" if m.get("op") in ("==", "in", None) else f"{m['op']} "
            words.append(f"{_left_text(m.get('left'))} {op}{_right_text(m.get('right'))}")
        elif key in ("jump", "goto"):
            words.append(f"{key} {expr[key].get('target', '')}")
        elif key == "xt" and isinstance(expr[key], dict):  # an iptables extension
            words.append(f"xt {expr[key].get('type', '')} {expr[key].get('name', '')}")
        elif key in _VERDICTS or key in _NEUTRAL:
            words.append(key)
        else:
            words.append(key)
    text = " ".join(words) or f"handle {rule.get('handle', '?')}"
    return text + (f" comment {rule['comment']!r}" if rule.get("comment") else "")


def _left_text(left: Any) -> str:
    if isinstance(left, dict) and "meta" in left:
        return str(left["meta"].get("key"))
    if isinstance(left, dict) and "payload" in left:
        return f"{left['payload'].get('protocol')} {left['payload'].get('field')}"
    if isinstance(left, dict) and "ct" in left:
        return f"ct {left['ct'].get('key')}"
    return "?"


def _right_text(right: Any) -> str:
    if isinstance(right, dict) and "prefix" in right:
        return f"{right['prefix'].get('addr')}/{right['prefix'].get('len')}"
    if isinstance(right, dict) and "set" in right:
        return "{ " + ", ".join(_right_text(x) for x in right["set"]) + " }"
    if isinstance(right, dict) and "range" in right:
        return "-".join(str(x) for x in right["range"])
    if isinstance(right, list):
        return ",".join(str(x) for x in right)
    return f'"{right}"' if isinstance(right, str) and not right[:1].isdigit() else str(right)

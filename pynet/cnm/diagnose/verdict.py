"""The answer of ``network diagnose``: the steps checked, the cause, the probe, the fix.

Pure data and rules: which causes exist (the documented set, docs/diagnose.md), how a
prediction and the real probe combine into the verdict, and the exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

#: cause -> what it means (docs/diagnose.md lists the same set; a unit test keeps them equal)
CAUSES = {
    "ok": "the packet gets through",
    "not-running": "SRC (or the DST container) is not running",
    "no-shared-network": "SRC and DST share no network, and pynet isolates networks",
    "name-not-resolved": "SRC's DNS (127.0.0.11) does not know the name",
    "no-route": "SRC has no route to the address",
    "no-such-address": "the address is in a pynet network, but no container has it",
    "icc-disabled": "the network has enable_icc=false: its containers cannot talk to each other",
    "internal-network": "an --internal network forwards nothing in or out",
    "forwarding-off": "the host does not forward IPv4 (net.ipv4.ip_forward=0)",
    "foreign-firewall-drop": "a firewall chain that is not pynet's drops the packet",
    "link-down": "an interface on the path is down",
    "link-loss": "link shaping on the path loses every packet (100% loss)",
    "no-listener": "nothing listens on DST's port",
    "port-not-published": "the host does not publish that port (or only on 127.0.0.1)",
    "unknown": "every check passed but the probe failed, or pynet cannot evaluate a firewall rule",
}
EXIT_REACHABLE, EXIT_UNREACHABLE, EXIT_UNKNOWN = 0, 1, 2


@dataclass
class Step:
    """One hop or check on the path, in the order a packet meets it."""

    check: str
    ok: bool
    detail: str


@dataclass
class Finding:
    """What the checks predict: the first failing check's cause and the command that fixes it."""

    cause: str = "ok"
    fix: str = ""
    certain: bool = True  # False: a rule pynet cannot read might decide (cause "unknown" if the probe fails)


@dataclass
class Diagnosis:
    """The verdict (``reachable``), why (``cause``), how we know (``steps``, ``probe``), ``fix``."""

    reachable: bool | None
    cause: str
    steps: list[Step] = field(default_factory=list)
    probe: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    @property
    def exit_code(self) -> int:
        if self.reachable is None:
            return EXIT_UNKNOWN
        return EXIT_REACHABLE if self.reachable else EXIT_UNREACHABLE

    def to_json(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "cause": self.cause,
            "steps": [{"check": s.check, "ok": s.ok, "detail": s.detail} for s in self.steps],
            "probe": self.probe,
            "fix": self.fix,
        }


def conclude(steps: list[Step], finding: Finding, probe: dict[str, Any] | None) -> Diagnosis:
    """Combine the prediction with the probe: the probe is what happened, the checks say why.

    No probe (SRC not running, name not resolved): the finding stands. A probe that
    contradicts a certain prediction is reported as such: through despite a cause means
    pynet's model missed an allow (reachable, cause "ok", a failing "prediction" step);
    blocked with every check green means pynet cannot tell why (exit 2, "unknown").
    """
    if probe is None:
        probe = {"kind": "none", "ok": False, "detail": "not sent: " + CAUSES[finding.cause]}
        return Diagnosis(finding.cause == "ok", finding.cause, steps, probe, finding.fix)
    if probe["ok"]:
        if finding.cause != "ok" and finding.certain:
            steps = [*steps, Step("prediction", False, f"predicted {finding.cause}, but the probe got through")]
        return Diagnosis(True, "ok", steps, probe, "")
    if finding.cause == "ok" or not finding.certain:
        return Diagnosis(None, "unknown", steps, probe, finding.fix)
    return Diagnosis(False, finding.cause, steps, probe, finding.fix)

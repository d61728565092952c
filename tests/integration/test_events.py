"""`pynet events`: the events of real network and container operations, compared field by
field with what Docker 20.10's `docker events --format '{{json .}}'` printed for the same
operations (tests/reference/docker-events/)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from harness import Host

pytestmark = pytest.mark.integration

REF = Path(__file__).resolve().parent.parent / "reference" / "docker-events"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _docker(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (REF / name).read_text().splitlines() if line.strip()]


def _docker_event(action: str, type_: str, **attrs: str) -> dict[str, Any]:
    """The first event of the reference with this type/action (and attribute values)."""
    for ev in _docker("ev.json"):
        if ev["Type"] == type_ and ev["Action"] == action:
            if all(ev["Actor"]["Attributes"].get(k) == v for k, v in attrs.items()):
                return ev
    raise AssertionError(f"no {type_} {action} in the reference")


def _shape(ev: dict[str, Any]) -> tuple[list[str], list[str], dict[str, type]]:
    """What must be equal between Docker's event and ours: key order, attribute keys, types."""
    return list(ev), sorted(ev["Actor"]["Attributes"]), {k: type(v) for k, v in ev.items()}


def _events(host: Host, *args: str) -> list[dict[str, Any]]:
    out = host.pynet("events", "--since", "0", "--until", "0s", "--format", "{{json .}}", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_events_replay_docker_shape(host: Host) -> None:
    host.pynet("network", "create", "n1")
    host.pynet("run", "-d", "--name", "c1", "--network", "n1", "sleep", "100")
    host.pynet("network", "create", "n2")
    host.pynet("network", "connect", "n2", "c1")
    host.pynet("network", "disconnect", "n2", "c1")
    host.pynet("run", "--name", "c2", "--network", "none", "true")
    host.pynet("run", "--rm", "--network", "n1", "sh", "-c", "exit 3", check=False)
    host.pynet("rm", "-f", "c1")
    host.pynet("rm", "c2")
    host.pynet("network", "rm", "n1")
    host.pynet("network", "prune", "-f")

    got = _events(host)
    ids = {n: host.pynet("network", "inspect", "-f", "{{.Id}}", n).stdout.strip() for n in ("none", "bridge")}
    seq = [(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in got]
    c1 = next(e["Actor"]["ID"] for e in got if e["Type"] == "container" and e["Actor"]["Attributes"]["name"] == "c1")
    # Docker's order for run -d: container create, network connect, container start
    assert seq[:4] == [
        ("network", "create", "n1"),
        ("container", "create", "c1"),
        ("network", "connect", "n1"),
        ("container", "start", "c1"),
    ]
    assert ("network", "connect", "none") in seq and ("network", "disconnect", "none") in seq
    rm_anon = [s for s in seq if s[0] == "container" and s[2] not in ("c1", "c2")]
    assert [s[1] for s in rm_anon] == ["create", "start", "die", "destroy"]
    assert seq[-3:] == [("network", "destroy", "n1"), ("network", "destroy", "n2"), ("network", "prune", None)]

    # field by field against Docker's events for the same operations
    pairs = [
        (_docker_event("create", "network", name="n1"), ("network", "create", "n1")),
        (_docker_event("connect", "network", name="n1"), ("network", "connect", "n1")),
        (_docker_event("disconnect", "network", name="n2"), ("network", "disconnect", "n2")),
        (_docker_event("connect", "network", name="none"), ("network", "connect", "none")),
        (_docker_event("destroy", "network", name="n2"), ("network", "destroy", "n2")),
        (_docker_event("prune", "network"), ("network", "prune", None)),
        (_docker_event("create", "container", name="c1"), ("container", "create", "c1")),
        (_docker_event("start", "container", name="c1"), ("container", "start", "c1")),
        (_docker_event("die", "container", name="c1"), ("container", "die", "c1")),
        (_docker_event("destroy", "container", name="c1"), ("container", "destroy", "c1")),
    ]
    for ref, key in pairs:
        ours = got[seq.index(key)]
        ref = {k: v for k, v in ref.items() if k != "from"}  # Docker's image; pynet runs host commands
        ref_attrs = {k: v for k, v in ref["Actor"]["Attributes"].items()}
        ours_attrs = dict(ours["Actor"]["Attributes"])
        assert "image" not in ours_attrs and ref_attrs.pop("image", "bb") == "bb"  # no image: no key
        assert list(ours) == list(ref), key
        assert sorted(ours_attrs) == sorted(ref_attrs), key
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in ref.items()}, key
        assert ours["scope"] == "local" and ours["time"] == ours["timeNano"] // 10**9
        if ref["Actor"]["ID"]:
            assert HEX64.match(ours["Actor"]["ID"])
        else:
            assert ours["Actor"]["ID"] == ""  # prune: no actor, as Docker
        if ours["Type"] == "container":
            assert ours["status"] == ours["Action"] and ours["id"] == ours["Actor"]["ID"]
    assert got[seq.index(("network", "connect", "n1"))]["Actor"]["Attributes"]["container"] == c1
    assert got[seq.index(("network", "connect", "none"))]["Actor"]["ID"] == ids["none"]
    assert got[seq.index(("container", "die", "c1"))]["Actor"]["Attributes"]["exitCode"] == "137"
    assert got[seq.index(("network", "prune", None))]["Actor"]["Attributes"] == {"reclaimed": "0"}
    times = [e["timeNano"] for e in got]
    assert times == sorted(times)


def test_events_filters_formats_and_errors(host: Host) -> None:
    host.pynet("network", "create", "n1")
    host.pynet("run", "--name", "c2", "--network", "n1", "sh", "-c", "exit 4", check=False)

    # Docker: container=NAME keeps only that container's own events (no network events)
    c2 = _events(host, "--filter", "container=c2")
    assert [e["Action"] for e in c2] == ["create", "start", "die"]
    assert c2[-1]["Actor"]["Attributes"]["exitCode"] == "4"
    nets = _events(host, "--filter", "type=network", "--filter", "event=connect")
    assert [(e["Action"], e["Actor"]["Attributes"]["name"]) for e in nets] == [("connect", "n1")]
    assert _events(host, "--filter", "network=n1", "--filter", "event=destroy") == []
    assert len(_events(host, "--filter", "foo=bar")) == 6  # an unknown key: ignored, as Docker's daemon
    assert _events(host, "--since", "1h", "--until", str(time.time() - 3600)) == []

    text = host.pynet("events", "--since", "10m", "--until", "0s").stdout.splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) network create [0-9a-f]{64} \(name=n1, type=bridge\)",
        text[0],
    )
    assert re.fullmatch(r".* container die [0-9a-f]{64} \(exitCode=4, name=c2\)", text[-2])
    tmpl = host.pynet(
        "events", "--since", "10m", "--until", "0s", "--format", "{{.Type}} {{.Status}} {{.Actor.Attributes.name}}"
    )
    assert tmpl.stdout.splitlines()[:2] == ["network  n1", "container create c2"]

    bad = host.pynet("events", "--since", "bogus", check=False)
    assert (bad.returncode, bad.stderr) == (1, 'failed to parse value as time or duration: "bogus"\n')
    bad = host.pynet("events", "--filter", "foo", check=False)
    assert bad.returncode == 125
    assert bad.stderr.startswith('invalid argument "foo" for "-f, --filter" flag: bad format of filter')


def test_events_follow_live_until_interrupted(host: Host) -> None:
    host.pynet("network", "create", "before")  # not shown: no --since
    proc = subprocess.Popen(
        host.pynet_argv("events", "--format", "json"),
        env=host.env,
        cwd=host.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # let it open the log
        host.pynet("network", "create", "live1")
        line = proc.stdout.readline()  # type: ignore[union-attr]
        ev = json.loads(line)
        assert (ev["Type"], ev["Action"], ev["Actor"]["Attributes"]["name"]) == ("network", "create", "live1")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert (proc.returncode, out, err) == (0, "", "")  # Ctrl-C: quietly, exit 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_events_until_in_future_stops_then(host: Host) -> None:
    until = str(time.time() + 1.5)
    proc = subprocess.Popen(
        host.pynet_argv("events", "--until", until, "--format", "{{.Action}}"),
        env=host.env,
        cwd=host.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.3)
        host.pynet("network", "create", "soon")
        out, _ = proc.communicate(timeout=15)
        assert (proc.returncode, out) == (0, "create\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

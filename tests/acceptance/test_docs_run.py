"""`make demo` and the README's "A 5-minute tour", run as written in a throwaway host.

The tour's commands are parsed out of README.md (so the page cannot rot): every ``# cmd``
line runs in a shell inside the host and must succeed; the lines under it are what the
page says it prints, compared with hex IDs, interface indexes and column padding relaxed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from harness import REPO_ROOT, Host

pytestmark = pytest.mark.acceptance

TOUR_HEADING = "## A 5-minute tour"


def tour_steps(readme: str) -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) for each ``# `` line of the tour's console block."""
    section = readme.split(TOUR_HEADING, 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("# "):
            steps.append((line[2:], []))
        elif line.strip():
            assert steps, f"output before any command in the tour: {line!r}"
            steps[-1][1].append(line)
    return steps


def output_pattern(line: str) -> re.Pattern[str]:
    """A README output line as a regex: IDs, ifindexes and padding may differ."""
    if line.endswith("...(64 hex)"):
        return re.compile(r"[0-9a-f]{64}")
    parts = []
    for word in line.split():
        if re.fullmatch(r"[0-9a-f]{12}", word):
            parts.append(r"[0-9a-f]{12}")
        else:
            parts.append(re.sub(r"@if[0-9]+", lambda _m: r"@if[0-9]+", re.escape(word)))
    return re.compile(r"\s+".join(parts))


def test_tour_parser_reads_commands_and_outputs() -> None:
    steps = tour_steps(f"x\n{TOUR_HEADING}\n\n```console\n# a  # note\nout 1\n\n# b\n```\n# c\n")
    assert steps == [("a  # note", ["out 1"]), ("b", [])]
    assert output_pattern("eth0@if7   UP   10.1.0.2/24").fullmatch("eth0@if123 UP 10.1.0.2/24")
    assert output_pattern("5d0c6f2d2a8b   bridge").fullmatch("0123456789ab bridge")
    assert not output_pattern("80/tcp -> 0.0.0.0:8080").fullmatch("80/tcp -> 0.0.0.0:8081")


def test_readme_tour_runs_as_written(host: Host) -> None:
    steps = tour_steps((REPO_ROOT / "README.md").read_text())
    assert len(steps) >= 15, "the tour lost its commands"
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    for command, expected in steps:
        cp = host.sh("/bin/sh", "-ec", command, check=False, env=env, timeout=60)
        assert cp.returncode == 0, f"README tour step failed: # {command}\n{cp.stdout}{cp.stderr}"
        if expected:
            got = [line.strip() for line in cp.stdout.splitlines() if line.strip()]
            assert len(got) == len(expected), (
                f"# {command}\nREADME says:\n" + "\n".join(expected) + f"\ngot:\n{cp.stdout}"
            )
            for want, have in zip(expected, got):
                assert output_pattern(want).fullmatch(have), f"# {command}\nREADME says: {want}\ngot:         {have}"
    # the tour cleans up after itself
    assert host.pynet("ps", "-aq").stdout == ""
    assert host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split() == ["bridge", "host", "none"]
    assert not [link for link in host.ip_json("link") if link["ifname"].startswith(("br-", "veth"))]


def test_make_demo(host: Host) -> None:
    env = {
        "PYNET_DEMO_STATE": str(host.root / "demo-state"),
        "PYNET_DEMO_RUN": str(host.root / "demo-run"),
        "PYNET": str(Path(sys.executable).parent / "pynet"),
        "MAKEFLAGS": "",
    }
    cp = host.sh("make", "-C", REPO_ROOT, "--no-print-directory", "demo", check=False, env=env, timeout=300)
    assert cp.returncode == 0, f"make demo failed\n{cp.stdout}\n{cp.stderr}"
    out = cp.stdout
    assert "Demo done: everything it made is removed." in out
    # the walkthrough's proof points, as the demo printed them
    assert re.search(r"^c1 \d+\.\d+\.\d+\.\d+/\d+$", out, re.M) and re.search(r"^c2 ", out, re.M)
    assert len(re.findall(r"1 packets transmitted, 1 (?:packets )?received", out)) == 2, out  # c1 -> c2, --rm -> c1
    # and nothing is left in the host
    assert [link["ifname"] for link in host.ip_json("link")] == ["lo"]
    assert not (host.root / "demo-state").exists() and not (host.root / "demo-run").exists()

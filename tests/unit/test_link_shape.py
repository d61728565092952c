"""Link shaping settings: tc's notation in, one InvalidArgument line naming the setting out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pynet.errors import EXIT_ERROR, InvalidArgument
from pynet.records.links import LinkShape, parse_link_shape

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"rate": "10mbit"}, LinkShape(rate_bps=10_000_000)),
        ({"rate": "512kbit"}, LinkShape(rate_bps=512_000)),
        ({"rate": "1.5Mbit"}, LinkShape(rate_bps=1_500_000)),
        ({"rate": "2mbps"}, LinkShape(rate_bps=16_000_000)),
        ({"delay": "50ms", "jitter": "5ms"}, LinkShape(delay_us=50_000, jitter_us=5_000)),
        ({"delay": "1s"}, LinkShape(delay_us=1_000_000)),
        ({"loss": "10%"}, LinkShape(loss=10.0)),
        ({"loss": 10}, LinkShape(loss=10.0)),  # a YAML number
        ({"loss": "0.5%", "duplicate": "1%", "corrupt": "2"}, LinkShape(loss=0.5, duplicate=1.0, corrupt=2.0)),
        ({"rate": None, "loss": ""}, LinkShape()),
    ],
)
def test_parses_tc_notation(settings: dict, expected: LinkShape) -> None:
    assert parse_link_shape(settings) == expected


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"rate": "fast"}, "invalid rate 'fast'"),
        ({"rate": "10"}, "invalid rate '10'"),
        ({"rate": "100gbit"}, "between 1kbit and 32gbit"),
        ({"rate": "8bit"}, "invalid rate '8bit': must be between 1kbit and 32gbit"),  # the kernel refused it
        ({"delay": "50"}, "invalid delay '50': expected a duration with a unit"),
        ({"delay": "2min"}, "invalid delay '2min'"),
        ({"loss": "150%"}, "invalid loss '150%'"),
        ({"loss": "-1%"}, "invalid loss '-1%'"),
        ({"jitter": "5ms"}, "jitter needs a delay"),
        ({"latency": "5ms"}, "unknown link setting 'latency' (known: rate, delay, jitter, loss, duplicate, corrupt)"),
    ],
)
def test_bad_values_are_one_line_naming_the_setting(settings: dict, words: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_link_shape(settings)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == EXIT_ERROR


def test_text_round_trips_and_set_is_additive() -> None:
    shape = parse_link_shape({"rate": "12345bit", "delay": "1500us", "loss": "0.25%"})
    assert shape.to_text() == {"rate": "12.345kbit", "delay": "1.5ms", "loss": "0.25%"}
    assert parse_link_shape(shape.to_text()) == shape
    merged = shape.merged(parse_link_shape({"rate": "1gbit"}))
    assert merged.to_text() == {"rate": "1gbit", "delay": "1.5ms", "loss": "0.25%"}
    assert merged.netem_settings() == ["delay"] and merged.needs_netem()
    assert LinkShape().is_empty() and not LinkShape(loss=1).needs_netem()
    # `link set --jitter` alone adds to a stored delay; without one the merge refuses it
    jitter = parse_link_shape({"jitter": "5ms"}, partial=True)
    assert merged.merged(jitter).to_text()["jitter"] == "5ms"
    with pytest.raises(InvalidArgument, match="jitter needs a delay"):
        LinkShape().merged(jitter)


def test_link_modules_and_the_supported_question_stay_light() -> None:
    """Read-only paths (inspect's view, `link show`, `pynet info`) import neither pyroute2
    nor rich: the netem probe is one raw rtnetlink request (or a sysfs look without root)."""
    code = (
        "import sys\n"
        "import pynet.cnm.controller, pynet.cnm.views, pynet.cli.link, pynet.kernel.tc, pynet.kernel.linkloss\n"
        "from pynet.cnm.links import supported_impairments\n"
        "got = supported_impairments()\n"
        "assert got['rate'] and got['loss'] and len(set(got[k] for k in ('delay', 'jitter', 'duplicate', 'corrupt'))) == 1\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'rich')))\n"
    )
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "[]"

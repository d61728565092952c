"""Every command this session added shows an example in its --help (a new user's first stop)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from pynet.cli.app import cli

pytestmark = pytest.mark.unit

COMMANDS = [
    "compose up",
    "compose down",
    "compose ps",
    "compose config",
    "link set",
    "link show",
    "link clear",
    "network create",
    "network rm",
    "network update",
    "network ls",
    "network inspect",
    "network diagnose",
    "topology",
    "events",
    "info",
    "version",
    "image import",
    "system service",
    "run",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    example = re.split(r"Examples?:", result.output, maxsplit=1)
    assert len(example) == 2, f"pynet {command} --help has no example"
    assert example[1].lstrip().startswith("pynet " + command.split()[0]), example[1][:80]

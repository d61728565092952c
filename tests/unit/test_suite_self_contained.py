"""The suite runs from a clone alone: no test reads the project's workspace outside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]
# Absolute paths a test may name: the kernel's and the OS's, never a workspace or home.
OUTSIDE = re.compile(r"""["'](/(?:work|home|root|srv|opt|mnt)/[^"']*)["']""")
# The workspace's shared folder, named anywhere (code or docstring): a clone does not have it.
SHARED = re.compile(r"(?:\.\./|/work/)shared/[\w./-]*")


def test_no_test_names_a_path_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(TESTS)}: {m.group(1)}"
        for path in sorted(TESTS.rglob("*.py"))
        for m in OUTSIDE.finditer(path.read_text())
    ]
    assert found == []


def test_no_test_points_at_the_workspace_shared_folder() -> None:
    found = [
        f"{path.relative_to(TESTS)}: {m.group(0)}"
        for path in sorted(TESTS.rglob("*.py"))
        for m in SHARED.finditer(path.read_text())
    ]
    assert found == []


def test_reference_outputs_are_in_the_repository() -> None:
    ref = TESTS / "reference"
    assert (ref / "README.md").is_file()
    names = {p.name for p in (ref / "docker").iterdir()}
    assert {"inspect-container-web1.json", "container-view.txt", "ls.txt"} <= names
    readme = (ref / "README.md").read_text()
    assert all(name in readme for name in names if not name.startswith("ls")), "provenance of every file"

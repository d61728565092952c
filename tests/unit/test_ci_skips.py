"""With CI set, a skipped integration/acceptance test fails the run (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]

SAMPLE = """
import pytest

def test_skips():
    pytest.skip("no frobnicator here")
"""
UNIT_SAMPLE = (
    SAMPLE
    + """
def test_runs():
    assert True
"""
)


def _run_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    """pytest on a copy of the real conftest + harness with one integration and one unit file."""
    for name in ("conftest.py", "harness.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    for folder in ("integration", "unit"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"test_{folder}_sample.py").write_text(UNIT_SAMPLE if folder == "unit" else SAMPLE)
    (tmp_path / "integration" / "test_whole_module.py").write_text(
        'import pytest\npytest.skip("no widget", allow_module_level=True)\n'
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n unit\n integration\n acceptance\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_turns_a_skipped_integration_test_into_a_failure(tmp_path: Path) -> None:
    cp = _run_suite(tmp_path, "true")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    failed = [ln for ln in cp.stdout.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 1 and "integration/test_integration_sample.py::test_skips" in failed[0], cp.stdout
    assert "skipped in CI" in failed[0]  # with the skip's reason (as non-root: "need root")
    # the unit skip stays a skip (unit tests may skip: libraries, byte order)
    assert "1 failed, 1 passed, 1 skipped, 1 error" in cp.stdout, cp.stdout
    assert "test_whole_module.py skipped as a whole in CI" in cp.stdout


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_without_ci_a_skip_is_a_skip(tmp_path: Path, ci: str | None) -> None:
    cp = _run_suite(tmp_path, ci)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "1 passed, 3 skipped" in cp.stdout, cp.stdout

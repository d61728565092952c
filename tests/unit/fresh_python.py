"""Run code in a fresh interpreter that imports pynet from this checkout (what a module
loads, or what a process-wide setting does, cannot be seen from inside the test process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_code(code: str) -> str:
    """Its stdout; a non-zero exit fails the test (CalledProcessError)."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        check=True,
    )
    return out.stdout

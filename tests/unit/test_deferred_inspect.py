"""Read-only commands do not load ``inspect`` (issue #15: where the time beyond Python's own
start goes); the stand-in ``pynet/__init__.py`` installs still behaves as the module."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def _run(code: str) -> str:
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout.strip()


def test_the_read_path_imports_neither_inspect_nor_its_modules() -> None:
    out = _run(
        "import sys\n"
        "import pynet.cnm.views, pynet.cnm.reader, pynet.state.store, pynet.records.model\n"
        "real = type(sys.modules['inspect']).__name__ == 'module'\n"
        "print(real, sorted(m for m in ('ast', 'dis', 'tokenize') if m in sys.modules))\n"
    )
    assert out == "False []"


def test_the_stand_in_loads_the_real_module_on_first_use() -> None:
    out = _run(
        "import sys\n"
        "import pynet, inspect\n"
        "print(inspect.signature(lambda a, b=1: 0), inspect.isclass(int))\n"
        "from inspect import getdoc\n"
        "print(sys.modules['inspect'].getdoc is getdoc, type(sys.modules['inspect']).__name__)\n"
    )
    assert out.splitlines() == ["(a, b=1) True", "True module"]

"""The daemon and its client stay light: no pyroute2 (the daemon setns-es), no rich."""

from __future__ import annotations

import pytest

from fresh_python import run_code

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "module", ["pynet.daemon.client", "pynet.daemon.main", "pynet.daemon.server", "pynet.daemon.sandbox_dns"]
)
def test_module_imports_neither_pyroute2_nor_rich(module):
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'rich'))\n"
        "print(','.join(bad))"
    )
    stdout = run_code(code)
    assert stdout.strip() == ""

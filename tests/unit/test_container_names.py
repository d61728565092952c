"""Container names generated like Docker's namesgenerator."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_generated_names_never_run_out() -> None:
    # Docker's namesgenerator appends a digit on retries: 2000 unnamed containers all differ.
    from pynet.cnm.containers import _generate_name

    taken: dict[str, str] = {}
    for i in range(2000):
        name = _generate_name(taken, f"{i:064x}")
        assert name not in taken
        taken[name] = str(i)

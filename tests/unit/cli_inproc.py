"""Run the pynet CLI in this process against a temp state dir, with the kernel fenced off.

Any path that would build the core's Controller (the only way to kernel work, locks and
signals) raises ``KernelReached`` instead, which the CLI's error boundary does not catch:
so a test sees exactly what pynet does *before* it would touch the kernel.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


class KernelReached(BaseException):
    """pynet got as far as building its controller (kernel work would follow)."""


@dataclass
class Result:
    code: int | None          # None: the command reached the controller
    out: str
    err: str


def fence_kernel(monkeypatch: pytest.MonkeyPatch, state: Path, run: Path) -> None:
    """Point pynet at ``state``/``run`` and make the controller unreachable."""
    from pynet.cnm import controller

    def refuse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise KernelReached()

    monkeypatch.setattr(controller.Controller, "__init__", refuse)
    monkeypatch.setenv("PYNET_STATE_DIR", str(state))
    monkeypatch.setenv("PYNET_RUN_DIR", str(run))
    monkeypatch.delenv("PYNET_DEBUG", raising=False)


def invoke(args: list[str], stdin: str = "") -> Result:
    """``pynet <args>`` through the real entry (fast path, click, the error boundary)."""
    from pynet.cli.main import _dispatch, boundary

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code: int | None = boundary(lambda: _dispatch(list(args)))
    except KernelReached:
        code = None
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, out.getvalue(), err.getvalue())

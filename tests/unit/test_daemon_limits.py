"""pynetd raises its open-file limit: every served sandbox holds at least two sockets."""

from __future__ import annotations

import pytest

from fresh_python import run_code

pytestmark = pytest.mark.unit


def test_the_daemon_raises_its_soft_nofile_limit_to_the_hard_one():
    code = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))\n"
        "from pynet.daemon.main import _raise_fd_limit\n"
        "_raise_fd_limit()\n"
        "soft, hard2 = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "want = 1 << 20 if hard == resource.RLIM_INFINITY else hard\n"
        "print(soft == want and hard2 == hard, soft, hard)\n"
    )
    stdout = run_code(code)
    assert stdout.startswith("True"), stdout

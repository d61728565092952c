"""What a detached container's supervisor runs while the container lives: wait, then record.

Run by a bare interpreter (``python -S``; see ``pynet.kernel.supervisor``) so a waiting
container costs a few MB: this module imports nothing but ``os`` and ``sys``. The
container process is its child (it started it before exec'ing this), so it can wait for it.
"""

import os
import sys


def exit_code(status: int) -> int:
    """Docker's exit code for a wait status: the code, or 128+N when signal N killed it."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main(argv: list[str]) -> None:
    """``PID CONTAINER_ID [CONTAINER_DIR]``: wait for PID, then ``pynet _exited ID CODE``."""
    pid, container_id = int(argv[0]), argv[1]
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    # A fresh interpreter with the normal start-up (site, the installed pynet) records it.
    os.execv(sys.executable, [sys.executable, "-m", "pynet", "_exited", container_id, str(exit_code(status))])

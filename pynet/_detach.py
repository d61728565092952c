"""What pynet's detached per-host processes share: the waiter zygote (``kernel/zygote.py``)
and the warm server (``warm/``) are each started by a command, in the background, and
outlive it.

Built-in modules only (``os``, ``sys``): the warm server's client runs this before
anything else (``pynet/warm/client.py``), and the layer rules let both the kernel and the
warm server use it because it imports nothing of pynet.
"""

from __future__ import annotations

import os
import sys


def spawn(argv: list[str], keep: int) -> None:
    """Exec ``argv`` detached: not our child (a double fork: it is nobody's zombie but
    init's), in its own session, in ``/``, stdio on /dev/null, holding only ``keep``, as
    its fd 3 (not our state lock or a container's owner lock: not its to hold)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # else the child's copy of a buffer could be written twice
    middle = os.fork()
    if middle == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.dup2(keep, 3)
                os.set_inheritable(3, True)  # a no-op dup2 (it was fd 3) keeps close-on-exec
                os.closerange(4, 1 << 20)
                os.chdir("/")
                os.execv(argv[0], argv)
        finally:
            os._exit(0)
    os.waitpid(middle, 0)

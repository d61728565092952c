"""The small process that waits for a detached container (conmon's job in Podman).

Started by ``pynet run -d`` as ``python -m pynet.kernel.supervisor SPEC.json`` in its own
session. It starts the container (``pynet.kernel.process.start``), tells the CLI the pid
(or the launch error) on stdout, then waits. When the container exits it execs
``python -m pynet _exited ID CODE``, which records the exit (and cleans up for --rm)
under the state lock. It imports nothing heavy: a waiting supervisor costs ~10 MB.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from pynet.kernel.process import LaunchError, LaunchSpec, start, wait_status


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        raw = json.load(f)
    container_id = raw.pop("container_id")
    log_path = raw.pop("log_path")
    spec = LaunchSpec(**raw)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    null_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    spec.stdin, spec.stdout, spec.stderr = null_fd, log_fd, log_fd
    try:
        pid = start(spec)
    except LaunchError as exc:
        sys.stdout.write(json.dumps({"error": str(exc), "exit_code": exc.exit_code}) + "\n")
        sys.stdout.flush()
        return
    os.close(log_fd)
    os.close(null_fd)
    sys.stdout.write(json.dumps({"pid": pid}) + "\n")
    sys.stdout.flush()
    # The CLI reads until EOF: release it, and keep nothing of its terminal.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _, status = os.waitpid(pid, 0)
    code = wait_status(status)
    os.execv(sys.executable, [sys.executable, "-m", "pynet", "_exited", container_id, str(code)])


if __name__ == "__main__":
    main(sys.argv[1])

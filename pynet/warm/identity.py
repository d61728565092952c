"""What a warm server and its clients agree on: the commands served, the identity, the files.

Imports only built-in modules (``os``, ``sys``; :mod:`pynet._detach` likewise): the client runs it before anything else.

A forked child adopts what the command can observe of its client (argv, environment, cwd,
root, umask, nice value, stdio, network and mount namespaces: :mod:`pynet.warm.server`).
What it cannot adopt is the *identity*: a client whose identity differs from a server's
reaches another server (the socket's name carries a hash of it) or none, and runs the
command in-process. The server compares the whole text, per request.
"""

from __future__ import annotations

import os
import sys

from pynet import _detach

#: bump when the messages change: a server of another protocol has another socket name
PROTOCOL = 1
#: ``network <verb>``s run by the server (every other command runs in-process)
SERVED = frozenset({"create", "rm", "remove", "connect", "disconnect", "prune"})
#: namespaces a process cannot enter for one command (net and mnt are adopted)
_NAMESPACES = ("user", "pid", "uts", "ipc", "cgroup", "time")
#: environment read once at the interpreter's start (the locale: open()'s default encoding)
_START_ENV = ("LANG", "LC_ALL", "LC_CTYPE")


def served(args: list[str]) -> bool:
    """True for the commands a warm server runs: ``network create|rm|connect|disconnect|prune``."""
    return len(args) >= 2 and args[0] == "network" and args[1] in SERVED


def identity() -> bytes:
    """This process's identity: credentials, CPU and memory affinity, namespaces, cgroup,
    resource limits, interpreter and its start environment, import path, and the protocol."""
    parts = [f"protocol {PROTOCOL}", sys.executable, str(sys.hexversion), "\0".join(sys.path)]
    env = os.environ
    parts += [f"{k}={env[k]}" for k in sorted(env) if k.startswith("PYTHON") or k in _START_ENV]
    parts += _detach.status_lines(_detach.INHERITED_STATUS) + _detach.namespace_lines(_NAMESPACES)
    parts += [_detach.read_text("/proc/self/cgroup"), _detach.read_text("/proc/self/limits")]
    return "\n".join(parts).encode()


def files(run_dir: str, ident: bytes) -> tuple[str, str, str]:
    """(socket, pid file, lock file) of the warm server for ``ident`` in ``run_dir``."""
    return _detach.files(run_dir, "warm-", ident)


def run_root() -> str:
    """``$PYNET_RUN_DIR`` or its default (as :func:`pynet.paths.run_root`, without importing it)."""
    return os.environ.get("PYNET_RUN_DIR") or "/run/pynet"

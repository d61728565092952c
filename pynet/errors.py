"""The one exception hierarchy of pynet.

Every layer raises these; the CLI maps them at ONE boundary (``pynet.cli.main``) to a
one-line message on stderr and an exit code. Messages use Docker's wording.

``from_daemon`` mirrors where Docker's message comes from: errors that Docker's daemon
reports are printed as ``Error response from daemon: <msg>``, client-side ones bare
(``no matching subnet for gateway ...``); ``prefix`` overrides both (``Error: No such
network: x``) — so a user (or a script) sees the same line as with Docker.

Every exit code a user can see is one of the constants below or a container's own code.
"""

from __future__ import annotations

EXIT_ERROR = 1  # Docker: a command failed
EXIT_USAGE = 125  # Docker: a flag/usage error, or ``run`` failed before the command ran
EXIT_CANNOT_INVOKE = 126  # Docker: the container's command cannot be invoked
EXIT_NOT_FOUND = 127  # Docker: the container's command does not exist


class PynetError(Exception):
    """Base of every error pynet reports to the user."""

    exit_code: int = EXIT_ERROR
    from_daemon: bool = True
    prefix: str | None = None
    #: lines printed before the error (e.g. what a rollback could not remove)
    warnings: tuple[str, ...] = ()

    def __init__(self, message: str, *, from_daemon: bool | None = None, prefix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if from_daemon is not None:
            self.from_daemon = from_daemon
        if prefix is not None:
            self.prefix = prefix

    def render(self) -> str:
        """The one line printed on stderr."""
        if self.prefix is not None:
            return self.prefix + self.message
        return ("Error response from daemon: " if self.from_daemon else "") + self.message


class NotFound(PynetError):
    """A network, container, endpoint or kernel object does not exist."""


class NoSuchNetwork(NotFound):
    """The network named by the user does not exist (``network rm -f`` ignores it)."""

    prefix = "Error: "

    def __init__(self, ref: str) -> None:
        super().__init__(f"No such network: {ref}")
        self.ref = ref


class Conflict(PynetError):
    """A name, address, subnet or port is already taken, or an object is in use."""


class PoolOverlap(Conflict):
    """A subnet overlaps one in use (dockerd answers it with 403, not 409)."""


class InvalidArgument(PynetError):
    """Bad user input (flags, options, CIDRs, filters)."""


class Forbidden(PynetError):
    """The operation is not allowed on this object (e.g. removing a built-in network)."""


class Unavailable(PynetError):
    """A resource is exhausted or a dependency cannot be reached (pool, etcd, plugin)."""


class Unsupported(PynetError):
    """This kernel or build cannot do what was asked (ipvlan, 802.1q, ESP...)."""


class StateCorrupt(PynetError):
    """A state file cannot be read; the message names the file."""

    prefix = "Error: "


class StateTooNew(StateCorrupt):
    """A state file written by a newer pynet; the message says to upgrade."""


class KernelError(PynetError):
    """A netlink/nftables/namespace operation failed."""


class LaunchFailed(PynetError):
    """A container's command could not be started (Docker: 126 cannot invoke, 127 not found)."""

    def __init__(self, message: str, exit_code: int, *, from_daemon: bool | None = None) -> None:
        super().__init__(message, from_daemon=from_daemon)
        self.exit_code = exit_code


class RunFailed(PynetError):
    """``run`` failed before the container's command ran: Docker prints ``docker: <line>.``

    The exit code is 125, or the launch failure's own (126/127).
    """

    def __init__(self, cause: PynetError) -> None:
        super().__init__(cause.render())
        self.exit_code = cause.exit_code if isinstance(cause, LaunchFailed) else EXIT_USAGE

    def render(self) -> str:
        line = self.message if self.message.endswith(".") else self.message + "."
        return "pynet: " + line


class ExitStatus(PynetError):
    """Leave with this code and print nothing more (a container's own code, or 1 after
    a command already printed its per-item errors, as ``docker rm a b`` does)."""

    def __init__(self, code: int) -> None:
        super().__init__("")
        self.exit_code = code

    def render(self) -> str:
        return ""


class Timeout(Unavailable):
    """A bounded wait ran out (lock, plugin, helper daemon)."""

"""Starting, waiting for and entering container processes (a mixin of the Controller).

The container is committed (status "created") before its process starts, so the embedded
DNS and other commands already see it; a command that cannot be started undoes the
sandbox and keeps a "created" record, as Docker does.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet import paths
from pynet.records.model import Container
from pynet.kernel import pids
from pynet.errors import Conflict, LaunchFailed, PynetError
from pynet.faults import fault


class ProcessControl:
    """Process side of containers: run (foreground or detached), exec, liveness."""

    launch_spec: Any
    launch_failed: Any
    record_started: Any
    container_exited: Any
    reader: Any
    owner_of: Any
    reap_orphans: Any

    def start_detached(self, c: Container, env: dict[str, str]) -> None:
        """Start ``c`` under a supervisor; returns once its process runs."""
        owner = self.owner_of(c)
        spec = self.launch_spec(c, env=env)
        d = paths.container_dir(c.id)
        try:
            fault("container_start")
            pid, start, sup, sup_start = _runtime().start_detached(
                spec, container_id=c.id, log_path=str(d / "container.log"), container_dir=str(d)
            )
            owner.note_pid(pid, start)
        except LaunchFailed as exc:
            self.launch_failed(c, exc.exit_code)
            owner.release()
            raise _launch_failed(exc) from None
        except BaseException:
            owner.close()  # the file stays, unlocked: reaped as a dead owner's
            self.reap_orphans()
            raise
        self.record_started(c, pid, sup, pid_start=start, supervisor_start=sup_start)
        owner.release()  # from now on the supervisor records the exit

    def run_foreground(self, c: Container, env: dict[str, str]) -> int:
        """Start ``c`` as our child, forward signals, wait; returns its exit code."""
        owner = self.owner_of(c)
        spec = self.launch_spec(c, env=env)
        master = -1
        try:
            fault("container_start")
            if c.tty:
                pid, master = _runtime().start_with_terminal(spec)
            else:
                pid = _runtime().start_foreground(spec)
        except LaunchFailed as exc:
            self.launch_failed(c, exc.exit_code)
            owner.release()
            raise _launch_failed(exc) from None
        except BaseException:
            owner.close()  # the file stays, unlocked: reaped as a dead owner's
            self.reap_orphans()
            raise
        start = _runtime().pid_start_time(pid)
        owner.note_pid(pid, start)
        me = os.getpid()
        self.record_started(c, pid, me, pid_start=start, supervisor_start=pids.pid_start_time(me))
        code = _runtime().wait_forwarding(pid, master=master, stdin=c.interactive)
        self.container_exited(c.id, code)
        owner.release()  # held until the exit is recorded: if we die, the next command does it
        return code

    def exec_in(
        self,
        ref: str,
        argv: list[str],
        env: dict[str, str],
        *,
        workdir: str,
        detach: bool,
        tty: bool,
        interactive: bool = False,
    ) -> int:
        """Run ``argv`` inside a running container's namespaces; its exit code (0 with detach)."""
        c = self.reader().get_container(ref)
        if not self.is_running(c):
            raise PynetError(f"Container {c.id} is not running")
        if not env.get("HOSTNAME"):
            env["HOSTNAME"] = c.hostname
        spec = _runtime().LaunchSpec(argv=argv, env=env, join_pid=c.pid, workdir=workdir or c.workdir)
        if detach:
            spec.new_session = True
            devnull = os.open(os.devnull, os.O_RDWR)
            spec.stdin = spec.stdout = spec.stderr = devnull
        master = -1
        try:
            if tty and not detach:
                pid, master = _runtime().start_with_terminal(spec)
            else:
                pid = _runtime().start_foreground(spec)
        except LaunchFailed as exc:
            raise LaunchFailed(
                f"OCI runtime exec failed: exec failed: unable to start container process: {exc.message}: unknown",
                exc.exit_code,
                from_daemon=False,
            ) from None
        return 0 if detach else _runtime().wait_forwarding(pid, master=master, stdin=interactive)

    def exec_start(
        self, ref: str, argv: list[str], env: dict[str, str], *, workdir: str, stdio: tuple[int, int, int] | None
    ) -> tuple[int, int]:
        """Start ``argv`` in a running container with ``stdio`` (fds for 0, 1, 2; None: a
        new pty, ``Tty``) as our child, for the Engine API's exec; (its pid, the pty's
        master or -1). Wait with :meth:`wait_child`."""
        c = self.reader().get_container(ref)
        if not self.is_running(c):
            raise Conflict(f"Container {c.id} is not running")
        if not env.get("HOSTNAME"):
            env["HOSTNAME"] = c.hostname
        spec = _runtime().LaunchSpec(argv=argv, env=env, join_pid=c.pid, workdir=workdir or c.workdir)
        spec.new_session = True  # the server's signals are not the exec'd process's
        try:
            if stdio is None:
                pid, master = _runtime().start_with_terminal(spec, (0, 0))  # the client resizes it
                return int(pid), int(master)
            spec.stdin, spec.stdout, spec.stderr = stdio
            return int(_runtime().start_foreground(spec)), -1
        except LaunchFailed as exc:
            raise LaunchFailed(
                f"OCI runtime exec failed: exec failed: unable to start container process: {exc.message}: unknown",
                exc.exit_code,
            ) from None

    def wait_child(self, pid: int) -> int:
        """The exit code of a process this one started (:meth:`exec_start`)."""
        return int(_runtime().wait(pid))

    def is_running(self, c: Container) -> bool:
        return container_running(c)


def container_running(c: Container) -> bool:
    """Recorded as running and its process is alive."""
    return c.status == "running" and pids.pid_alive(c.pid, c.pid_start)


def resize_terminal(c: Container, rows: int, cols: int) -> None:
    """The Engine API's resize of a running ``-t`` container's pty (else nothing to do)."""
    if c.tty and container_running(c):
        resize_process_terminal(c.pid, rows, cols)


def resize_process_terminal(pid: int, rows: int, cols: int) -> None:
    """Resize the pty that is process ``pid``'s stdin, if it is one (an exec's too)."""
    if rows and cols:
        from pynet.kernel import terminal

        terminal.resize_process(pid, (rows, cols))


def _launch_failed(exc: LaunchFailed) -> LaunchFailed:
    """The kernel's launch failure in the words of Docker's daemon (``run``, ``start``)."""
    return LaunchFailed(f"failed to create task: {exc.message}: unknown", exc.exit_code)


def _runtime():  # type: ignore[no-untyped-def]
    """``pynet.kernel.runtime`` (process start-up), imported only by commands that start one."""
    from pynet.kernel import runtime

    return runtime

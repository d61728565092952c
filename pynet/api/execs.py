"""``/containers/{id}/exec`` and ``/exec/{id}/start|json|resize``: ``docker exec``.

An exec instance lives in this server's memory (as in dockerd, they do not survive a
restart): create records what to run, start runs it inside the container's namespaces
(``Controller.exec_start``) with pipes for its output, sends stdout and stderr as frames
on the hijacked connection (raw with a TTY), waits for it and keeps its exit code for
``GET /exec/{id}/json`` — which the docker CLI reads right after the stream ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field

from pynet.api import core, streams
from pynet.api.attach import terminal_size
from pynet.api.http import Request, Response, json_response
from pynet.errors import Conflict, InvalidArgument, NotFound
from pynet.ids import new_id

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any, BinaryIO


@dataclass
class ExecInstance:
    """One ``docker exec`` (dockerd's ``ExecConfig``)."""

    id: str
    container_id: str
    argv: list[str]
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0


EXECS: dict[str, ExecInstance] = {}
_LOCK = threading.Lock()
MAX_EXECS = 4096  # finished instances beyond this are forgotten, oldest first


def _container_env(hostname: str, given: list[str], tty: bool) -> dict[str, str]:
    from pynet.cnm.containers import DEFAULT_PATH

    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root"}
    if tty:
        env["TERM"] = "xterm"
    for item in given:
        key, _, value = item.partition("=")
        if key:
            env[key] = value
    return env


def create(req: Request) -> Response:
    """``POST /containers/{id}/exec`` -> 201 ``{"Id"}``; 409 when the container is not running."""
    from pynet.cnm.processes import container_running

    body = req.json(required=True)
    c = core.reader().get_container(req.params["id"])
    if not container_running(c):
        raise Conflict(f"Container {c.id} is not running")
    cmd = body.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not isinstance(cmd, list) or not cmd or not all(isinstance(a, str) for a in cmd):
        raise InvalidArgument("No exec command specified")
    env = body.get("Env") or []
    if not isinstance(env, list) or not all(isinstance(e, str) for e in env):
        raise InvalidArgument("invalid Env: expected a list of strings")
    inst = ExecInstance(
        id=new_id(),
        container_id=c.id,
        argv=list(cmd),
        env=list(env),
        workdir=str(body.get("WorkingDir") or ""),
        tty=bool(body.get("Tty")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout", True)),
        attach_stderr=bool(body.get("AttachStderr", True)),
    )
    with _LOCK:
        _forget_old()
        EXECS[inst.id] = inst
    return json_response({"Id": inst.id}, status=201)


def _forget_old() -> None:
    if len(EXECS) < MAX_EXECS:
        return
    for key in [k for k, v in EXECS.items() if v.exit_code is not None][: len(EXECS) - MAX_EXECS + 1]:
        del EXECS[key]


def _get(exec_id: str) -> ExecInstance:
    inst = EXECS.get(exec_id)
    if inst is None:
        raise NotFound(f"No such exec instance: {exec_id}")
    return inst


def start(req: Request) -> Response:
    """``POST /exec/{id}/start``: run it; attached (hijacked stream) unless ``Detach``."""
    body = req.json()
    inst = _get(req.params["id"])
    with _LOCK:
        if inst.started:
            raise Conflict(f"Exec {inst.id} is already running" if inst.running else f"exec {inst.id} has already run")
        inst.started = True
    tty = bool(body.get("Tty", inst.tty))
    if body.get("Detach"):
        pid = _launch(inst, tty, detach=True)[0]
        threading.Thread(target=_reap, args=(inst, pid), daemon=True).start()
        return Response(status=200)
    reader, writer = req.hijack(
        "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    )
    try:
        pid, pipes, stdin_w = _launch(inst, tty, detach=False)
    except Exception as exc:  # the stream is ours now: the error goes in it, as dockerd's
        inst.running, inst.exit_code = False, getattr(exc, "exit_code", 126)
        with contextlib.suppress(OSError):
            writer.write(streams.encode(f"{getattr(exc, 'message', exc)}\r\n".encode(), tty=tty, stream=streams.STDERR))
            writer.flush()
        return Response(hijacked=True)
    if stdin_w >= 0:
        threading.Thread(target=_copy_stdin, args=(reader, stdin_w), daemon=True).start()
    _pump(pipes, writer, tty)
    _reap(inst, pid)
    return Response(hijacked=True)


def _launch(inst: ExecInstance, tty: bool, *, detach: bool) -> tuple[int, dict[int, int], int]:
    """Start the process; (pid, {read fd: stream}, stdin write fd or -1)."""
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    pipes: dict[int, int] = {}
    child_fds = [devnull, devnull, devnull]
    stdin_w = -1
    terminal = tty and not detach  # its own pty, as dockerd's: one raw stream both ways
    if not detach and not terminal:
        if inst.attach_stdin:
            r, stdin_w = os.pipe2(os.O_CLOEXEC)
            child_fds[0] = r
        if inst.attach_stdout:
            r, w = os.pipe2(os.O_CLOEXEC)
            pipes[r], child_fds[1] = streams.STDOUT, w
        if inst.attach_stderr:
            if tty and inst.attach_stdout:
                child_fds[2] = child_fds[1]  # one stream with a TTY
            else:
                r, w = os.pipe2(os.O_CLOEXEC)
                pipes[r], child_fds[2] = streams.STDERR, w
    c = core.reader().get_container(inst.container_id)
    env = _container_env(c.hostname, inst.env, tty)
    try:
        with core.controller() as ctl:  # under the server's mutation lock: a quiet moment to fork
            stdio = None if terminal else tuple(child_fds)
            pid, master = ctl.exec_start(inst.container_id, inst.argv, env, workdir=inst.workdir, stdio=stdio)
    except BaseException:
        for fd in pipes:
            os.close(fd)
        if stdin_w >= 0:
            os.close(stdin_w)
        raise
    finally:
        for fd in set(child_fds):
            os.close(fd)
    if master >= 0:
        pipes, stdin_w = {master: streams.STDOUT}, (os.dup(master) if inst.attach_stdin else -1)
    inst.pid, inst.running = pid, True
    return pid, pipes, stdin_w


def _pump(pipes: dict[int, int], writer: BinaryIO, tty: bool) -> None:
    """Copy the process's output to the client until both pipes are closed."""
    import select

    open_fds = dict(pipes)
    client_ok = True
    try:
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [])
            for fd in ready:
                try:
                    data = os.read(fd, streams.CHUNK)
                except OSError:  # a pty master once the process's side is closed: EIO
                    data = b""
                if not data:
                    os.close(fd)
                    del open_fds[fd]
                    continue
                if client_ok:
                    try:
                        writer.write(streams.encode(data, tty=tty, stream=open_fds[fd]))
                        writer.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        client_ok = False  # keep draining: the process must not block on a full pipe
    finally:
        for fd in open_fds:
            os.close(fd)


def _copy_stdin(reader: BinaryIO, fd: int) -> None:
    try:
        while data := reader.read1(streams.CHUNK) if hasattr(reader, "read1") else reader.read(streams.CHUNK):
            os.write(fd, data)
    except OSError:
        pass  # the client or the process went away: stdin simply ends
    finally:
        os.close(fd)


def _reap(inst: ExecInstance, pid: int) -> None:
    """Wait for the process (our child) and keep its code for inspect."""
    code = core.waiting_controller().wait_child(pid)
    inst.running, inst.exit_code = False, code


def inspect(req: Request) -> Response:
    """``GET /exec/{id}/json`` (dockerd's ``ExecInspect``)."""
    inst = _get(req.params["id"])
    return json_response(_inspect(inst))


def _inspect(inst: ExecInstance) -> dict[str, Any]:
    return {
        "ID": inst.id,
        "Running": inst.running,
        "ExitCode": inst.exit_code,
        "ProcessConfig": {
            "tty": inst.tty,
            "entrypoint": inst.argv[0],
            "arguments": inst.argv[1:],
            "privileged": False,
            "user": "",
        },
        "OpenStdin": inst.attach_stdin,
        "OpenStderr": inst.attach_stderr,
        "OpenStdout": inst.attach_stdout,
        "CanRemove": False,
        "ContainerID": inst.container_id,
        "DetachKeys": "",
        "Pid": inst.pid,
    }


def resize(req: Request) -> Response:
    """``POST /exec/{id}/resize``: a running ``Tty`` exec's pty gets the size (else accepted)."""
    from pynet.cnm.processes import resize_process_terminal

    inst = _get(req.params["id"])
    size = terminal_size(req)
    if inst.running and inst.pid:
        resize_process_terminal(inst.pid, *size)
    return Response(status=200)

"""``/containers/{id}/attach``, ``/logs``, ``/resize``: a container's output for clients.

``docker run`` (attached) sends create -> attach (``Upgrade: tcp``, expects ``101``) ->
``wait?condition=removed`` -> start, then copies the attach stream to its terminal until
the server closes it, and exits with wait's code. The attach stream therefore follows the
container's log from the moment of the attach until the container has exited (or is
gone), then ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

from pynet.api import core, streams
from pynet.api.http import Request, Response
from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def _log_path(container_id: str) -> str:
    from pynet import paths

    return str(paths.container_dir(container_id) / "container.log")


def _ended(container_id: str, finished_at: str) -> bool:
    """The container has exited since the attach (a new FinishedAt), or is gone (``--rm``).

    An exited container attached to (``docker start -a`` attaches, then starts) is
    followed through its next run."""
    c = core.reader().container(container_id)
    return c is None or (c.status in ("exited", "dead") and c.finished_at != finished_at)


def _running(container_id: str) -> bool:
    from pynet.cnm.processes import container_running

    c = core.reader().container(container_id)
    return c is not None and container_running(c)


def attach(req: Request) -> Response:
    """Hijack the connection and stream the container's output (101 ``UPGRADED``)."""
    c = core.reader().get_container(req.params["id"])
    wanted = {s for s, flag in ((streams.STDOUT, "stdout"), (streams.STDERR, "stderr")) if req.flag(flag)}
    fd = streams.open_log(_log_path(c.id))
    try:
        frames = streams.reader_for(fd)
        if not req.flag("logs"):
            os.lseek(fd, 0, os.SEEK_END)  # only what comes from now on, as dockerd
        stdin = _stdin_fifo(c) if req.flag("stdin") and c.interactive else -1
        reader, writer = req.hijack()
        if stdin >= 0:
            args = (reader, stdin, c.id, c.finished_at)
            threading.Thread(target=_copy_stdin, args=args, daemon=True).start()
        chunks: Iterator[bytes]
        if req.flag("stream"):
            chunks = streams.follow(fd, lambda: _ended(c.id, c.finished_at), lambda: False)
        else:
            chunks = iter([os.read(fd, 1 << 24)])
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for data in chunks:
                for stream, payload in frames.feed(data):
                    if stream in wanted:
                        writer.write(streams.encode(payload, tty=c.tty, stream=stream))
                writer.flush()
        if stdin >= 0:
            writer.close()  # the output ended: so does the attach (a terminal's input never does)
    finally:
        os.close(fd)
    return Response(hijacked=True)


def _stdin_fifo(c: Any) -> int:
    """The FIFO the container's supervisor takes as stdin at start, held open for writing
    (O_RDWR: opening never blocks) until the client's input ends."""
    path = os.path.join(os.path.dirname(_log_path(c.id)), "stdin.fifo")
    with contextlib.suppress(FileExistsError):
        os.mkfifo(path, 0o600)
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


def _copy_stdin(reader: Any, fd: int, container_id: str, finished_at: str) -> None:
    """The client's input to the container, until the client closes its side.

    The FIFO is closed only once the container has opened its end (it runs, or ran):
    a pipe's buffered input is dropped when its last holder closes it, and the docker
    CLI sends its input (and closes) right after the attach, before the start."""
    try:
        while data := reader.read1(streams.CHUNK):
            os.write(fd, data)
    except OSError:
        pass  # the client or the container went away: its input simply ends
    finally:
        while not _started(container_id, finished_at):
            time.sleep(streams.POLL_S)
        os.close(fd)


def _started(container_id: str, finished_at: str) -> bool:
    c = core.reader().container(container_id)
    return c is None or c.status == "running" or c.finished_at != finished_at


def logs(req: Request) -> Response:
    """``GET /containers/{id}/logs``: the log (``tail``), then more with ``follow``."""
    from pynet.records.inputs import tail_lines

    c = core.reader().get_container(req.params["id"])
    if not (req.flag("stdout") or req.flag("stderr")):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    lines = tail_lines(req.arg("tail", "all") or "all")
    try:
        fd = os.open(_log_path(c.id), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = -1
    content = "application/vnd.docker.raw-stream" if c.tty else "application/vnd.docker.multiplexed-stream"
    return Response(stream=_log_stream(fd, c.id, lines, c.tty, req), content_type=content)


def _log_stream(fd: int, container_id: str, lines: int | None, tty: bool, req: Request) -> Iterator[bytes]:
    from pynet.records import logframes

    if fd < 0:
        return
    wanted = {s for s, flag in ((streams.STDOUT, "stdout"), (streams.STDERR, "stderr")) if req.flag(flag)}
    try:
        frames = streams.reader_for(fd)
        data = b""
        while chunk := os.read(fd, 1 << 20):
            data += chunk
        records = logframes.lines(frames.feed(data))
        if lines is not None:
            records = records[-lines:] if lines > 0 else []
        if out := b"".join(streams.encode(p, tty=tty, stream=s) for s, p in records if s in wanted):
            yield out
        if req.flag("follow"):
            for more in streams.follow(fd, lambda: not _running(container_id), req.client_gone):
                yield b"".join(streams.encode(p, tty=tty, stream=s) for s, p in frames.feed(more) if s in wanted)
    finally:
        os.close(fd)


def resize(req: Request) -> Response:
    """``POST /containers/{id}/resize``: a ``-t`` container's pty gets the size (else accepted)."""
    from pynet.cnm.processes import resize_terminal

    c = core.reader().get_container(req.params["id"])
    resize_terminal(c, *terminal_size(req))
    return Response(status=200)


def terminal_size(req: Request) -> tuple[int, int]:
    """The ``h`` and ``w`` of a resize request (missing: 0), as dockerd parses them."""
    size = []
    for key in ("h", "w"):
        value = req.arg(key, "0") or "0"
        if not value.isdigit():
            raise InvalidArgument(f'strconv.Atoi: parsing "{value}": invalid syntax')
        size.append(min(int(value), 65535))
    return size[0], size[1]

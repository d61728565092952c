"""Docker's multiplexed stream out of a container's log (``pynet.records.logframes``).

A non-TTY attach, logs or exec stream is a sequence of frames: one byte for the stream
(1 stdout, 2 stderr), three zero bytes, the payload's length (big-endian uint32), the
payload — the very format the waiter stores the log in. With a TTY the payloads go raw.
"""

from __future__ import annotations

import os
import time

from pynet.records import logframes
from pynet.records.logframes import STDERR, STDOUT

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["STDERR", "STDOUT", "encode", "follow", "open_log", "reader_for"]

POLL_S = 0.05  # how often a follower looks for more output or the container's end
CHUNK = 32 * 1024


def encode(data: bytes, *, tty: bool, stream: int = STDOUT) -> bytes:
    """``data`` as the client expects it: raw with a TTY, else one frame."""
    return data if tty else logframes.frame(stream, data)


def open_log(path: str) -> int:
    """The container's log for reading, made if it does not exist yet (attach comes before
    start: the waiter then appends to this same file)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)  # a created container has no files yet
    return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)


def reader_for(fd: int) -> logframes.FrameReader:
    """A frame reader for the log open at ``fd`` (framed, or an older pynet's raw log)."""
    return logframes.FrameReader(logframes.is_framed(os.pread(fd, logframes.HEADER, 0)))


def follow(fd: int, ended: Callable[[], bool], stop: Callable[[], bool]) -> Iterator[bytes]:
    """New bytes of the log as they come, until ``ended()`` (then what is left) or ``stop()``."""
    done = False
    while True:
        data = os.read(fd, CHUNK)
        if data:
            yield data
            continue
        if done or stop():
            return
        done = ended()  # one more read after the end: nothing written before it is lost
        if not done:
            time.sleep(POLL_S)

"""A detached container's log: Docker's multiplexed stream format, stored as is.

The waiter (``pynet.kernel.waiter``) writes what the container prints as frames: one byte
for the stream (1 stdout, 2 stderr), three zero bytes, the payload's length (big-endian
uint32), the payload. So ``pynet logs`` can give each stream back to its own file
descriptor, and the Engine API sends the frames to clients as they are (attach, logs).
A log written by an older pynet (the raw bytes of both streams) is read as stdout.
"""

from __future__ import annotations

STDOUT = 1
STDERR = 2
HEADER = 8


def frame(stream: int, data: bytes) -> bytes:
    """One frame."""
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def is_framed(head: bytes) -> bool:
    """Whether a log starting with ``head`` is in frames (an empty one is)."""
    if not head:
        return True
    return head[0] in (STDOUT, STDERR) and (len(head) < 4 or head[1:4] == b"\0\0\0")


class FrameReader:
    """Frames out of bytes that arrive in pieces (a followed file)."""

    def __init__(self, framed: bool = True) -> None:
        self.framed = framed
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The complete frames in what came so far, as (stream, payload)."""
        if not self.framed:
            return [(STDOUT, data)] if data else []
        self._buf += data
        out = []
        while len(self._buf) >= HEADER:
            size = int.from_bytes(self._buf[4:8], "big")
            if len(self._buf) < HEADER + size:
                break
            out.append((self._buf[0], self._buf[HEADER : HEADER + size]))
            self._buf = self._buf[HEADER + size :]
        return out


def lines(frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The frames as (stream, line) records: a line split over several writes is one
    record; what follows the last newline of a stream stays a record of its own."""
    out: list[tuple[int, bytes]] = []
    pending: dict[int, int] = {}  # stream -> index in out of its unfinished line
    for stream, payload in frames:
        for piece in payload.splitlines(keepends=True):
            at = pending.pop(stream, None)
            if at is not None:
                out[at] = (stream, out[at][1] + piece)
                if not piece.endswith(b"\n"):
                    pending[stream] = at
                continue
            out.append((stream, piece))
            if not piece.endswith(b"\n"):
                pending[stream] = len(out) - 1
    return out


def parse(data: bytes) -> list[tuple[int, bytes]]:
    """Every complete frame of a whole log (a legacy log: one stdout frame)."""
    return FrameReader(is_framed(data[:HEADER])).feed(data)

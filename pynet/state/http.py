"""HTTP/1.1 framing for the etcd JSON gateway: one POST out, a response parsed incrementally.

Used by the blocking client (``pynet.state.etcd``) and by the helper daemon's
non-blocking calls (``pynet.daemon.etcd_stream``), which feed bytes as they arrive.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


class ResponseReader:
    """Parses one HTTP/1.1 response fed in pieces (Content-Length, chunked, or to EOF).

    ``body`` collects the decoded payload; ``done`` turns True at its end. A watch
    streams newline-separated JSON objects: ``messages()`` pops the complete ones.
    """

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.done = False
        self._buf = bytearray()
        self._length: int | None = None
        self._chunked = False
        self._in_headers = True
        self._chunk_left = -1  # -1: expecting a chunk-size line

    def feed(self, data: bytes) -> None:
        self._buf += data
        if self._in_headers:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self._parse_head(bytes(self._buf[:end]).decode("latin-1"))
            del self._buf[: end + 4]
            self._in_headers = False
        if self._chunked:
            self._feed_chunked()
        else:
            self.body += self._buf
            self._buf.clear()
            if self._length is not None and len(self.body) >= self._length:
                del self.body[self._length :]
                self.done = True

    def eof(self) -> None:
        """The peer closed: a body without length ends here."""
        if not self._in_headers and not self._chunked and self._length is None:
            self.done = True

    def _parse_head(self, head: str) -> None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
        self.status = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if not self._chunked and "content-length" in self.headers:
            self._length = int(self.headers["content-length"])
            if self._length == 0:
                self.done = True

    def _feed_chunked(self) -> None:
        while not self.done:
            if self._chunk_left < 0:
                end = self._buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(self._buf[:end]).split(b";")[0].strip() or b"0", 16)
                del self._buf[: end + 2]
                if size == 0:
                    self.done = True  # trailers (if any) are ignored
                    return
                self._chunk_left = size
            if len(self._buf) < self._chunk_left + 2:
                return
            self.body += self._buf[: self._chunk_left]
            del self._buf[: self._chunk_left + 2]
            self._chunk_left = -1

    def messages(self) -> list[Any]:
        """Pop every complete newline-terminated JSON object from the body."""
        out = []
        while True:
            end = self.body.find(b"\n")
            if end < 0:
                return out
            line = bytes(self.body[:end]).strip()
            del self.body[: end + 1]
            if line:
                out.append(json.loads(line))


def build_request(host: str, port: int, path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data

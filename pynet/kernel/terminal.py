"""A container's pseudo-terminal (``-t``), seen from pynet's side: docs/terminal.md.

The container's process opens the pty itself, inside its mount namespace
(``pynet.kernel.process``), and sends the master back over a console socket. Here:
receiving it, the window size, the raw mode of pynet's own terminal, and the relay of a
foreground container (master -> our stdout, our stdin -> master with ``-i``).
"""

from __future__ import annotations

import os
import signal
import struct


def console_socket() -> tuple[object, int]:
    """A socket pair: (our end, the fd the container's process sends its master on).
    The built-in ``_socket``, not ``socket``: a waiter that imports this stays small."""
    import _socket

    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    return ours, theirs.detach()


def received_master(sock: object) -> int:
    """The pty master the started process sent (it did before its exec); -1: none came."""
    import _socket

    from pynet._detach import received_fds

    _data, ancdata, _flags, _addr = sock.recvmsg(1, _socket.CMSG_SPACE(4))  # type: ignore[attr-defined]
    fds = received_fds(ancdata)
    return fds[0] if fds else -1


def receive_master(sock: object) -> int:
    """:func:`received_master`, which must have come."""
    master = received_master(sock)
    if master < 0:
        raise OSError("the container's process sent no terminal")
    return master


def size(fd: int) -> tuple[int, int]:
    """(rows, columns) of the terminal ``fd``, or (0, 0) when it is none."""
    import fcntl
    import termios

    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8)))
    except OSError:
        return (0, 0)
    return (rows, cols)


def our_size() -> tuple[int, int]:
    """The window size of pynet's own terminal (stdout, else stdin), (0, 0) without one."""
    for fd in (1, 0):
        if (found := size(fd)) != (0, 0):
            return found
    return (0, 0)


def resize(master: int, rows_cols: tuple[int, int]) -> None:
    """Set the pty's window size (its process gets SIGWINCH from the kernel)."""
    import fcntl
    import termios

    if rows_cols != (0, 0):
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", *rows_cols, 0, 0))


def resize_process(pid: int, rows_cols: tuple[int, int]) -> None:
    """Resize the pty that is ``pid``'s stdin (a detached ``-t`` container: its master is
    the waiter's, but the slave sizes it as well), if it is one."""
    try:
        fd = os.open(f"/proc/{pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return  # it has exited
    try:
        if os.isatty(fd):
            resize(fd, rows_cols)
    finally:
        os.close(fd)


class RawMode:
    """pynet's terminal in raw mode for a session, restored on every way out (``with``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list | None = None

    def __enter__(self) -> RawMode:
        import termios
        import tty

        self.saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def relay(pid: int, master: int, *, stdin: int | None, out: int = 1) -> None:
    """Copy the master to ``out`` (and ``stdin`` to the master) until the container's side
    of the pty is closed — or, when a process it left behind keeps it open, until PID has
    exited and nothing more is waiting. Our window size follows (SIGWINCH)."""
    import select

    old_winch = signal.signal(signal.SIGWINCH, lambda *_: _follow_size(master))
    exited = os.pidfd_open(pid)
    try:
        done = False
        while True:
            watched = [master, *([stdin] if stdin is not None else []), *([] if done else [exited])]
            ready, _, _ = select.select(watched, [], [], 0 if done else None)
            if not ready:
                return  # exited, and its output is all out
            if exited in ready:
                done = True
            if stdin is not None and stdin in ready:
                data = os.read(stdin, 65536)
                if data:
                    _write_all(master, data)
                else:
                    stdin = None  # our input ended: the container's goes on (Docker's too)
            if master in ready:
                data = _read(master)
                if not data:
                    return
                if out >= 0:
                    out = _write_out(out, data)
    finally:
        os.close(exited)
        signal.signal(signal.SIGWINCH, old_winch)


def _follow_size(master: int) -> None:
    try:
        resize(master, our_size())
    except OSError:
        pass  # the container's side went away: nothing to tell


def _read(master: int) -> bytes:
    """A read from the master; b"" once every holder of the slave closed it (EIO)."""
    try:
        return os.read(master, 65536)
    except OSError:
        return b""


def _write_out(out: int, data: bytes) -> int:
    """Write to our stdout; -1 from now on when no one reads it (the container goes on)."""
    try:
        _write_all(out, data)
    except OSError:
        return -1
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]

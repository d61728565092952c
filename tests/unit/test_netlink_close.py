"""Closing the cached netlink sockets: a failure is reported, never swallowed."""

from __future__ import annotations

import errno

import pytest

from pynet.errors import KernelError
from pynet.kernel import netlink


class _Sock:
    def __init__(self, fail: bool) -> None:
        self.fail, self.closed = fail, False

    def close(self) -> None:
        self.closed = True
        if self.fail:
            raise OSError(errno.EBADF, "Bad file descriptor")


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> dict:
    cache: dict = {}
    monkeypatch.setattr(netlink, "_sockets", cache)
    return cache


def test_close_all_closes_every_socket(sockets: dict) -> None:
    good = sockets["/run/a"] = _Sock(fail=False)
    netlink.close_all()
    assert good.closed and not sockets


def test_close_all_reports_a_failed_close_after_closing_the_others(sockets: dict) -> None:
    bad, good = _Sock(fail=True), _Sock(fail=False)
    sockets.update({"/run/bad": bad, "/run/good": good})
    with pytest.raises(KernelError, match="failed to close the netlink socket of /run/bad: Bad file descriptor"):
        netlink.close_all()
    assert bad.closed and good.closed and not sockets


def test_dropping_one_socket_reports_its_failure(sockets: dict) -> None:
    sockets["/run/bad"] = _Sock(fail=True)
    with pytest.raises(KernelError, match="/run/bad"):
        netlink._drop_socket("/run/bad")
    assert not sockets

"""`--network container:NAME` checks (pynet.cnm.shared_sandbox), without a kernel: Docker's
messages and order (dockerd 20.10's validateNetContainerMode, the CLI's alias check)."""

from __future__ import annotations

import pytest

from pynet.cnm import shared_sandbox as ss
from pynet.cnm.containers import RunRequest
from pynet.cnm.endpoints import AttachRequest
from pynet.errors import InvalidArgument
from pynet.records.model import Container

pytestmark = pytest.mark.unit


def test_target_ref() -> None:
    assert ss.target_ref("container:web") == "web"
    assert ss.target_ref("mynet") is None and ss.target_ref("host") is None
    with pytest.raises(InvalidArgument, match=r"^Invalid network mode: invalid container format container:<name\|id>$"):
        ss.target_ref("container:")


def test_refusals_in_dockers_order() -> None:
    req = RunRequest(argv=["true"], hostname="h", dns=["192.0.2.1"], exposed=["80/tcp"])
    with pytest.raises(InvalidArgument, match="^conflicting options: hostname and the network mode$"):
        ss.check_request(req)
    req.hostname = ""
    with pytest.raises(InvalidArgument, match="^conflicting options: dns and the network mode$"):
        ss.check_request(req)
    req.dns = []
    with pytest.raises(InvalidArgument, match="port exposing and the container type network mode$"):
        ss.check_request(req)
    req.exposed, req.publish_all = [], True
    with pytest.raises(InvalidArgument, match="port publishing and the container type network mode$"):
        ss.check_request(req)
    req.publish_all = False
    ss.check_request(req)  # nothing left to refuse
    alias = RunRequest(argv=["true"], hostname="h", attach=AttachRequest(aliases=["a"]))
    with pytest.raises(InvalidArgument) as err:
        ss.check_request(alias)  # the CLI's check comes first, not as the daemon's
    assert err.value.render() == "network-scoped aliases are only supported for user-defined networks"


def test_is_joiner() -> None:
    c = Container(id="a" * 64, name="t", created="", path="true", network_mode="container:" + "b" * 64)
    assert ss.is_joiner(c)
    c.network_mode = "bridge"
    assert not ss.is_joiner(c)

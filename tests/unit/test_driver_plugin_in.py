"""Adding a driver is one module plus one registry line: no change to the core (``pynet.cnm``).

The driver here is defined in this test and registered in ``pynet.drivers._BUILTIN`` for the
test's duration. It makes no kernel objects (as ``null``): it records the verbs the core
calls, so the test sees the core drive it through create, ls, inspect, run, connect,
disconnect and rm with nothing but the abilities it declares.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from pynet.drivers.base import Driver

from cli_inproc import invoke

pytestmark = pytest.mark.unit

CALLS: list[tuple[str, str]] = []


class TinyDriver(Driver):
    """A driver of the test's own: addresses from the local IPAM, no kernel objects."""

    name = "tiny"

    def create_network(self, net, undo):  # type: ignore[no-untyped-def]
        CALLS.append(("create_network", net.name))

    def delete_network(self, net):  # type: ignore[no-untyped-def]
        CALLS.append(("delete_network", net.name))

    def join(self, net, ep, sandbox, undo):  # type: ignore[no-untyped-def]
        CALLS.append(("join", net.name))

    def leave(self, net, ep, sandbox):  # type: ignore[no-untyped-def]
        CALLS.append(("leave", net.name))


@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A controller on a temp state with TinyDriver registered; the kernel fenced off."""
    from pynet import drivers
    from pynet.cnm import controller
    from pynet.kernel import procnet, sandbox

    monkeypatch.setitem(drivers._BUILTIN, "tiny", f"{__name__}:TinyDriver")  # the one registry line
    monkeypatch.setattr(drivers, "_cache", {})
    monkeypatch.setenv("PYNET_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PYNET_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("PYNET_FIREWALL", "none")
    monkeypatch.delenv("PYNET_DEBUG", raising=False)
    # What would reach the kernel or the helper daemon: the netns, the host's routes, DNS.
    monkeypatch.setattr(procnet, "can_administer_network", lambda: True)
    monkeypatch.setattr(procnet, "host_subnets", lambda: [])
    monkeypatch.setattr(sandbox, "create_sandbox", lambda path, undo: CALLS.append(("sandbox", "")))
    monkeypatch.setattr(sandbox, "delete_sandbox", lambda path: None)
    monkeypatch.setattr(controller.Controller, "_notify", lambda self, ids: None)
    CALLS.clear()
    ctl = controller.Controller()
    ctl.ensure_ready()
    return ctl


def _inspect(ref: str) -> dict:  # type: ignore[type-arg]
    res = invoke(["network", "inspect", ref])
    assert res.code == 0, res.err
    return json.loads(res.out)[0]


def test_a_driver_defined_outside_the_core_is_created_listed_inspected_connected_and_removed(ctl) -> None:  # type: ignore[no-untyped-def]
    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest
    from pynet.cnm.networks import NetworkCreateRequest

    ctl.create_network(NetworkCreateRequest(name="t1", driver="tiny", subnets=["10.77.0.0/24"]))
    ctl.create_network(NetworkCreateRequest(name="t2", driver="tiny"))
    assert CALLS == [("create_network", "t1"), ("create_network", "t2")]

    listed = invoke(["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"])
    assert listed.code == 0, listed.err
    assert {"t1 tiny local", "t2 tiny local", "bridge bridge local"} <= set(listed.out.splitlines())
    t1 = _inspect("t1")
    assert (t1["Driver"], t1["IPAM"]["Config"][0]["Subnet"]) == ("tiny", "10.77.0.0/24")

    c = ctl.create_container(RunRequest(argv=["true"], network="t1"))
    assert c.network_mode == "t1"  # not a mode of its own (host, none)
    assert CALLS[-2:] == [("sandbox", ""), ("join", "t1")]
    ep = ctl.reader().endpoint(c.endpoints[t1["Id"]])
    assert ipaddress.ip_interface(ep.ipv4) in ipaddress.ip_network("10.77.0.0/24")
    assert _inspect("t1")["Containers"][c.id]["IPv4Address"] == ep.ipv4

    ctl.record_started(c, pid=os.getpid(), supervisor_pid=os.getpid())
    ctl.connect("t2", c.id, AttachRequest())
    assert CALLS[-1] == ("join", "t2")
    assert list(_inspect("t2")["Containers"]) == [c.id]
    ctl.disconnect("t2", c.id, force=False)
    assert CALLS[-1] == ("leave", "t2")
    assert _inspect("t2")["Containers"] == {}

    ctl.remove_network("t2")
    assert CALLS[-1] == ("delete_network", "t2")
    gone = invoke(["network", "inspect", "t2"])
    assert gone.code == 1 and "t2" in gone.err
    ctl.owner_of(c).release()


def test_the_core_reads_what_the_driver_declares_not_its_name(ctl, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A driver declaring host's abilities, under another name, is treated as host is."""
    from pynet import drivers
    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest
    from pynet.cnm.networks import NetworkCreateRequest
    from pynet.errors import Forbidden

    monkeypatch.setitem(drivers._BUILTIN, "shared", f"{__name__}:SharedDriver")
    ctl.create_network(NetworkCreateRequest(name="s1", driver="shared"))
    c = ctl.create_container(RunRequest(argv=["true"], network="s1"))
    assert (c.network_mode, c.endpoints, c.netns_path) == ("host", {}, "")  # no sandbox, no endpoint
    assert ("join", "s1") not in CALLS and ("sandbox", "") not in CALLS

    ctl.create_network(NetworkCreateRequest(name="t1", driver="tiny", subnets=["10.78.0.0/24"]))
    other = ctl.create_container(RunRequest(argv=["true"], network="t1"))
    ctl.record_started(other, pid=os.getpid(), supervisor_pid=os.getpid())
    with pytest.raises(Forbidden, match="^no endpoints on a shared network$"):
        ctl.connect("s1", other.id, AttachRequest())
    assert list(_inspect("t1")["Containers"]) == [other.id]  # positive control: t1 attached it
    # The helper daemon reads DNS service from the record, never from the driver's name.
    assert [ctl.reader().network(_inspect(n)["Id"]).embedded_dns for n in ("s1", "t1")] == [False, True]
    for made in (c, other):
        ctl.owner_of(made).release()


class SharedDriver(TinyDriver):
    """Declares what ``host`` declares: the container shares the host's stack."""

    name = "shared"
    needs_ipam = False
    container_mode = "host"
    attach_refusal = "no endpoints on a shared network"
    embedded_dns = False

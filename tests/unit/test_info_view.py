"""`pynet info`/`version` renderings and the link-shaping hook, without a kernel."""

from __future__ import annotations

import sys
import types

import pytest

from pynet.cli import info as cli_info
from pynet.cnm import info

pytestmark = pytest.mark.unit


def _data(impairments: dict[str, bool] | None) -> dict:
    return {
        "Containers": 3,
        "ContainersRunning": 1,
        "ContainersPaused": 0,
        "ContainersStopped": 2,
        "Networks": 4,
        "NetworksByDriver": {"bridge": 2, "host": 1, "null": 1},
        "ServerVersion": "0.1.0",
        "KernelVersion": "6.1.0",
        "OSType": "linux",
        "Architecture": "x86_64",
        "NCPU": 2,
        "Pynet": {
            "StateDir": "/var/lib/pynet",
            "RunDir": "/run/pynet",
            "Helper": {"Running": False},
            "Firewall": {
                "Enabled": True,
                "Backend": "nft",
                "ForeignFirewall": "manual",
                "ForeignForwardDrop": None,
                "Warning": "no root",
            },
            "Cluster": {"Member": True, "NodeName": "h1-abc", "AdvertiseAddr": "203.0.113.1", "Store": "etcd://x:2379"},
            "LinkImpairments": impairments,
        },
    }


def test_info_lines() -> None:
    lines = cli_info.info_lines(_data({"rate": True, "loss": True, "delay": False}))
    assert lines[:6] == ["Server:", " Containers: 3", "  Running: 1", "  Paused: 0", "  Stopped: 2", " Networks: 4"]
    assert " Helper (embedded DNS): not running" in lines
    assert "  Docker coexistence: unknown (no root)" in lines
    assert " Cluster: member h1-abc (advertise 203.0.113.1, store etcd://x:2379)" in lines
    assert lines[-1] == " Link impairments: rate, loss (unsupported: delay)"
    assert cli_info.info_lines(_data(None))[-1] == " Link impairments: not available in this pynet"


def test_link_impairments_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("pynet.cnm.links")
    fake.supported_impairments = lambda: {"rate": True, "delay": False}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynet.cnm.links", fake)
    import pynet.cnm

    monkeypatch.setattr(pynet.cnm, "links", fake, raising=False)  # once the real one is imported
    assert info.link_impairments() == {"rate": True, "delay": False}


def test_version_template_sees_go_names() -> None:
    data = info.version_info()
    assert cli_info.render_format(data, "{{.Server.APIVersion}} {{.Client.Os}}") == f"{info.API_VERSION} linux"
    assert cli_info.render_format(data, "json").startswith('{"Client":{"Platform":{"Name":"pynet"},"Version":')
    lines = cli_info.version_lines(data)
    assert (
        lines[0] == "Client:"
        and f"  API version:      {info.API_VERSION} (minimum version {info.MIN_API_VERSION})" in lines
    )

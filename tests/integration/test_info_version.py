"""`pynet info` and `pynet version` on a real host namespace: counts, dirs, helper, the
firewall next to a foreign policy-drop forward chain, cluster membership; Docker's shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import Host

pytestmark = pytest.mark.integration

REF = Path(__file__).resolve().parent.parent / "reference" / "docker-events"
DROP_FORWARD = (
    "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n"
)


def test_info_counts_and_host_facts(host: Host) -> None:
    host.pynet("network", "create", "n1")
    host.pynet("network", "create", "-d", "bridge", "n2")
    host.pynet("run", "-d", "--name", "c1", "--network", "n1", "sleep", "300")
    host.pynet("run", "--name", "c2", "--network", "n1", "true")
    info = host.pynet_json("info", "--format", "json")
    assert (info["Containers"], info["ContainersRunning"], info["ContainersStopped"]) == (2, 1, 1)
    assert (info["Networks"], info["NetworksByDriver"]) == (5, {"bridge": 3, "host": 1, "null": 1})
    pynet = info["Pynet"]
    assert pynet["StateDir"] == info["DockerRootDir"] == host.env["PYNET_STATE_DIR"]
    assert pynet["RunDir"] == host.env["PYNET_RUN_DIR"]
    assert pynet["Helper"] == {"Running": True}  # run on a user network started it
    assert pynet["Cluster"] == {"Member": False}
    fw = pynet["Firewall"]
    assert fw["Enabled"] and fw["ForeignFirewall"] == "auto" and fw["ForeignForwardDrop"] == []
    host.sh("nft -f -", input=DROP_FORWARD)  # a host firewall that drops forwarded traffic
    fw = host.pynet_json("info", "--format", "json")["Pynet"]["Firewall"]
    assert fw["ForeignForwardDrop"] == ["inet filter forward"]

    text = host.pynet("info").stdout  # piped: plain text, Docker's layout
    assert text.startswith("Server:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Networks: 5\n")
    assert f" State Dir: {host.env['PYNET_STATE_DIR']}\n" in text and "\x1b[" not in text
    assert "  Docker coexistence: auto; policy-drop forward chains: inet filter forward\n" in text
    assert host.pynet("info", "-f", "{{.ContainersRunning}}/{{.Pynet.Helper.Running}}").stdout == "1/true\n"
    bad = host.pynet("info", "-f", "{{.Nope", check=False)
    assert bad.returncode != 0 and bad.stderr.startswith("template parsing error:")


def test_version_has_dockers_shape(host: Host) -> None:
    docker = json.loads((REF / "version.json").read_text())
    ours = host.pynet_json("version", "--format", "json")
    assert set(ours) == {"Client", "Server"}
    for side, skip in (("Client", {"GoVersion", "Experimental"}), ("Server", {"GoVersion", "GitCommit", "BuildTime"})):
        assert set(docker[side]) - skip <= set(ours[side]), side  # Docker's fields, Go-only ones aside
    assert ours["Server"]["Components"][0]["Name"] == "Engine"
    version = host.pynet("--version").stdout.split()[-1]
    assert ours["Client"]["Version"] == ours["Server"]["Version"] == version
    assert host.pynet("version", "-f", "{{.Server.APIVersion}}").stdout == f"{ours['Server']['ApiVersion']}\n"
    text = host.pynet("version").stdout.splitlines()
    assert text[0] == "Client:" and text[1].split() == ["Version:", version]
    assert "Server: pynet (daemonless)" in text and " Engine:" in text

"""`pynet topology` and `pynet network inspect -v`: every device name they show is checked
against `ip -j link` of the host or of the sandbox, ifindexes and masters included, and
the nftables elements they report against `nft` (with a negative control)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import Host

pytestmark = pytest.mark.integration


def _links(host: Host, netns: str = "") -> dict[str, dict[str, Any]]:
    if netns:
        out = host.sh("nsenter", f"--net={netns}", "ip", "-j", "-d", "link").stdout
    else:
        out = host.sh("ip", "-j", "-d", "link").stdout
    return {link["ifname"]: link for link in json.loads(out or "[]")}


@pytest.fixture
def built(host: Host) -> Host:
    host.pynet("network", "create", "n1")
    host.pynet("network", "create", "--internal", "n2")
    host.pynet(
        "run", "-d", "--name", "c1", "--network", "n1", "--network-alias", "web", "-p", "8080:80", "sleep", "300"
    )
    host.pynet("run", "-d", "--name", "c2", "--network", "n1", "sleep", "300")
    host.pynet("network", "connect", "n2", "c2")
    return host


def test_topology_names_exist_in_the_kernel(built: Host) -> None:
    host = built
    model = host.pynet_json("topology", "--format", "json")
    on_host = _links(host)
    shown = 0
    nets = {n["name"]: n for n in model["networks"]}
    assert set(nets) == {"bridge", "host", "none", "n1", "n2"}
    for net in model["networks"]:
        for dev in net["devices"]:
            if dev["present"]:
                link = on_host[dev["name"]]
                assert (dev["ifindex"], dev["kind"]) == (link["ifindex"], link["linkinfo"]["info_kind"])
                shown += 1
            else:
                assert dev["name"] not in on_host  # "absent" is true, too
        for ep in net["endpoints"]:
            host_end = on_host[ep["host"]["name"]]
            assert ep["host"]["present"] and ep["host"]["ifindex"] == host_end["ifindex"]
            assert host_end["master"] == net["devices"][0]["name"]  # the veth is a port of the bridge
            inside = _links(host, ep["sandbox"]["netns"])[ep["sandbox"]["ifname"]]
            assert ep["sandbox"]["ifindex"] == inside["ifindex"]
            assert inside["link_index"] == host_end["ifindex"]  # the two ends of one veth pair
            assert ep["ipv4"].split("/")[0] in host.in_sandbox(ep["container"], "ip", "-4", "addr").stdout
            shown += 2
    assert shown == 2 + 3 * 2  # two bridges, three endpoints (both ends)
    assert [d["present"] for d in nets["bridge"]["devices"]] == [False]  # pynet0: made with its first container
    n1 = nets["n1"]
    assert {e["container"]: e["aliases"] for e in n1["endpoints"]} == {"c1": ["web"], "c2": []}
    c1 = next(c for c in model["containers"] if c["name"] == "c1")
    assert "80/tcp -> 0.0.0.0:8080" in c1["ports"] and c1["networks"] == ["n1"]

    tree = host.pynet("topology").stdout  # piped: plain text
    for ep in n1["endpoints"]:
        assert f"host: {ep['host']['name']} (ifindex {ep['host']['ifindex']}, up) <-> sandbox: eth0" in tree
    assert "\x1b[" not in tree and "network n2 (bridge, local, internal)" in tree
    dot = host.pynet("topology", "--network", "n1", "--format", "dot").stdout
    assert dot.startswith("graph pynet {") and all(e["host"]["name"] in dot for e in n1["endpoints"])
    assert "n2" not in dot
    mermaid = host.pynet("topology", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and f"|{n1['endpoints'][0]['host']['name']}|" in mermaid
    bad = host.pynet("topology", "--network", "nosuch", check=False)
    assert (bad.returncode, bad.stderr) == (1, "Error response from daemon: network nosuch not found\n")
    bad = host.pynet("topology", "--format", "svg", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("unknown format 'svg'")


def test_inspect_verbose_shows_the_kernel_side(built: Host) -> None:
    host = built
    plain = host.pynet_json("network", "inspect", "n1")[0]
    verbose = host.pynet_json("network", "inspect", "-v", "n1")[0]
    assert "Kernel" not in plain and all("Kernel" not in c for c in plain["Containers"].values())
    assert {k: v for k, v in verbose.items() if k != "Kernel"} == {
        **plain,
        "Containers": {
            cid: {**c, "Kernel": verbose["Containers"][cid]["Kernel"]} for cid, c in plain["Containers"].items()
        },
    }  # Docker's JSON unchanged, the kernel side added
    on_host = _links(host)
    bridge = verbose["Kernel"]["Devices"][0]
    assert (bridge["Role"], bridge["Present"]) == ("bridge", True)
    assert bridge["Ifindex"] == on_host[bridge["Name"]]["ifindex"]
    pool = verbose["IPAM"]["Config"][0]
    assert f"{pool['Gateway']}/{pool['Subnet'].split('/')[1]}" in bridge["Addresses"]
    for cid, entry in verbose["Containers"].items():
        k = entry["Kernel"]
        assert on_host[k["HostInterface"]]["ifindex"] == k["HostIfindex"]
        assert on_host[k["HostInterface"]]["master"] == k["Master"] == bridge["Name"]
        key = host.pynet("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", cid).stdout.strip()
        assert k["SandboxKey"] == key
        assert _links(host, key)[k["SandboxInterface"]]["ifindex"] == k["SandboxIfindex"]

    fw = verbose["Kernel"]["Firewall"]
    sets = {name: [e["Element"] for e in elems] for name, elems in fw["Sets"].items()}
    assert sets["inet pynet bridges"] == [bridge["Name"]]
    assert any(e.startswith("tcp . 8080 : ") for e in sets["inet pynet pub4_any"])
    assert all(e["Present"] for elems in fw["Sets"].values() for e in elems)
    assert "inet pynet forward" in fw["Chains"] and "inet pynet publish" in fw["Chains"]
    assert "inet pynet internal" in host.pynet_json("network", "inspect", "-v", "n2")[0]["Kernel"]["Firewall"]["Sets"]
    # negative control: an element removed behind pynet's back is reported missing
    subnet = verbose["IPAM"]["Config"][0]["Subnet"]
    host.sh("nft", "delete", "element", "inet", "pynet", "masq4", "{", subnet, "}")
    again = host.pynet_json("network", "inspect", "-v", "n1")[0]["Kernel"]["Firewall"]["Sets"]
    assert again["inet pynet masq4"] == [{"Element": subnet, "Present": False}]
    host.pynet("system", "firewall-reload")

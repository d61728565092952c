"""`pynet topology`'s drawings from a model (no kernel): tree, dot, mermaid, overlay nodes."""

from __future__ import annotations

import copy

import pytest

from pynet.cli import topology as topo

pytestmark = pytest.mark.unit

MODEL = {
    "networks": [
        {
            "id": "f" * 64,
            "name": "ov",
            "driver": "overlay",
            "scope": "global",
            "internal": False,
            "subnets": ["10.0.9.0/24"],
            "gateways": ["10.0.9.1"],
            "devices": [
                {
                    "role": "bridge",
                    "name": "ov-ffffffffffff",
                    "present": True,
                    "ifindex": 7,
                    "kind": "bridge",
                    "state": "up",
                    "mtu": 1450,
                },
                {"role": "vxlan", "name": "vx-001001", "present": False},
            ],
            "endpoints": [
                {
                    "endpoint_id": "e" * 64,
                    "container_id": "c" * 64,
                    "container": "web",
                    "sandbox": {
                        "netns": "/run/pynet/netns/abc",
                        "ifname": "eth0",
                        "present": True,
                        "ifindex": 2,
                        "state": "up",
                    },
                    "host": {
                        "name": "veth1234567",
                        "present": True,
                        "ifindex": 9,
                        "state": "up",
                        "master": "ov-ffffffffffff",
                    },
                    "ipv4": "10.0.9.2/24",
                    "ipv6": "",
                    "mac": "02:42:0a:00:09:02",
                    "aliases": ["www"],
                    "link": {"rate": "10mbit", "loss": "1%"},
                }
            ],
            "nodes": [{"name": "h2-abc", "ip": "203.0.113.2"}],
        }
    ],
    "containers": [
        {
            "id": "c" * 64,
            "name": "web",
            "status": "running",
            "network_mode": "ov",
            "hostname": "cccccccccccc",
            "netns": "/run/pynet/netns/abc",
            "networks": ["ov"],
            "ports": [],
        }
    ],
}


def test_plain_tree() -> None:
    assert topo.plain_tree(topo.tree_nodes(MODEL)).splitlines() == [
        "network ov (overlay, global)  10.0.9.0/24",
        "├── bridge: ov-ffffffffffff (ifindex 7, up)",
        "├── vxlan: vx-001001 (absent)",
        "├── web  eth0 10.0.9.2/24  aliases www  link rate=10mbit, loss=1%",
        "│   ├── host: veth1234567 (ifindex 9, up) <-> sandbox: eth0 (ifindex 2, up)",
        "│   └── netns /run/pynet/netns/abc",
        "└── cluster nodes",
        "    └── h2-abc 203.0.113.2",
        "containers",
        "└── web (running)  hostname cccccccccccc",
        "    └── netns /run/pynet/netns/abc",
    ]


def test_dot_and_mermaid() -> None:
    dot = topo.to_dot(MODEL)
    assert dot.startswith("graph pynet {") and dot.endswith("}")
    assert 'dev_ov_ffffffffffff -- sbx_cccccccccccc [label="veth1234567"];' in dot  # the veth hangs off the bridge
    assert "dev_vx_001001" in dot
    mermaid = topo.to_mermaid(MODEL)
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert "    dev_ov_ffffffffffff ---|veth1234567| sbx_cccccccccccc" in mermaid


DOT = """\
graph pynet {
  rankdir=LR;
  node [shape=box, fontname=monospace];
  subgraph cluster_net_ffffffffffff { label="ov (overlay)";
    net_ffffffffffff [label="ov\\n10.0.9.0/24", shape=ellipse];
    dev_ov_ffffffffffff [label="bridge ov-ffffffffffff"];
    net_ffffffffffff -- dev_ov_ffffffffffff;
    dev_vx_001001 [label="vxlan vx-001001"];
    net_ffffffffffff -- dev_vx_001001;
    sbx_cccccccccccc [label="web\\neth0 10.0.9.2/24", shape=component];
    dev_ov_ffffffffffff -- sbx_cccccccccccc [label="veth1234567"];
  }
}"""
MERMAID = """\
flowchart LR
  subgraph net_ffffffffffff_g["ov (overlay)"]
    net_ffffffffffff(["ov 10.0.9.0/24"])
    dev_ov_ffffffffffff["bridge ov-ffffffffffff"]
    net_ffffffffffff --- dev_ov_ffffffffffff
    dev_vx_001001["vxlan vx-001001"]
    net_ffffffffffff --- dev_vx_001001
    sbx_cccccccccccc[["web eth0 10.0.9.2/24"]]
    dev_ov_ffffffffffff ---|veth1234567| sbx_cccccccccccc
  end"""


def test_dot_and_mermaid_draw_the_same_graph_whole() -> None:
    """One walk (``_graph``), two syntaxes: every node and edge, in order; an endpoint
    without a host-side name is an unlabelled dot edge and mermaid's ``link``."""
    assert topo.to_dot(MODEL) == DOT
    assert topo.to_mermaid(MODEL) == MERMAID
    bare = copy.deepcopy(MODEL)
    del bare["networks"][0]["endpoints"][0]["host"]
    assert topo.to_dot(bare).splitlines()[-3] == '    dev_ov_ffffffffffff -- sbx_cccccccccccc [label=""];'
    assert topo.to_mermaid(bare).splitlines()[-2] == "    dev_ov_ffffffffffff ---|link| sbx_cccccccccccc"

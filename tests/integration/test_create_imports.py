"""`network create` and `network rm` as users run them (the pynet script, in a throwaway
host) import none of the modules design.md's "Start-up" keeps off their path, and a
namespace's first network gets pynet's nftables skeleton from the raw replay, not from
libnftables, once pynet recorded it (issue #15)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from harness import REPO_ROOT, Host, run
from heavy_modules import CREATE_HEAVY
from pynet.kernel.nft import _nfnetlink as nfnetlink
from pynet.kernel.nft import _session as nftraw

pytestmark = pytest.mark.integration

# the unit guard's list, plus what no mutating command loads until it needs it
HEAVY = {*CREATE_HEAVY, "subprocess", "threading"}


def _imports(host: Host, *args: str) -> set[str]:
    """What ``pynet <args>`` imported after Python's own start (``site``)."""
    argv = host.nsenter([sys.executable, "-X", "importtime", str(REPO_ROOT / "bin" / "pynet"), *args])
    cp = run(argv, env=host.env, cwd=host.root, timeout=60)
    names = [line.rsplit("|", 1)[-1].strip() for line in cp.stderr.splitlines() if line.startswith("import time:")]
    return set(names[names.index("site") + 1 :])


def test_create_and_rm_import_no_heavy_module(host: Host) -> None:
    loaded = {
        "first create": _imports(host, "network", "create", "n1"),
        "second create": _imports(host, "network", "create", "n2"),
    }
    assert {link["ifname"] for link in host.ip_json("link", "show", "type", "bridge")} >= {
        f"br-{host.pynet_json('network', 'inspect', n)[0]['Id'][:12]}" for n in ("n1", "n2")
    }  # they did their work
    loaded["rm"] = _imports(host, "network", "rm", "n2")
    loaded["rm of the last network"] = _imports(host, "network", "rm", "n1")
    assert host.ip_json("link", "show", "type", "bridge") == []
    assert {what: sorted(names & HEAVY) for what, names in loaded.items()} == {what: [] for what in loaded}
    # libnftables (through ctypes) only for what the raw nf_tables path cannot do: the first
    # network's skeleton (design.md, "What `network create` and `rm` cost")
    assert "ctypes" not in loaded["second create"] and "ctypes" not in loaded["rm"]


def _ruleset(host: Host) -> Any:
    """``nft -j list ruleset`` with handles dropped and bridge names alike (IDs differ)."""
    listing = re.sub(r"br-[0-9a-f]{12}", "br-X", host.sh("nft -j list ruleset").stdout)

    def strip(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k != "handle"}
        return [strip(v) for v in o] if isinstance(o, list) else o

    return strip(json.loads(listing)["nftables"][1:])  # [0]: metainfo


@pytest.mark.parametrize("flags", [[], ["-o", "com.docker.network.bridge.enable_icc=false"]])
def test_the_first_networks_skeleton_is_replayed_raw_and_the_same(host: Host, flags: list[str]) -> None:
    host.pynet("network", "create", *flags, "n1")  # libnftables makes the skeleton; pynet records it
    made = _ruleset(host)
    host.pynet("network", "rm", "n1")
    assert host.sh("nft list ruleset").stdout.strip() == ""  # pynet's tables went with its last network
    assert "ctypes" not in _imports(host, "network", "create", *flags, "n1")  # the replay: no libnftables
    assert _ruleset(host) == made
    host.pynet("network", "rm", "n1")
    assert host.sh("nft list ruleset").stdout.strip() == ""


def test_a_replay_the_kernel_refuses_leaves_the_skeleton_to_libnftables(host: Host) -> None:
    host.pynet("network", "create", "n1")
    made = _ruleset(host)
    host.pynet("network", "rm", "n1")
    cache = host.run_dir / "nft-skeleton.cache"
    parts = nftraw._unblob(cache.read_bytes())
    damaged = []
    for key, value in zip(parts[0::2], parts[1::2]):
        if key.startswith(nftraw._REPLAY):  # every new set without its NFTA_SET_ID: EINVAL
            value = nftraw._pack(
                [(t, f, b[:-8] if t == nfnetlink.NFT_MSG_NEWSET else b) for t, f, b in nftraw._unpack(value)]
            )
        damaged += [key, value]
    cache.write_bytes(nftraw._blob(*damaged))
    assert "ctypes" in _imports(host, "network", "create", "n1")  # refused as a whole: libnftables did it
    assert _ruleset(host) == made

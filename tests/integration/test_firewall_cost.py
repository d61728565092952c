"""The firewall's hot path on a real kernel: raw netlink, no listing, same result.

``network create`` / ``network rm`` (and ``run -p``'s publish/unpublish) must cost the same
with 3 or 300 networks: they must never list pynet's table or the ruleset, and once the
skeleton is in place they need no libnftables at all. Here every such call runs in a
process where listing and loading libnftables raise, inside a throwaway host namespace;
and the raw path must leave exactly the ruleset libnftables would have made. (Timings
live in bench/, never in tests.)
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

import harness

pytestmark = pytest.mark.integration

PY = sys.executable

PRELUDE = r'''
import json, sys
from pynet.records.model import Endpoint, IPAMPool, Network, PortBinding
from pynet.firewall import policy as fw
from pynet.kernel import nft

class Log:
    def add(self, r): pass

def net(i, **kw):
    pools = [IPAMPool(subnet=f"10.{100 + i // 250}.{i % 250}.0/24", gateway=f"10.{100 + i // 250}.{i % 250}.1")]
    if kw.pop("v6", False):
        pools.append(IPAMPool(subnet=f"fd00:{i}::/64", gateway=f"fd00:{i}::1"))
        kw["enable_ipv6"] = True
    return Network(id=f"{i:064x}", name=f"n{i}", driver="bridge", created="", ipam_config=pools,
                   driver_data={"bridge": f"br-t{i}"}, **kw)

def ep(i, host=5):
    prefix = f"10.{100 + i // 250}.{i % 250}"
    return Endpoint(id="e" * 64, network_id="", container_id="", name="c", ipv4=f"{prefix}.{host}/24",
                    ipv6=f"fd00:{i}::{host}/64")

def guard():
    """From here on, listing anything or loading libnftables is a failure."""
    def forbidden(*a, **k):
        raise AssertionError(f"the hot path listed or loaded libnftables: {a}")
    for name in ("list_json", "try_list_json", "list_text", "_load_library", "_call"):
        setattr(nft, name, forbidden)
'''

SETUP_MANY = (
    PRELUDE
    + r"""
n = int(sys.argv[1])
for i in range(1, n + 1):
    fw.setup_network(net(i, options={fw.ICC: "false"} if i % 50 == 0 else {}), Log())
print(json.dumps(len(nft.elements("inet", "pynet", "bridges"))))
"""
)

HOT_PATH = (
    PRELUDE
    + r"""
guard()
n = int(sys.argv[1])
out = {}
new = net(n + 1, v6=True)
out["notices"] = fw.setup_network(new, Log())
bindings = [PortBinding(80, "tcp", "", 8080), PortBinding(90, "udp", "127.0.0.1", 9090)]
fw.publish(new, ep(n + 1), bindings, Log())
out["published"] = sorted(str(k) for k, _v in nft.elements("inet", "pynet", "pub4_any") + nft.elements("inet", "pynet", "pub4_ip"))
fw.unpublish(new, ep(n + 1), bindings[:1])
fw.publish(new, ep(n + 1, host=6), [PortBinding(81, "tcp", "", 8181)], Log())
fw.teardown_network(new)                       # also sweeps the 9090 and 8181 left published
out["left_published"] = [str(k) for m in ("pub4_any", "pub4_ip", "lo_pub4", "pub6_any")
                         for k, _v in nft.elements("inet", "pynet", m)]
out["bounded"] = len(nft.elements("inet", "pynet", "bridges", limit=2))
out["after_one"] = len(nft.elements("inet", "pynet", "bridges"))
for i in range(1, n + 1):                      # down to the last network, which drops the tables
    fw.teardown_network(net(i, options={fw.ICC: "false"} if i % 50 == 0 else {}))
out["library_loaded"] = nft._lib is not nft._UNTRIED
print(json.dumps(out))
"""
)

EQUIVALENCE = (
    PRELUDE
    + r"""
a, b = net(1, v6=True, options={fw.ICC: "false"}), net(2, internal=True)
steps = [fw.add_script(fw.network_elements(a) + fw.network_elements(b)),
         fw.add_script(fw.publish_elements(a, ep(1), [PortBinding(80, "tcp", "", 8080),
                                                       PortBinding(90, "udp", "127.0.0.1", 9090),
                                                       PortBinding(81, "tcp", "::1", 8181)])),
         fw.add_script(fw.network_elements(a)),                 # again: no-op
         fw.delete_script(fw.network_elements(b)),
         fw.delete_script(fw.network_elements(b)),              # again: idempotent
         fw.add_script(fw.publish_elements(a, ep(1, host=9), [PortBinding(80, "tcp", "", 8080)])),  # taken
         fw.delete_script(fw.publish_elements(a, ep(1, host=9), [PortBinding(80, "tcp", "", 8080)])),  # not ours
         'add element inet pynet bridges { "br-nosuch" }\ndelete element inet pynet nosuch { "x" }\n']
out = {"steps": []}
for i, script in enumerate(steps):
    if i == 5:   # the first refusal: libnftables re-runs it for nft's own words
        out["library_before_refusal"] = nft._lib is not nft._UNTRIED
    try:
        nft.run(script)
        out["steps"].append("ok")
    except nft.NftError as exc:
        out["steps"].append("exists" if exc.exists else "missing" if exc.missing else str(exc))
out["bridges"] = sorted(str(k) for k, _v in nft.elements("inet", "pynet", "bridges"))
print(json.dumps(out))
"""
)


def _run(host: harness.Host, script: str, *args: Any, env: dict[str, str] | None = None) -> Any:
    cp = host.sh(PY, "-c", script, *args, env=env, timeout=120)
    return json.loads(cp.stdout.strip().splitlines()[-1])


def _ruleset(host: harness.Host) -> list[dict]:
    """``nft -j list ruleset`` without handles (they differ between any two runs)."""
    data = json.loads(host.sh("nft -j list ruleset").stdout)["nftables"]
    return [o for o in json.loads(re.sub(r', "handle": \d+', "", json.dumps(data))) if "metainfo" not in o]


@pytest.fixture
def nft_host(host: harness.Host) -> harness.Host:
    if harness.run(["sh", "-c", "command -v nft"], check=False).returncode != 0:
        pytest.skip("nft is not installed")
    return host


def test_raw_path_leaves_exactly_what_libnftables_leaves(hosts: Any) -> None:
    if harness.run(["sh", "-c", "command -v nft"], check=False).returncode != 0:
        pytest.skip("nft is not installed")
    raw_host, lib_host = hosts(2)
    skeleton = PRELUDE + "nft.run(fw.inet_skeleton() + fw.bridge_skeleton())\nprint('null')"
    results = []
    for h, env in ((raw_host, None), (lib_host, {"PYNET_NFT": "lib"})):
        _run(h, skeleton, env=env)
        results.append(_run(h, EQUIVALENCE, env=env))
    raw, lib = results
    assert raw["library_before_refusal"] is False and lib["library_before_refusal"] is True
    assert raw["steps"] == lib["steps"] == ["ok", "ok", "ok", "ok", "ok", "exists", "exists", "missing"]
    assert raw["bridges"] == lib["bridges"] == ["('br-t1',)"]
    assert _ruleset(raw_host) == _ruleset(lib_host)


def test_create_and_rm_path_never_lists_nor_loads_libnftables(nft_host: harness.Host) -> None:
    before = nft_host.sh("nft list ruleset").stdout
    n = 300
    assert _run(nft_host, SETUP_MANY, n) == n  # (the first setup installed the skeleton)
    out = _run(nft_host, HOT_PATH, n)
    assert out["published"] == ["('127.0.0.1', 'udp', 9090)", "('tcp', 8080)"]
    assert out["left_published"] == []  # the teardown swept what was left
    assert out["bounded"] == 2 and out["after_one"] == n  # a bounded read, the new network gone
    assert out["library_loaded"] is False
    assert nft_host.sh("nft list ruleset").stdout == before, "the last teardown left pynet's tables"


def test_an_edited_skeleton_is_repaired_by_the_next_network(nft_host: harness.Host) -> None:
    _run(nft_host, SETUP_MANY, 2)
    pristine = nft_host.sh("nft list table inet pynet").stdout
    repair = PRELUDE + "fw.setup_network(net(1), Log())\nprint('null')"
    for edit in (
        "nft insert rule inet pynet forward accept",
        "nft add chain inet pynet forward '{ policy drop; }'",
        "nft replace rule inet pynet postrouting handle {masq} counter masquerade",
        "nft flush chain inet pynet publish",
    ):
        listing = nft_host.sh("nft -a list chain inet pynet postrouting").stdout
        masq = re.findall(r"masquerade # handle (\d+)", listing)[-1]
        edit = edit.replace("{masq}", masq)
        nft_host.sh(edit)
        assert nft_host.sh("nft list table inet pynet").stdout != pristine, edit
        _run(nft_host, repair)
        assert nft_host.sh("nft list table inet pynet").stdout == pristine, f"not repaired after: {edit}"


def test_cli_create_and_rm_keep_the_ruleset_exact(nft_host: harness.Host) -> None:
    before = nft_host.sh("nft list ruleset").stdout
    for i in range(3):
        nft_host.pynet("network", "create", "--subnet", f"10.77.{i}.0/24", f"n{i}")
    assert (nft_host.run_dir / "nft-skeleton.cache").exists()
    bridges = nft_host.sh("nft -j list set inet pynet bridges").stdout
    assert len(json.loads(bridges)["nftables"][1]["set"]["elem"]) == 3
    for i in range(3):
        nft_host.pynet("network", "rm", f"n{i}")
    assert nft_host.sh("nft list ruleset").stdout == before

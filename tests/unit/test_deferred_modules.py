"""Read-only commands load neither ``inspect`` nor ``urllib.parse`` (issue #15: where the time
beyond Python's own start goes); the stand-ins of ``pynet._deferred`` behave as the modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from heavy_modules import CREATE_HEAVY

pytestmark = pytest.mark.unit


def _run(code: str) -> list[str]:
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout.strip().splitlines()


def test_the_read_path_loads_none_of_the_deferred_modules() -> None:
    out = _run(
        "import sys\n"
        "import pynet.cli.main, pynet.cli.fastpath, pynet.cnm.views, pynet.cnm.reader, pynet.records.model\n"
        "import pynet.cli.network_actions, pynet.cli.container_actions\n"
        "print(sorted(m for m in ('inspect', 'urllib.parse') if type(sys.modules[m]).__name__ == 'module'))\n"
        "print(sorted(m for m in ('ast', 'dis', 'tokenize', 'ipaddress', 'signal') if m in sys.modules))\n"
    )
    assert out == ["[]", "[]"]


def test_a_stand_in_loads_the_real_module_on_first_use() -> None:
    out = _run(
        "import sys\n"
        "import pynet, inspect, pathlib\n"
        "print(inspect.signature(lambda a, b=1: 0), inspect.isclass(int))\n"
        "from inspect import getdoc\n"
        "print(sys.modules['inspect'].getdoc is getdoc, type(sys.modules['inspect']).__name__)\n"
        "print(pathlib.Path('/a b').as_uri())\n"
        "import urllib.parse\n"
        "print(urllib.parse.urlsplit('http://h/p').netloc, type(sys.modules['urllib.parse']).__name__)\n"
    )
    assert out == ["(a, b=1) True", "True module", "file:///a%20b", "h module"]


def test_a_module_imported_already_is_left_alone() -> None:
    out = _run(
        "import sys, inspect, urllib.parse\n"
        "import pynet\n"
        "print(type(sys.modules['inspect']).__name__, type(sys.modules['urllib.parse']).__name__)\n"
    )
    assert out == ["module module"]


def test_finding_nft_and_notifying_the_helper_import_neither_shutil_nor_subprocess() -> None:
    # `network create` looks nft up on its first network; `run`/`rm` load the helper's client
    out = _run(
        "import sys\n"
        "from pynet.kernel import nft\n"
        "from pynet.daemon import client\n"
        "print(nft.shutil.which('sh') is not None, nft.shutil.which('no-such-program-here'))\n"
        "print(sorted(m for m in ('shutil', 'subprocess', 'threading') if m in sys.modules))\n"
    )
    assert out == ["True None", "[]"]


# What the read-only commands must never load (design.md, "Start-up"): `re` (with `enum`,
# ~5 ms), `json` (imports re), `dataclasses` and the record classes (~6 ms), `pathlib` and
# `contextlib` (with `collections`, `functools`), click, the kernel's libraries.
_HEAVY = (
    "re",
    "enum",
    "json",
    "dataclasses",
    "pynet.records.model",
    "pathlib",
    "fnmatch",
    "contextlib",
    "collections",
    "functools",
    "warnings",
    "importlib",
    "pynet.cli.gotemplate",
    "click",
    "pyroute2",
    "rich",
    "yaml",
    "typing",
    "locale",
    "_strptime",
)
_NET_ID = "c3f78efc445131f82b043d9a7bdf98af5d19ce131ace1f4eb8c43d8cc439de51"
_BRIDGE = {
    "schema_version": 1,
    "id": _NET_ID,
    "name": "bridge",
    "driver": "bridge",
    "created": "2026-12-03T09:46:09.50773294Z",
    "builtin": True,
    "ipam_config": [{"subnet": "172.17.0.0/16", "gateway": "172.17.0.1", "show_gateway": False}],
    "ipam_options": None,
    "options": {"com.docker.network.bridge.name": "pynet0"},
}
_CONTAINER = {
    "schema_version": 1,
    "id": "b" * 64,
    "name": "web",
    "created": "2026-12-03T09:46:09.5Z",
    "path": "sleep",
    "args": ["60"],
    "network_mode": "none",
    "status": "running",
    "started_at": "2026-12-03T09:46:09.6Z",
}


def _state(root: Path) -> dict[str, str]:
    """A state dir with the bridge network and one running container, restored already."""
    for kind, record in (("networks", _BRIDGE), ("containers", _CONTAINER)):
        (root / "state" / kind).mkdir(parents=True)
        (root / "state" / kind / f"{record['id']}.json").write_text(json.dumps(record))
        (root / "state" / kind / "_names.json").write_text(json.dumps({record["name"]: record["id"]}))
    (root / "run").mkdir()
    (root / "run" / "restored").write_text("")
    return {**os.environ, "PYNET_STATE_DIR": str(root / "state"), "PYNET_RUN_DIR": str(root / "run")}


@pytest.mark.parametrize(
    "argv, shows",
    [
        (["network", "ls"], "bridge    bridge    local"),
        (["network", "inspect", "bridge"], '"Subnet": "172.17.0.0/16"'),
        (["ps"], "sleep 60"),
    ],
)
def test_the_read_only_commands_load_no_heavy_module(tmp_path: Path, argv: list[str], shows: str) -> None:
    code = (
        "import sys\n"
        "from pynet.cli import main\n"
        "code = main.boundary(lambda: main._dispatch(sys.argv[1:]))\n"
        "main._flush()\n"
        f"print('LOADED', sorted(m for m in {_HEAVY!r} if type(sys.modules.get(m)).__name__ == 'module'), code)\n"
    )
    cp = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60, env=_state(tmp_path)
    )
    assert cp.stderr == ""
    assert shows in cp.stdout  # the command did its work (a positive control)
    assert cp.stdout.splitlines()[-1] == "LOADED [] 0"


def test_re_and_contextlib_stand_ins_work_as_the_modules() -> None:
    out = _run(
        "import sys\n"
        "import pynet, re, contextlib\n"
        "print(type(sys.modules['re']).__name__, type(sys.modules['contextlib']).__name__)\n"
        "with contextlib.suppress(KeyError):\n    {}['x']\n"
        "from contextlib import contextmanager\n"
        "print(re.fullmatch(r'[a-f]+', 'abc') is not None, re.compile('x').pattern, re.IGNORECASE.value)\n"
        "print(type(sys.modules['re']).__name__, type(sys.modules['contextlib']).__name__, re.sub is sys.modules['re'].sub)\n"
    )
    assert out == ["DeferredModule DeferredModule", "True x 2", "module module True"]


def test_the_pynet_script_itself_imports_none_of_them(tmp_path: Path) -> None:
    # bin/pynet as pip installs it (a script file: pip's entry-point wrapper imports re)
    script = Path(__file__).resolve().parents[2] / "bin" / "pynet"
    cp = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "network", "ls"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_state(tmp_path),
    )
    assert cp.returncode == 0, cp.stderr
    assert "bridge    bridge    local" in cp.stdout
    names = [line.rsplit("|", 1)[-1].strip() for line in cp.stderr.splitlines() if line.startswith("import time:")]
    after_site = names[names.index("site") + 1 :]  # what the script and pynet import
    assert sorted(set(after_site) & set(_HEAVY)) == []


_CREATE_HEAVY = CREATE_HEAVY  # tests/heavy_modules.py


def test_the_create_and_rm_path_loads_no_heavy_module(tmp_path: Path) -> None:
    # The modules `network create`/`rm` import, and the work of theirs that runs without
    # the kernel: records and requests made, IPAM, the firewall's elements, the store's
    # commit and journal, the events log (the real commands: tests/integration/test_create_imports.py).
    code = (
        "import sys\n"
        "from pynet.cli import main, fastpath, network_actions\n"
        "from pynet import wiring, jsonio\n"
        "from pynet.cnm import controller, networks, events\n"
        "from pynet.drivers import bridge, driver_class, ipam\n"
        "from pynet.firewall import hooks, policy\n"
        "from pynet.kernel import netlink, nft, procnet\n"
        "from pynet.records import model\n"
        "from pynet.state.events import EventLog\n"
        "from pynet.state.store import Store\n"
        "assert driver_class('bridge') is bridge.BridgeDriver\n"
        "req = networks.NetworkCreateRequest(name='n1')\n"
        "net = networks.builtin_networks(['172.17.0.0/16'])[0]\n"
        "print(policy.network_elements(net)[0], ipam.choose_subnet is not None)\n"
        f"store = Store({str(tmp_path)!r})\n"
        "with store.locked():\n"
        "    txn = store.begin()\n"
        "    txn.record_undo({'kind': 'link', 'name': 'br-x'})\n"
        "    txn.put('networks', net.id, model.to_dict(net))\n"
        "    txn.commit()\n"
        "    EventLog(store.dir).append([events.make_event('network', 'create', net.id, {'name': net.name})])\n"
        "print(store.get('networks', net.id)['name'], jsonio.loads(jsonio.dumps([1]))[0])\n"
        f"print('LOADED', sorted(m for m in {_CREATE_HEAVY!r} if type(sys.modules.get(m)).__name__ == 'module'))\n"
    )
    out = _run(code)
    assert out[:2] == ["('inet', 'bridges', '\"pynet0\"', None) True", "bridge 1"]  # the work was done
    assert out[2] == "LOADED []"


def test_records_to_dict_is_dataclasses_asdict() -> None:
    import dataclasses

    from pynet.records import model

    class Odd(str):
        """A str subclass: asdict deep-copies it, and so does to_dict."""

    pool = model.IPAMPool(subnet="10.1.0.0/24", gateway="10.1.0.1", aux_addresses={"h": "10.1.0.5"})
    net = model.Network(
        id="a" * 64,
        name="é net",
        driver="bridge",
        created="2026-12-03T09:46:09Z",
        ipam_options=None,
        ipam_config=[pool, model.IPAMPool(subnet="fd00::/64")],
        options={"o": Odd("x")},
        driver_data={"mtu": 1500, "ratio": 0.5, "nested": {"l": [1, (2, 3)], "t": ("a",)}, "none": None},
    )
    ep = model.Endpoint(id="e" * 64, network_id=net.id, container_id="c" * 64, name="c", aliases=["a", "b"])
    for record in (net, ep, pool):
        mine, theirs = model.to_dict(record), dataclasses.asdict(record)
        assert mine == theirs and repr(mine) == repr(theirs)
        assert mine is not theirs
    mine = model.to_dict(net)
    assert mine["ipam_config"] is not net.ipam_config and mine["driver_data"]["nested"] is not net.driver_data["nested"]
    assert type(mine["options"]["o"]) is Odd and mine["options"]["o"] is not net.options["o"]  # deep-copied

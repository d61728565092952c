"""`network create` and `network rm` as users run them (the pynet script, in a throwaway
host) import none of the modules design.md's "Start-up" keeps off their path (issue #15)."""

from __future__ import annotations

import sys

import pytest

from harness import REPO_ROOT, Host, run

pytestmark = pytest.mark.integration

# the unit test's list (tests/unit/test_deferred_modules.py), plus what no mutating command
# loads until it needs it
HEAVY = {
    "re",
    "enum",
    "json",
    "pathlib",
    "fnmatch",
    "socket",
    "selectors",
    "signal",
    "importlib",
    "warnings",
    "typing",
    "inspect",
    "urllib.parse",
    "click",
    "pyroute2",
    "rich",
    "yaml",
    "subprocess",
    "threading",
}


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

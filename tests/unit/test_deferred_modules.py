"""Read-only commands load neither ``inspect`` nor ``urllib.parse`` (issue #15: where the time
beyond Python's own start goes); the stand-ins of ``pynet._deferred`` behave as the modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

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

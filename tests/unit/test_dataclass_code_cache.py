"""Dataclass methods compiled once and kept (pynet/_dccache.py): the same classes, no
compile on a hit, and a damaged file only means compiling again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pynet import _dccache

SOURCE = "def __create_fn__():\n def f(self):\n  return 42\n return f"


@pytest.fixture
def kept(tmp_path, monkeypatch):
    path = tmp_path / "dataclass-code.bin"
    monkeypatch.setattr(_dccache, "_path", lambda: str(path))
    monkeypatch.setattr(_dccache, "_index", {})
    monkeypatch.setattr(_dccache, "_data", b"")
    monkeypatch.setattr(_dccache, "_write", True)
    return path


def _make(source: str = SOURCE) -> object:
    ns: dict = {}
    _dccache._exec(source, {}, ns)
    return ns["__create_fn__"]()


def test_a_miss_compiles_and_keeps_then_a_hit_only_unmarshals(kept, monkeypatch) -> None:
    assert _make()(None) == 42
    assert kept.read_bytes().startswith(_dccache._magic())
    monkeypatch.setattr(_dccache, "_index", {})
    _dccache._load()
    assert list(_dccache._index) == [SOURCE.encode()]

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the code was kept")

    monkeypatch.setattr(_dccache, "compile", no_compile, raising=False)
    assert _make()(None) == 42


def test_a_torn_or_foreign_file_is_started_again(kept, monkeypatch) -> None:
    _make()
    kept.write_bytes(kept.read_bytes()[:-3])  # killed in the middle of an append
    _dccache._load()
    assert _dccache._index == {} and not kept.exists()
    kept.write_bytes(b"\0\0\0\0not ours")
    _dccache._load()
    assert _dccache._index == {} and not kept.exists()
    assert _make()(None) == 42  # compiled as dataclasses would


def test_classes_behave_as_plain_dataclasses_in_a_fresh_interpreter() -> None:
    # Twice: the first run may compile (and keep), the second reads what was kept.
    code = (
        "import sys, dataclasses\n"
        "import pynet.records.model as m\n"
        "assert dataclasses.exec is sys.modules['pynet._dccache']._exec\n"
        "a = m.IPAMPool(subnet='10.0.0.0/24')\n"
        "print(a == m.IPAMPool(subnet='10.0.0.0/24'), repr(a)[:30], m.Sandbox.__init__.__code__.co_filename)\n"
    )
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["True", "IPAMPool(subnet='10.0.0.0/24',", "<string>"]


def test_the_identifier_pattern_matches_as_dataclasses_regex() -> None:
    import random
    import re

    real = re.compile(_dccache.MODULE_IDENTIFIER)
    rng = random.Random(15)
    alphabet = ["a", "Z", "_", "0", "é", "٣", " ", "\t", "\u3000", ".", "[", "]", "'", ",", "-"]
    texts = ["", "int", "ClassVar[int]", "dataclasses.InitVar[int]", " x . y ", "x.", ".y", "x . ", "a.b.c"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(8))) for _ in range(5000)]
    mine = _dccache.ModuleIdentifierPattern()
    for text in texts:
        want, got = real.match(text), mine.match(text)
        assert (got is None) == (want is None), text
        if want is not None:
            assert [got.group(i) for i in range(3)] == [want.group(i) for i in range(3)], text


def test_dataclasses_import_without_re_and_tell_initvar_apart() -> None:
    code = (
        "import sys\n"
        "import pynet\n"
        "from dataclasses import InitVar, dataclass, fields\n"
        "@dataclass\n"
        "class A:\n"
        "    '''Doc.'''\n"
        "    x: 'int'\n"
        "    y: 'InitVar[int]' = 2\n"
        "    def __post_init__(self, y): self.z = y\n"
        "print([f.name for f in fields(A)], A(1, 5).z, type(sys.modules['re']).__name__, 'enum' in sys.modules)\n"
        "import re\n"
        "print(re.fullmatch('[a-z]+', 'abc') is not None, type(sys.modules['re']).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr == ""
    assert out.stdout.splitlines() == ["['x'] 5 DeferredModule False", "True module"]

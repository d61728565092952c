"""pynet.jsonio (JSON without the json package, for the read-only commands) reads and
writes exactly what the json module does, on generated documents and on bad input."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from pynet import jsonio

pytestmark = pytest.mark.unit

_STRINGS = ["", "a", "bridge", 'q"uo\\te', "tab\tnl\n", "\x00\x1f\x7f", "é ü ✓", "😀", "<>&", "\u2028\u2029", "\ud800"]


def _value(rng: random.Random, depth: int) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(_STRINGS) + str(rng.randrange(100))
    if kind == 1:
        return rng.choice([0, -1, 1, 2**63, -(2**70), 1500])
    if kind == 2:
        return rng.choice([0.5, -2.25, 1e300, 1e-7, float("inf"), float("-inf")])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice([[], {}, ()])
    if kind == 5:
        return rng.choice(_STRINGS)
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    keys = [*_STRINGS, 1, 2.5, True, None]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


@pytest.mark.parametrize("indent", [None, "    ", "\t"])
def test_dumps_writes_what_json_dumps_writes(indent: str | None) -> None:
    rng = random.Random(15)
    for _ in range(3000):
        doc = _value(rng, 0)
        want = json.dumps(
            doc, indent=indent, ensure_ascii=False, default=str, separators=None if indent else (",", ":")
        )
        assert jsonio.dumps(doc, indent=indent) == want


def test_dumps_sorted_writes_what_the_store_wrote_with_json() -> None:
    rng = random.Random(16)
    for _ in range(3000):
        doc = _value(rng, 0)
        try:
            want = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        except TypeError:  # keys of mixed types cannot be sorted: the same refusal
            with pytest.raises(TypeError):
                jsonio.dumps_sorted(doc)
            continue
        assert jsonio.dumps_sorted(doc) == want
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        jsonio.dumps_sorted({"v": object()})
    assert jsonio.dumps_sorted({"b": [1], "a": {}}) == '{"a":{},"b":[1]}'  # the same after a failure


def test_dumps_writes_other_objects_as_their_str() -> None:
    class Addr:
        def __str__(self) -> str:
            return "10.0.0.1"

    assert jsonio.dumps({"IP": Addr()}, "  ") == '{\n  "IP": "10.0.0.1"\n}'


def test_loads_reads_what_json_loads_reads() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        text = json.dumps(_value(rng, 0), indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
        text = rng.choice(["", " ", "\n\t "]) + text + rng.choice(["", "\n", " \r\n"])
        got, want = jsonio.loads(text), json.loads(text)
        assert json.dumps(got) == json.dumps(want)  # NaN != NaN: compare their JSON


@pytest.mark.parametrize(
    "text", ["", "  ", "{", '{"a": 1,}', '{"a": 1} x', "[1, 2", "\ufeff{}", "nul", '"\x01"', "01", "{} {}", '{"a"}']
)
def test_bad_json_raises_what_json_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        jsonio.loads(text)
    assert str(got.value) == str(want.value)


def test_bad_json_raises_json_decode_error_before_json_is_loaded() -> None:
    # _json raises JSONDecodeError only when json.decoder is in sys.modules already
    code = (
        "import sys\nfrom pynet import jsonio\nassert 'json' not in sys.modules\n"
        "for text in ('{', '[1,', '{\"a\": 1} x', ''):\n"
        "    try:\n        jsonio.loads(text)\n    except Exception as exc:\n        print(type(exc).__name__, exc)\n"
    )
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert cp.stderr == ""
    assert cp.stdout.splitlines() == [
        "JSONDecodeError Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "JSONDecodeError Expecting value: line 1 column 4 (char 3)",
        "JSONDecodeError Extra data: line 1 column 10 (char 9)",
        "JSONDecodeError Expecting value: line 1 column 1 (char 0)",
    ]

"""The table fast paths of pynet/cli/formatting.py write what the general paths write:
``tabwrite`` of uniform lines, ``format_list``'s plain tables and ``format_columns``
(``network ls`` from columns) against ``format_list`` of the same items."""

from __future__ import annotations

import random

import pytest

from pynet.cli import formatting as fmt

pytestmark = pytest.mark.unit

NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def _general_tabwrite(text: str) -> str:
    """tabwrite without its uniform fast path (Go's tabwriter, column blocks)."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    start = 0
    for i, cells in enumerate(lines):
        if len(cells) == 1 or i == len(lines) - 1:
            fmt._format_block(lines, [], start, i + 1, out, len(lines) - 1, 10, 3)
            start = i + 1
    return "".join(out)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("ab-01é") for _ in range(rng.randrange(0, 16)))


@pytest.mark.parametrize("seed", range(40))
def test_tabwrite_of_uniform_and_ragged_text_matches_go_tabwriter_blocks(seed: int) -> None:
    rng = random.Random(seed)
    cols = rng.randrange(1, 5)
    rows = [[_word(rng) for _ in range(cols if rng.random() < 0.8 else rng.randrange(1, 5))] for _ in range(6)]
    text = "\n".join("\t".join(r) for r in rows) + rng.choice(["\n", "", "\n\n"])
    assert fmt.tabwrite(text) == _general_tabwrite(text)


def _columns(items: list[dict]) -> dict:
    keys = [k for k in items[0] if k != "__extra__"] if items else ["ID", "Name"]
    out = {k: (lambda k=k: [it[k] for it in items]) for k in keys}
    out["__extra__.Subnets"] = lambda: [it["__extra__"]["Subnets"] for it in items]
    return out


def _items(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        name = rng.choice(["n", "web", "a-much-longer-network-name", "x%y", "tab\there", "é"]) + str(i)
        out.append(
            {
                "CreatedAt": "2024-01-01 00:00:00 +0000 UTC",
                "Driver": rng.choice(["bridge", "macvlan", "null"]),
                "ID": f"{rng.getrandbits(48):012x}",
                "IPv6": "false",
                "Internal": rng.choice(["true", "false"]),
                "Labels": rng.choice(["", "a=b", "a=b,c=d"]),
                "Name": name,
                "Scope": "local",
                "__extra__": {"Subnets": rng.choice(["", "10.0.0.0/24", "10.0.0.0/24,fd00::/64"])},
            }
        )
    return out


@pytest.mark.parametrize(
    "template, quiet",
    [
        (None, False),
        (None, True),
        ("table", False),
        ("{{.Name}}", False),
        ("{{.ID}}: {{.Name}} 100%", False),
        ("table {{.Name}}\t{{.Labels}}\t{{.CreatedAt}}", False),
        ("table {{.Name}}\t{{.Subnets}}", False),
        ("{{json .}}", False),
        ("json", False),
        ('{{.Name}} {{.Label "a"}}', False),
        ("table {{.Name}}\t{{.Nope}}", False),
        ("{{.Name}}\t{{.Driver}}", False),
        ("no field at all", False),
        ("table no field", False),
    ],
)
@pytest.mark.parametrize("n", [0, 1, 7])
def test_format_columns_writes_what_format_list_writes(
    template: str | None, quiet: bool, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _items(random.Random(n), n)
    kwargs = {"default_table": NETWORK_TABLE, "quiet_field": "ID", "quiet": quiet, "headers": {"ID": "NETWORK ID"}}
    with monkeypatch.context() as general:  # format_list without its table fast paths
        general.setattr(fmt, "_plain_table", lambda *args: None)
        general.setattr(fmt, "_uniform", lambda *args: None)
        expected = _expected(items, template, kwargs)
    try:
        fmt.format_list(items, template, **kwargs)  # its fast paths too
    except Exception as exc:  # noqa: BLE001 - the same error is expected
        assert isinstance(expected, Exception) and str(exc) == str(expected)
    else:
        assert fmt.format_list(items, template, **kwargs) == expected
    if isinstance(expected, Exception):
        with pytest.raises(type(expected)) as info:
            fmt.format_columns(_columns(items), template, **kwargs)
        assert str(info.value) == str(expected)
        return
    assert fmt.format_columns(_columns(items), template, **kwargs) == expected


def _expected(items: list[dict], template: str | None, kwargs: dict) -> str | Exception:
    try:
        return fmt.format_list(items, template, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared with the fast paths' error
        return exc

"""The two front doors (the CLI and the Engine API) share only what lies below them: the
API imports nothing of the CLI, and the CLI imports the API only to serve it
(``pynet system service``). import-linter enforces it in ``make lint``; this test says it
without the tool, so a unit run catches it too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PYNET = Path(__file__).resolve().parents[2] / "pynet"


def _imports(package: str) -> set[tuple[str, str]]:
    """(importing module, imported module) for every import in ``pynet/<package>``."""
    found = set()
    for path in sorted((PYNET / package).rglob("*.py")):
        module = "pynet." + ".".join(path.relative_to(PYNET).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {(module, f"{node.module}.{a.name}") for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {(module, a.name) for a in node.names}
    return found


def test_the_api_imports_nothing_of_the_cli() -> None:
    assert sorted(i for i in _imports("api") if i[1].startswith("pynet.cli")) == []


def test_the_cli_imports_the_api_only_to_serve_it() -> None:
    uses = sorted(i for i in _imports("cli") if i[1].startswith("pynet.api"))
    assert uses == [("pynet.cli.system", "pynet.api.server")]

"""The docs stay true: design.md's map names every module, and the docs link only to files
that exist (issue #11: "design.md's map lists every module"; "the docs reference only files
that exist")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _layer_map() -> str:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    return section


def test_design_map_names_every_module() -> None:
    layer_map = _layer_map()
    missing = []
    for path in sorted((ROOT / "pynet").rglob("*.py")):
        if path.name == "__init__.py":
            name = path.parent.name + "/"
        else:
            name = path.name
        if not re.search(rf"(?<![\w.]){re.escape(name)}", layer_map):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == [], f"docs/design.md's layer map does not name: {missing}"


def test_the_map_names_no_module_that_does_not_exist() -> None:
    named = set(re.findall(r"(?<![\w/.])([a-z_][a-z0-9_]*\.py)\b", _layer_map()))
    present = {p.name for p in (ROOT / "pynet").rglob("*.py")}
    assert named - present == set()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_link_only_to_files_that_exist(doc: Path) -> None:
    text = doc.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    broken = [t for t in targets if "://" not in t and not (doc.parent / t).exists()]
    assert broken == [], f"{doc.name} links to missing files: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_name_only_repository_files_that_exist(doc: Path) -> None:
    text = doc.read_text()
    named = set(re.findall(r"`((?:docs|tests|bench|scripts|pynet)/[\w./-]+\.(?:md|py|sh))`", text))
    broken = sorted(n for n in named if not (ROOT / n).exists())
    assert broken == [], f"{doc.name} names missing files: {broken}"

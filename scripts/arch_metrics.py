"""Architecture figures for one git revision (the closing note of issue #11).

    python scripts/arch_metrics.py [REV]     (default HEAD)

Prints two markdown tables: (a) the package import matrix — for each pair of top-level
packages and modules under ``pynet`` (cli, wiring, cnm, ..., errors), how many ``import pynet.X`` / ``from pynet.X ...``
statements one makes into the other (lazy imports inside functions count too); (b)
function sizes — modules, functions, median and p90 lines. Files are read with
``git show REV:path``, so the working tree is not touched.
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
from collections import Counter


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def sources(rev: str) -> dict[str, str]:
    """``pynet/...py`` path -> its text at ``rev``."""
    paths = [p for p in _git("ls-tree", "-r", "--name-only", rev, "pynet").split() if p.endswith(".py")]
    return {p: _git("show", f"{rev}:{p}") for p in paths}


def package_of(path: str) -> str:
    """``pynet/cnm/x.py`` -> ``cnm``; ``pynet/errors.py`` -> ``errors``."""
    part = path.split("/")[1]
    return part[:-3] if part.endswith(".py") else part


def _targets(node: ast.AST, path: str) -> list[str]:
    """The top-level pynet packages one import statement names."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against the file's package
            base = path[:-3].split("/")[: -node.level]
            names = [".".join([*base, node.module or ""]).strip(".")]
        else:
            names = [node.module or ""]
        if names == ["pynet"]:  # from pynet import x
            names = [f"pynet.{a.name}" for a in node.names]
    else:
        return []
    return sorted({n.split(".")[1] for n in names if n.startswith("pynet.")})


def import_matrix(files: dict[str, str]) -> Counter:
    """(from package, to package) -> number of import statements (within a package: left out)."""
    counts: Counter = Counter()
    for path, text in files.items():
        src = package_of(path)
        for node in ast.walk(ast.parse(text)):
            for dst in _targets(node, path):
                if dst != src:
                    counts[src, dst] += 1
    return counts


def function_lines(files: dict[str, str]) -> list[int]:
    """Lines of every function and method (decorators and docstring included)."""
    sizes = []
    for text in files.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                sizes.append(node.end_lineno - start + 1)
    return sizes


def _p90(values: list[int]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def render(rev: str) -> str:
    files = sources(rev)
    counts = import_matrix(files)
    packages = sorted({package_of(p) for p in files} - {"__init__", "__main__"})
    rows = [f"Import matrix at {rev} (row imports column; statements):", ""]
    rows.append("| from \\ to | " + " | ".join(packages) + " |")
    rows.append("|---" * (len(packages) + 1) + "|")
    for src in packages:
        cells = [str(counts[src, dst]) if counts[src, dst] else "·" for dst in packages]
        rows.append(f"| **{src}** | " + " | ".join(cells) + " |")
    sizes = function_lines(files)
    rows += [
        "",
        f"Function sizes at {rev}:",
        "",
        "| modules | functions | median lines | p90 lines |",
        "|---|---|---|---|",
    ]
    rows.append(f"| {len(files)} | {len(sizes)} | {statistics.median(sizes):g} | {_p90(sizes):g} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(render(sys.argv[1] if len(sys.argv) > 1 else "HEAD"))

"""No import cycle in lib/minutes, counting every import the code can run.

Each module is parsed with `ast` (nothing is imported). Every `minutes` import counts: at module
level, inside functions, under `if TYPE_CHECKING:` and relative ones. `from pkg import name`
points at the submodule `pkg.name` when there is one, else at the package itself, so a module
that takes a name re-exported by its package's `__init__` closes a cycle through it. Imports
spelled as strings (importlib.import_module) are not seen.
"""
from __future__ import annotations

import ast
from pathlib import Path

from minutes import REPO_ROOT

LIB = REPO_ROOT / "lib"


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under root/package (packages by __init__)."""
    out = {}
    for f in sorted((root / package).rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that module `name` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known and m != name}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    mods = package_modules(root, package)
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected group (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_within(graph, group) for group in groups]


def _path_within(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A cycle through the group's first module, found by breadth-first search inside the group."""
    start = min(group)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in group {sorted(group)}")


def test_lib_minutes_has_no_import_cycle() -> None:
    found = cycles(import_graph(LIB, "minutes"))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_graph_sees_the_imports_that_make_cycles(tmp_path: Path) -> None:
    """The walker must find a function-local cycle, a relative one and one through __init__."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from pkg import b\n",
        "b.py": "import pkg.a\n",
        "c.py": "from . import d\n",
        "d.py": "from .c import x\n",
        "sub/__init__.py": "from pkg.sub.e import E\n",
        "sub/e.py": "from pkg.sub import F\nE = 1\n",
        "sub/f.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import e\n",
        "lone.py": "import os\nfrom pkg import sub\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.lone"] == {"pkg.sub"} and graph["pkg.sub.f"] == {"pkg.sub.e"}
    found = {frozenset(c) for c in cycles(graph)}
    assert found == {frozenset({"pkg.a", "pkg.b"}), frozenset({"pkg.c", "pkg.d"}),
                     frozenset({"pkg.sub", "pkg.sub.e"})}
    assert all(c[0] == c[-1] for c in cycles(graph))

"""No module of ``hookyard.store`` imports one that imports it back.

Every import counts: at the top, inside functions (``open_store``'s lazy backends) and
under ``TYPE_CHECKING``. ``from package import name`` counts as an import of the
submodule when ``name`` is one, as import checkers read it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hookyard.store

ROOT = Path(hookyard.store.__file__).parent
PACKAGE = "hookyard.store"


def module_names() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = path
    return found


def imports_of(path: Path, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found & modules


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each module that can reach itself, with one path that does."""
    found = []
    for start in sorted(graph):
        paths = [[start]]
        seen = set()
        while paths:
            path = paths.pop()
            for target in sorted(graph[path[-1]]):
                if target == start:
                    found.append([*path, start])
                    paths = []
                    break
                if target not in seen:
                    seen.add(target)
                    paths.append([*path, target])
    return found


def test_the_store_package_has_no_import_cycles() -> None:
    modules = module_names()
    graph = {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}
    assert "hookyard.store.sqlite" in graph["hookyard.store.registry"]  # lazy, and seen
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]

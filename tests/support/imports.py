"""The import graph of a package, read from its source, and the cycles in it.

Every import statement counts: at the top, inside functions (lazy imports) and under
``TYPE_CHECKING``, so a cycle cannot hide behind a deferred import. ``from package import
name`` counts as an import of the submodule when ``name`` is one, as import checkers read
it, and otherwise as an import of the package (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path


def module_paths(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name → source file, for every module under ``root``."""
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((package, *parts))] = path
    return found


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that the file at ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found & modules


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_paths(root, package)
    return {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}


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

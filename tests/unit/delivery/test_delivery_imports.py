"""Inside ``hookyard.delivery`` no module imports itself back through another.

Read from the source (every import statement, also those under ``TYPE_CHECKING`` or in
a function), so a cycle cannot hide behind a lazy import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hookyard.delivery

PACKAGE = "hookyard.delivery"
ROOT = Path(hookyard.delivery.__file__).parent


def imported(path: Path) -> set[str]:
    """The ``hookyard.delivery`` modules a module imports (the package itself as ``""``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for name in candidates:
            if name == PACKAGE:
                names.add("")
            elif name.startswith(PACKAGE + ".") and (ROOT / f"{name.split('.')[2]}.py").exists():
                names.add(name.split(".")[2])
    return names


def graph() -> dict[str, set[str]]:
    return {
        path.stem: imported(path) - {path.stem}
        for path in ROOT.glob("*.py")
        if path.stem != "__init__"
    }


def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                return [*trail, nxt]
            if nxt not in trail:
                stack.append((nxt, [*trail, nxt]))
    return None


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "sender" in edges["bulk"] and "exchange" in edges["handlers"]


def test_no_module_of_delivery_imports_the_package_itself() -> None:
    assert [name for name, deps in graph().items() if "" in deps] == []


def test_delivery_has_no_import_cycle() -> None:
    edges = graph()
    cycles = [c for c in (cycle_from(name, edges) for name in edges) if c is not None]
    assert cycles == []


def test_handlers_do_not_import_the_sender() -> None:
    assert "sender" not in graph()["handlers"]

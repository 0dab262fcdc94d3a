"""No module of hookyard imports one that imports it back, directly or through others.

Cycles made the import order matter (``config ↔ destinations ↔ handlers ↔ sender`` and
``store.base ↔ store.sqlite / store.postgres`` once did) and hid behind lazy and
``TYPE_CHECKING`` imports; the graph is read from the source, so those count too.
"""

from __future__ import annotations

from pathlib import Path

import hookyard
from support.imports import cycles, import_graph

GRAPH = import_graph(Path(hookyard.__file__).parent, "hookyard")


def test_the_graph_sees_every_kind_of_import() -> None:
    assert "hookyard.store.sqlite" in GRAPH["hookyard.store.registry"]  # inside a function
    assert "hookyard.cli.render" in GRAPH["hookyard.inspect"]  # under TYPE_CHECKING
    assert "hookyard.delivery.destinations" in GRAPH["hookyard.config"]  # at the top


def test_hookyard_has_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_handlers_do_not_import_the_sender() -> None:
    """What user handlers import stays small: the exchange types, not the HTTP client."""
    assert "hookyard.delivery.sender" not in GRAPH["hookyard.delivery.handlers"]


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]

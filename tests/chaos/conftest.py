"""The chaos suite: faults under load, each ending with acknowledged ⊆ stored ⊆ delivered
and no event delivered twice at once (``support.chaos``). Bounded: about a minute and a
half for the whole suite; outages are seconds long, not minutes (docs/operations.md)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.path):
            item.add_marker(pytest.mark.chaos)

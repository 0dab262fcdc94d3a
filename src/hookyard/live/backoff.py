"""How long ``listen`` and ``tail`` wait before reconnecting (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """Doubling waits from ``initial`` up to ``maximum``; ``reset`` once connected again."""

    initial: float = 0.25
    maximum: float = 10.0
    _next: float = 0.0

    def next(self) -> float:
        wait = self._next or self.initial
        self._next = min(self.maximum, wait * 2)
        return wait

    def reset(self) -> None:
        self._next = 0.0

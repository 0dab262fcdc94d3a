"""Small server-drawn bar charts (SVG rectangles): no script, no chart library."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 240
HEIGHT = 40


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int


def bars(counts: tuple[int, ...], *, width: int = WIDTH, height: int = HEIGHT) -> list[Bar]:
    """One bar per bucket, scaled to the largest; an empty bucket draws nothing."""
    if not counts:
        return []
    top = max(counts) or 1
    step = width / len(counts)
    drawn = []
    for index, count in enumerate(counts):
        if count:
            tall = max(1.0, height * count / top)
            drawn.append(
                Bar(
                    round(index * step, 2),
                    round(height - tall, 2),
                    round(max(step - 1, 1), 2),
                    round(tall, 2),
                    count,
                )
            )
    return drawn

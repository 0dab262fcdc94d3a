"""When the built-in ``[alerts]`` hook posts a notice: pure policy, no I/O.

The sampler (``hookyard.sampler``) builds an ``Observation`` every few seconds and asks
each ``Condition`` what, if anything, is worth a notice now. A condition keeps the state
it needs to page once per episode, never once per sample: ``BacklogAge`` fires when a
destination's oldest due dispatch passes the threshold and once more when it is back
under, and ``DeadLetterSummary`` posts at most one summary a period.

To add an alert condition (a mirror lane stalled, say): write a class with a ``check``
method like the ones below, and add it in ``conditions_for``. Anything it needs to see
goes into ``Observation`` (add a field with a default, so other conditions are
unaffected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hookyard.clock import US_PER_SECOND
from hookyard.delivery.alerts import AlertConfig
from hookyard.store.backlog import BacklogSample
from hookyard.timeparse import iso_from_us

Notice = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Observation:
    """What the sampler saw at ``at_us``."""

    at_us: int
    backlog: BacklogSample
    destinations: Sequence[str] = ()
    disabled: dict[str, str] = field(default_factory=dict)


class Condition(Protocol):
    def check(self, seen: Observation) -> list[Notice]:
        """Notices to post for this observation (usually none)."""
        ...


@dataclass
class BacklogAge:
    """A destination's backlog older than ``threshold`` seconds: one notice when it
    crosses, one when it is back under half of it (so a backlog hovering at the
    threshold does not page on every sample)."""

    threshold: float
    firing: set[str] = field(default_factory=set)

    def check(self, seen: Observation) -> list[Notice]:
        ages = seen.backlog.oldest_age_seconds()
        notices: list[Notice] = []
        for name in seen.destinations:
            age = ages.get(name, 0.0)
            if name not in self.firing and age > self.threshold:
                self.firing.add(name)
                notices.append(self._notice("hookyard.backlog", name, age, seen))
            elif name in self.firing and age <= self.threshold / 2:
                self.firing.discard(name)
                notices.append(self._notice("hookyard.backlog.recovered", name, age, seen))
        return notices

    def _notice(self, kind: str, name: str, age: float, seen: Observation) -> Notice:
        counts = seen.backlog.counts
        return {
            "type": kind,
            "destination": name,
            "oldest_due_seconds": round(age, 3),
            "threshold_seconds": self.threshold,
            "pending": counts.get((name, "pending"), 0),
            "retrying": counts.get((name, "retrying"), 0),
            "at": iso_from_us(seen.at_us),
        }


@dataclass
class DeadLetterSummary:
    """At most one notice a ``period``: the dead-letter queue per destination and how
    much it grew since the last summary; none while it is empty and was empty."""

    period: float
    last_us: int | None = None
    last_counts: dict[str, int] = field(default_factory=dict)

    def check(self, seen: Observation) -> list[Notice]:
        if self.last_us is None:
            # The first sample starts the period: a restart must not page at once.
            self.last_us = seen.at_us
            self.last_counts = self._dead(seen)
            return []
        if seen.at_us - self.last_us < self.period * US_PER_SECOND:
            return []
        dead = self._dead(seen)
        previous, self.last_counts, self.last_us = self.last_counts, dead, seen.at_us
        if not any(dead.values()) and not any(previous.values()):
            return []
        return [
            {
                "type": "hookyard.dead_letters.summary",
                "period_seconds": self.period,
                "dead": sum(dead.values()),
                "destinations": {
                    name: {"dead": n, "new": max(0, n - previous.get(name, 0))}
                    for name, n in sorted(dead.items())
                    if n or previous.get(name)
                },
                "at": iso_from_us(seen.at_us),
            }
        ]

    @staticmethod
    def _dead(seen: Observation) -> dict[str, int]:
        return {name: n for (name, state), n in seen.backlog.counts.items() if state == "dead"}


def conditions_for(config: AlertConfig) -> list[Condition]:
    """The conditions the ``[alerts]`` hook evaluates: register a new one here."""
    conditions: list[Condition] = []
    if config.backlog_age is not None:
        conditions.append(BacklogAge(config.backlog_age))
    if config.dead_letters == "daily":
        conditions.append(DeadLetterSummary(config.summary_every))
    return conditions


def evaluate(conditions: Sequence[Condition], seen: Observation) -> list[Notice]:
    return [notice for condition in conditions for notice in condition.check(seen)]

"""What the dispatch backlog looks like at one moment (``Backlog.sample_backlog``).

Counted are the states an operator watches: ``pending`` and ``retrying`` (work ahead),
``in_flight`` (leased), ``dead`` (the dead-letter queue) and ``disabled`` (held for a
disabled destination). ``oldest_due_us`` is, per destination, the earliest time at which
a dispatch still waiting became due: the lag an alert compares with its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookyard.clock import US_PER_SECOND

#: The states counted, in the order they are shown.
STATES = ("pending", "retrying", "in_flight", "dead", "disabled")


@dataclass(frozen=True, slots=True)
class BacklogSample:
    at_us: int
    #: (destination, state) → dispatches
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: destination → when its oldest waiting dispatch became due (absent: none is due)
    oldest_due_us: dict[str, int] = field(default_factory=dict)

    def oldest_age_seconds(self) -> dict[str, float]:
        return {
            name: max(0, self.at_us - due) / US_PER_SECOND
            for name, due in self.oldest_due_us.items()
        }

    def total(self, state: str) -> int:
        return sum(n for (_, s), n in self.counts.items() if s == state)

"""Where a stream reader stands, and what it may show yet: pure policy, no I/O.

Ids are minted at receipt and committed a little later, and commits from several
writers (two per PostgreSQL process, many processes) can land out of id order. A reader
that showed every committed id at once could pass an id that a slower commit fills in
behind it, and that event would be skipped for good. So the stream shows only ids
minted at least ``settle`` seconds ago (the *horizon*): a commit that takes longer than
that after receipt is what this trades for never skipping. Clocks of the machines that
mint ids must agree to well within ``settle`` (NTP does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hookyard.store.filters import lowest_id_at

#: How long after receipt an event is shown (see the module docstring).
SETTLE_SECONDS = 1.0
_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def is_event_id(text: str) -> bool:
    """Whether ``text`` is spelt like an event id (a ULID, upper-case Crockford base32)."""
    return _ID.match(text) is not None


def horizon(now_us: int, settle_seconds: float = SETTLE_SECONDS) -> str:
    """The lowest id the stream may not show yet at ``now_us``."""
    return lowest_id_at((now_us - int(settle_seconds * 1_000_000)) // 1000)


def live_start(now_us: int) -> str:
    """The position of a reader that starts live: after every id minted before now."""
    return lowest_id_at(now_us // 1000)


@dataclass(slots=True)
class Recheck:
    """When to read again although nothing new was heard: ``settle`` after the latest
    commit, since what it stored becomes visible only then."""

    settle_seconds: float = SETTLE_SECONDS
    due: float | None = None

    def heard(self, now: float) -> None:
        self.due = now + self.settle_seconds

    def wait(self, now: float, idle_until: float) -> float:
        """Seconds to wait from ``now``: until the recheck or, with none due, ``idle_until``."""
        if self.due is not None and self.due <= now:
            self.due = None
        target = idle_until if self.due is None else min(self.due, idle_until)
        return max(0.0, target - now)

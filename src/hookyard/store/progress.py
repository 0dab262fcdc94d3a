"""How long the writer has gone without settling anything while writes wait.

``/readyz`` calls a writer stalled when submissions have waited longer than a bound with
none of them settled (committed or failed): a database that answers nothing, a lock held
for ever. A writer that is merely busy settles something every few milliseconds. Each
backend notes a write taken and a write settled; both are a counter and a clock read.
"""

from __future__ import annotations

import time


class WriteProgress:
    __slots__ = ("_since", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self._since = time.monotonic()

    def taken(self) -> None:
        if self.waiting == 0:
            # Idle until now: the wait starts here, not at the last settled write.
            self._since = time.monotonic()
        self.waiting += 1

    def settled(self) -> None:
        self.waiting -= 1
        self._since = time.monotonic()

    def stalled_seconds(self) -> float:
        """Seconds since the last write settled, while some wait; 0 when none wait."""
        return 0.0 if self.waiting <= 0 else time.monotonic() - self._since

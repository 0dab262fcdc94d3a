"""Retention as configured, turned into purge passes: pure, no I/O, no clock.

``[server] retention`` applies to every source, ``retention`` in a source overrides it
(``"keep"`` keeps that source's events), and ``[server] dlq_retention`` is how long
dead letters stay (an event with a dead dispatch; kept when unset, as they wait for
someone to look at them). Without any of them nothing is ever purged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hookyard.durations import parse_duration
from hookyard.models import PurgeSelector

KEEP: Literal["keep"] = "keep"
SourceRetention = float | Literal["keep"] | None
"""A source's setting: seconds, ``"keep"``, or None to follow ``[server] retention``."""


def parse_retention(value: object) -> float | Literal["keep"]:
    """Seconds of a retention (``"30d"``) or ``"keep"``; ValueError with the reason."""
    if isinstance(value, str) and value.strip().lower() == KEEP:
        return KEEP
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f'must be more than 0 (or "keep"), got {value!r}')
    return seconds


@dataclass(frozen=True)
class RetentionPolicy:
    #: Seconds every source keeps its events (None: kept).
    default: float | None = None
    #: Sources with a setting of their own: seconds, or None to keep.
    sources: Mapping[str, float | None] = field(default_factory=dict)
    #: Seconds dead letters are kept (None: kept).
    dead: float | None = None
    #: Each configured source's dedup window, in seconds.
    windows: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        default: float | None,
        dead: float | None,
        sources: Mapping[str, SourceRetention],
        windows: Mapping[str, float],
    ) -> RetentionPolicy:
        own: dict[str, float | None] = {
            name: None if isinstance(r, str) else r for name, r in sources.items() if r is not None
        }
        return cls(default=default, sources=own, dead=dead, windows=dict(windows))

    @property
    def active(self) -> bool:
        """Whether a purge would ever delete anything."""
        kept = (self.default, self.dead, *self.sources.values())
        return any(seconds is not None for seconds in kept)

    def selectors(self, now_us: int) -> list[PurgeSelector]:
        """The passes of one purge at ``now_us``: each source with its own retention,
        then every other source, then the dead letters."""
        passes = [
            PurgeSelector(cutoff_us=_cutoff(now_us, seconds), sources=(name,))
            for name, seconds in sorted(self.sources.items())
            if seconds is not None
        ]
        if self.default is not None:
            passes.append(
                PurgeSelector(
                    cutoff_us=_cutoff(now_us, self.default), excluded=tuple(sorted(self.sources))
                )
            )
        if self.dead is not None:
            passes.append(PurgeSelector(cutoff_us=_cutoff(now_us, self.dead), dead=True))
        return passes

    def replay_cutoff(self, now_us: int) -> int | None:
        """Finished replay batches created before this (the shortest retention ago), of
        which no dispatch is left, go too; None when nothing is purged."""
        kept = [s for s in (self.default, self.dead, *self.sources.values()) if s is not None]
        return _cutoff(now_us, min(kept)) if kept else None

    @property
    def outlives_dedup_keys(self) -> bool:
        """Whether some events go before their dedup window ends: their keys stay until
        it does, and a later run sweeps them (``purge_dedup_keys``)."""
        for name, window in self.windows.items():
            seconds = self.sources.get(name, self.default)
            if seconds is not None and seconds < window:
                return True
        return self.dead is not None and any(self.dead < w for w in self.windows.values())

    def overridden(
        self, older_than: float | None, dead_older_than: float | None
    ) -> RetentionPolicy:
        """``hookyard purge --older-than D``: D for every source, whatever its setting."""
        if older_than is None and dead_older_than is None:
            return self
        return RetentionPolicy(
            default=older_than if older_than is not None else self.default,
            sources={} if older_than is not None else self.sources,
            dead=dead_older_than if dead_older_than is not None else self.dead,
            windows=self.windows,
        )


def _cutoff(now_us: int, seconds: float) -> int:
    return now_us - int(seconds * 1_000_000)

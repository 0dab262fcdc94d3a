"""One purge run: every pass of the policy, batch after batch, with progress.

Batches are small (``BATCH`` events) and a pause may separate them, so ingest and
workers keep their share of the database; each batch is its own transaction, so a run
stopped half-way has deleted whole events only and the next run goes on from there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hookyard.models import PurgeCounts, PurgeSelector
from hookyard.retention.policy import RetentionPolicy
from hookyard.store.base import Retention

BATCH = 500
#: Dedup keys and replay batches per statement, when their owners are gone.
SWEEP_BATCH = 5_000


@dataclass
class PurgeProgress:
    """How far a run has come: events looked at of about ``candidates``, rows deleted."""

    dry_run: bool
    candidates: int = 0
    examined: int = 0
    counts: PurgeCounts = field(default_factory=PurgeCounts)
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "examined": self.examined,
            **self.counts.as_dict(),
            "seconds": round(self.seconds, 3),
        }


Report = Callable[[PurgeProgress], None]


class PurgeLocked(Exception):
    """Another process holds the purge lock."""


async def run_purge(
    store: Retention,
    policy: RetentionPolicy,
    *,
    now_us: int,
    dry_run: bool = False,
    batch: int = BATCH,
    pause: float = 0.0,
    report: Report | None = None,
) -> PurgeProgress:
    """Purge what ``policy`` lets go at ``now_us``; raises ``PurgeLocked`` when another
    process is purging (PostgreSQL)."""
    progress = PurgeProgress(dry_run=dry_run)
    async with store.purge_lock() as held:
        if not held:
            raise PurgeLocked
        passes = policy.selectors(now_us)
        for selector in passes:
            progress.candidates += await store.count_purge_candidates(selector)
        if report is not None:
            report(progress)
        for selector in passes:
            await _run_pass(store, selector, progress, now_us, dry_run, batch, pause, report)
        if policy.outlives_dedup_keys:
            progress.counts += PurgeCounts(
                dedup_keys=await _sweep(
                    lambda limit: store.purge_dedup_keys(
                        now_us=now_us, limit=limit, dry_run=dry_run
                    ),
                    dry_run,
                )
            )
        cutoff = policy.replay_cutoff(now_us)
        if cutoff is not None:
            progress.counts += PurgeCounts(
                replay_batches=await _sweep(
                    lambda limit: store.purge_replay_batches(
                        before_us=cutoff, limit=limit, dry_run=dry_run
                    ),
                    dry_run,
                )
            )
    if report is not None:
        report(progress)
    return progress


async def _run_pass(
    store: Retention,
    selector: PurgeSelector,
    progress: PurgeProgress,
    now_us: int,
    dry_run: bool,
    batch: int,
    pause: float,
    report: Report | None,
) -> None:
    after = ""
    while True:
        step = await store.purge_events(
            selector, now_us=now_us, after=after, limit=batch, dry_run=dry_run
        )
        progress.examined += step.examined
        progress.counts += step.counts
        if report is not None:
            report(progress)
        if step.last_id is None or step.examined < batch:
            return
        after = step.last_id
        await asyncio.sleep(pause)  # at 0 still a turn of the loop for everyone else


async def _sweep(step: Callable[[int], Awaitable[int]], dry_run: bool) -> int:
    if dry_run:  # nothing goes, so one count (up to a bound) says it all
        return await step(SWEEP_BATCH * 100)
    total = 0
    while True:
        done = await step(SWEEP_BATCH)
        total += done
        if done < SWEEP_BATCH:
            return total

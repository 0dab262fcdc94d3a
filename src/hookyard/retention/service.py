"""The background purge of ``hookyard serve``: a run soon after start, then one every
``[server] purge_interval``, which purges what retention lets go and then redacts the
bodies past ``redact_after``. A failed run is logged and the next one tries again; on
PostgreSQL a purge that finds another process purging is skipped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from hookyard.clock import now_us
from hookyard.logs import log_event
from hookyard.redaction.fields import FieldRedaction
from hookyard.redaction.runner import RedactionCounts, run_redaction
from hookyard.retention.policy import RetentionPolicy
from hookyard.retention.purge import PurgeLocked, PurgeProgress, run_purge
from hookyard.store.base import Store

log = logging.getLogger("hookyard.retention")
#: The first run waits this long (or the interval, if shorter): start-up comes first.
FIRST_RUN_DELAY = 10.0
#: Between batches: a background purge yields the database to ingest often.
PAUSE = 0.02
#: Events per batch in the background. On SQLite a batch's deletions run in the writer,
#: on the event loop that also serves ingest: 500 events took ~30 ms there (bench/purge),
#: 100 keep each stall to a few milliseconds. ``hookyard purge`` runs in a process of
#: its own and takes 500.
BACKGROUND_BATCH = 100


class RetentionService:
    def __init__(
        self,
        store: Store,
        policy: RetentionPolicy,
        *,
        interval: float,
        redactions: Sequence[FieldRedaction] = (),
        batch: int = BACKGROUND_BATCH,
        pause: float = PAUSE,
    ) -> None:
        self.store = store
        self.policy = policy
        self.redactions = tuple(redactions)
        self.interval = interval
        self.batch = batch
        self.pause = pause
        self.runs = 0  # finished runs, for tests and metrics
        self.last: PurgeProgress | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="hookyard-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> PurgeProgress | None:
        progress = None
        if self.policy.active:
            try:
                progress = await run_purge(
                    self.store, self.policy, now_us=now_us(), batch=self.batch, pause=self.pause
                )
            except PurgeLocked:
                log_event(log, logging.INFO, "purge skipped: another process is purging")
            else:
                self.last = progress
                log_event(log, logging.INFO, "purge done", **progress.as_dict())
        if self.redactions:
            counts: RedactionCounts = await run_redaction(
                self.store, self.redactions, now_us=now_us(), pause=self.pause
            )
            log_event(
                log,
                logging.INFO,
                "redaction done",
                examined=counts.examined,
                redacted=counts.redacted,
            )
        self.runs += 1
        return progress

    async def _loop(self) -> None:
        await asyncio.sleep(min(FIRST_RUN_DELAY, self.interval))
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server goes on; the next run tries again
                log_event(log, logging.ERROR, "purge failed", error=str(exc)[:300])
            await asyncio.sleep(self.interval)

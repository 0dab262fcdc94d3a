"""The mirror lane: reads the event log by cursor and sends each sampled event once.

Per batch it reads the candidates after its cursor (events at least ``SETTLE_US`` old, so
a group commit still in flight lands before the cursor passes it), decides each one in
order (too old → ``lagging``, out of the sample → ``sampled_out``, bucket empty →
``rate_limited``, unshapeable body, ``dry_run``), sends the rest concurrently through
``delivery.attempt`` (one attempt, no retry), then records every row, its counts and
the new cursor in one transaction. A crash between sending and recording re-sends at
most one batch after a restart; nothing is skipped. Store and network failures are
logged once and retried with backoff: the lane outlives a database restart.

``backfill`` sends stored traffic of a past window through the same decisions and log,
paced by the bucket instead of dropped by it, without moving the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hookyard.clock import now_us
from hookyard.delivery.attempt import attempt
from hookyard.delivery.transport import Transport
from hookyard.logs import log_event
from hookyard.mirror.bucket import TokenBucket
from hookyard.mirror.copy import CopyMaker, MirrorCopy, NotCopied
from hookyard.mirror.pressure import Headroom
from hookyard.mirror.records import NOT_SENT_REASONS, MirrorCopyRecord, MirrorCursor
from hookyard.mirror.sampling import in_sample, sample_key
from hookyard.mirror.settings import Mirror
from hookyard.models import DeliveryEvent
from hookyard.store.base import MirrorLog, ReleaseLane
from hookyard.supervision import Supervisor

log = logging.getLogger("hookyard.mirror")

#: Events younger than this are left for the next batch (commits in flight settle first).
SETTLE_US = 1_000_000
BATCH = 200
#: Copies in flight at once per lane.
CONCURRENCY = 32
IDLE_SECONDS = 0.25
HEARTBEAT_SECONDS = 5.0
#: Before every event (no id is empty).
SCAN_START = MirrorCursor(-1, "")


@dataclass(frozen=True, slots=True)
class Planned:
    """A candidate decided: a copy to send, or its log row already complete."""

    event: DeliveryEvent
    copy: MirrorCopy | None = None
    row: MirrorCopyRecord | None = None


class Decider:
    """The per-event policy of one mirror, in order: age, sample, shape, bucket."""

    def __init__(self, mirror: Mirror, maker: CopyMaker, *, now: float) -> None:
        self.mirror = mirror
        self.maker = maker
        self.bucket = (
            None if mirror.rate is None else TokenBucket(mirror.rate, mirror.burst, now=now)
        )

    def plan(self, event: DeliveryEvent, at_us: int, *, check_lag: bool, pace: bool) -> Planned:
        mirror = self.mirror
        if check_lag and at_us - event.received_us > mirror.max_lag_seconds * 1_000_000:
            return Planned(event, row=not_sent(mirror, event, at_us, "lagging"))
        if not in_sample(sample_key(event, mirror.sample_by), mirror.sample_rate):
            return Planned(event, row=not_sent(mirror, event, at_us, "sampled_out"))
        made = self.maker.make(event)
        if isinstance(made, NotCopied):
            return Planned(event, row=not_sent(mirror, event, at_us, made.reason, made.detail))
        if not pace and self.bucket is not None and not self.bucket.take(at_us / 1_000_000):
            return Planned(event, row=not_sent(mirror, event, at_us, "rate_limited"))
        return Planned(event, copy=made)


def not_sent(
    mirror: Mirror, event: DeliveryEvent, at_us: int, reason: str, detail: str | None = None
) -> MirrorCopyRecord:
    return MirrorCopyRecord(
        mirror=mirror.name,
        event_id=event.id,
        source=event.source,
        event_type=event.event_type,
        received_us=event.received_us,
        sent_us=at_us,
        reason=reason,
        error_message=detail,
    )


async def send_copy(mirror: Mirror, copy: MirrorCopy, transport: Transport) -> MirrorCopyRecord:
    """One attempt, never retried; a dry run records the request it would have sent."""
    event = copy.event
    done = await attempt(copy.destination, event, 1, transport)
    result = done.result
    return MirrorCopyRecord(
        mirror=mirror.name,
        event_id=event.id,
        source=event.source,
        event_type=event.event_type,
        received_us=event.received_us,
        sent_us=result.started_us,
        reason="dry_run" if done.kind == "dry_run" else None,
        body_sha256=copy.body_sha256,
        status_code=result.status_code,
        error_class=result.error_class,
        error_message=result.error_message,
        latency_ms=round(result.latency_ms, 3),
        response_headers=result.response_headers,
        response_excerpt=result.response_excerpt,
    )


class Sender:
    """Sends planned copies, at most ``CONCURRENCY`` at once, rows back in event order."""

    def __init__(self, mirror: Mirror, transport: Transport) -> None:
        self.mirror = mirror
        self.transport = transport
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def rows(self, planned: Sequence[Planned]) -> list[MirrorCopyRecord]:
        async def one(item: Planned) -> MirrorCopyRecord:
            if item.row is not None:
                return item.row
            assert item.copy is not None
            async with self._slots:
                return await send_copy(self.mirror, item.copy, self.transport)

        return list(await asyncio.gather(*(one(item) for item in planned)))


class Lane:
    """One mirror's lane: ``step`` handles one batch; ``run`` loops until stopped."""

    def __init__(
        self,
        mirror: Mirror,
        store: MirrorLog,
        maker: CopyMaker,
        transport: Transport,
        *,
        clock: Callable[[], int] = now_us,
        settle_us: int = SETTLE_US,
        batch: int = BATCH,
        supervisor: Supervisor | None = None,
        headroom: Headroom | None = None,
    ) -> None:
        self.mirror = mirror
        self.store = store
        self.transport = transport
        self.clock = clock
        self.settle_us = settle_us
        self.batch = batch
        self.supervisor = supervisor or Supervisor()
        self.headroom = headroom or Headroom(mirror.max_cpu_pressure, name=mirror.name)
        self.decider = Decider(mirror, maker, now=clock() / 1_000_000)
        self.sender = Sender(mirror, transport)
        self.cursor: MirrorCursor | None = None
        self._loaded = False
        self._last_beat = 0.0

    async def step(self) -> int:
        """Read and handle one batch; returns how many candidates it read."""
        if not self._loaded:
            state = await self.store.mirror_lane(self.mirror.name)
            self.cursor = None if state is None else state.cursor
            self._loaded = True
        now = self.clock()
        until_us = now - self.settle_us
        events = await self.store.mirror_candidates(
            sources=self.mirror.sources, after=self.cursor, until_us=until_us, limit=self.batch
        )
        behind = len(events) == self.batch
        # A short batch read everything received up to ``until_us``: the cursor moves
        # past it, so a quiet source's lane does not rescan the busy sources' events
        # since its own last one. (No id is "", so nothing at until_us + 1 is skipped.)
        cursor = (
            MirrorCursor(events[-1].received_us, events[-1].id)
            if behind
            else max(self.cursor or SCAN_START, MirrorCursor(until_us + 1, ""))
        )
        if not events:
            self.cursor = cursor
            await self._heartbeat(now)
            return 0
        wanted = [e for e in events if self.decider.maker.wants(e)]
        planned = [self.decider.plan(e, now, check_lag=True, pace=False) for e in wanted]
        rows = await self.sender.rows(planned)
        lag = max(0, self.clock() - events[-1].received_us) if behind else 0
        await self.store.record_mirror_copies(
            self.mirror.name, rows, cursor=cursor, now_us=self.clock(), lag_us=lag
        )
        self.cursor = cursor
        self._last_beat = time.monotonic()
        return len(events)

    async def _heartbeat(self, now: int) -> None:
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            await self.store.record_mirror_copies(
                self.mirror.name, [], cursor=self.cursor, now_us=now, lag_us=0
            )
            self._last_beat = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the lane, then drain the log until ``stop`` is set, surviving failures."""
        release = await self._hold(stop)
        if release is None:
            return

        async def one_pass() -> None:
            if not await self.headroom.wait(stop):
                return
            if await self.step() < self.batch:
                await _sleep(stop, IDLE_SECONDS)

        try:
            # The lane must outlive a store or network outage: the shared supervisor logs
            # one line an episode and backs off.
            await self.supervisor.run(
                f"mirror-{self.mirror.name}", one_pass, stopping=stop.is_set, logger=log
            )
        finally:
            await release()

    async def _hold(self, stop: asyncio.Event) -> ReleaseLane | None:
        announced = False
        while not stop.is_set():
            try:
                release = await self.store.hold_mirror_lane(self.mirror.name)
            except Exception as exc:
                log_event(
                    log,
                    logging.ERROR,
                    "mirror lane cannot reach the store",
                    mirror=self.mirror.name,
                    error=str(exc),
                )
                release = None
            if release is not None:
                log_event(log, logging.INFO, "mirror lane running", mirror=self.mirror.name)
                return release
            if not announced:
                log_event(
                    log,
                    logging.INFO,
                    "mirror lane held elsewhere; waiting",
                    mirror=self.mirror.name,
                )
                announced = True
            await _sleep(stop, 2.0)
        return None


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(slots=True)
class BackfillTally:
    read: int = 0
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, rows: Sequence[MirrorCopyRecord]) -> None:
        self.read += len(rows)
        for row in rows:
            self.outcomes[row.outcome] = self.outcomes.get(row.outcome, 0) + 1

    @property
    def sent(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome not in NOT_SENT_REASONS)


async def backfill(
    mirror: Mirror,
    store: MirrorLog,
    maker: CopyMaker,
    transport: Transport,
    *,
    since_us: int,
    until_us: int,
    sources: Sequence[str] | None = None,
    on_batch: Callable[[BackfillTally], None] | None = None,
    clock: Callable[[], int] = now_us,
) -> BackfillTally:
    """Send the stored events of ``[since_us, until_us]`` through the mirror, once each,
    paced by its bucket (waiting for a token, never dropping); the lane's cursor stays."""
    decider = Decider(mirror, maker, now=clock() / 1_000_000)
    sender = Sender(mirror, transport)
    tally = BackfillTally()
    # At most one bucket's worth per batch, so the pace holds within a batch as well.
    size = BATCH if mirror.rate is None else max(1, min(BATCH, mirror.burst))
    after = MirrorCursor(since_us, "")  # every event received at since_us or later
    while True:
        events = await store.mirror_candidates(
            sources=sources or mirror.sources, after=after, until_us=until_us, limit=size
        )
        if not events:
            return tally
        after = MirrorCursor(events[-1].received_us, events[-1].id)
        planned = []
        for event in events:
            if not maker.wants(event):
                continue
            plan = decider.plan(event, clock(), check_lag=False, pace=True)
            if plan.copy is not None and decider.bucket is not None:
                await _wait_for_token(decider.bucket, clock)
            planned.append(plan)
        rows = await sender.rows(planned)
        await store.record_mirror_copies(mirror.name, rows, cursor=None, now_us=clock())
        tally.add(rows)
        if on_batch is not None:
            on_batch(tally)


async def _wait_for_token(bucket: TokenBucket, clock: Callable[[], int]) -> None:
    """Sleep a token's worth at a time until the bucket gives one (it cannot be woken
    earlier: tokens only come with time)."""
    while not bucket.take(clock() / 1_000_000):  # noqa: ASYNC110
        await asyncio.sleep(1 / bucket.rate)

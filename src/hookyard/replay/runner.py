"""Running a replay: select, record the batch, attempt each event once, record the results.

A feeder reads events a chunk ahead and paces them (the rate limit), ``concurrency``
workers attempt them, and a recorder writes the results in groups, with a heartbeat
while none finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from hookyard.clock import now_us
from hookyard.delivery.attempt import Attempted, attempt, attempt_record, not_attempted
from hookyard.delivery.bulk import BulkSender
from hookyard.delivery.exchange import SendResult
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.delivery.ratelimit import TokenBucket
from hookyard.delivery.transport import Transport
from hookyard.exceptions import StoreSaturated, UnknownName
from hookyard.ids import new_id
from hookyard.logs import log_event
from hookyard.models import DeliveryEvent, ReplayBatch, ReplayDispatchStatus, ReplayResult
from hookyard.replay.plan import ReplayPlan
from hookyard.store.base import ReplayLog, ReplayStore

log = logging.getLogger("hookyard.replay")

#: Events read from the store at a time.
LOAD_CHUNK = 256
#: Ids listed per query when a filter selects the events.
SELECT_PAGE = 1000
#: Results written per transaction, and the longest a result waits to be written.
FLUSH_ROWS = 256
FLUSH_SECONDS = 0.2
#: A running batch writes at least this often, results or not, so that readers can tell
#: one whose process is gone (killed, crashed) from one that is only slow or paced.
HEARTBEAT_SECONDS = 5.0
PREVIEW_COUNT = 5


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        return self.delivered + self.failed + self.skipped

    def add(self, status: ReplayDispatchStatus, count: int = 1) -> None:
        if status == "delivered":
            self.delivered += count
        elif status == "failed":
            self.failed += count
        else:
            self.skipped += count


ProgressCallback = Callable[[Tally], None]


class _Recorder:
    """Collects results and writes them in groups, one transaction each, off the send path.

    A write that has started is shielded from cancellation and awaited before the
    last one, so a result is written exactly once even when the run is interrupted.
    """

    def __init__(
        self, store: ReplayLog, batch_id: str, on_progress: ProgressCallback | None
    ) -> None:
        self.store = store
        self.batch_id = batch_id
        self.on_progress = on_progress
        self.tally = Tally()
        self._pending: list[ReplayResult] = []
        self._missing = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._writing: asyncio.Task[None] | None = None
        self._written = time.monotonic()

    def add(self, result: ReplayResult) -> None:
        self._pending.append(result)
        self.tally.add(result.status)
        if len(self._pending) >= FLUSH_ROWS:
            self._wake.set()
        if self.on_progress is not None:
            self.on_progress(self.tally)

    def missing(self, count: int) -> None:
        """Events selected but gone when read: counted as failed, no dispatch to write."""
        if count:
            self._missing += count
            self.tally.add("failed", count)
            if self.on_progress is not None:
                self.on_progress(self.tally)

    async def run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush(heartbeat=time.monotonic() - self._written >= HEARTBEAT_SECONDS)

    async def flush(self, *, heartbeat: bool = False) -> None:
        """Write what has finished; with ``heartbeat``, write (the time) even if nothing has."""
        if self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)
        if not self._pending and not self._missing and not heartbeat:
            return
        results, self._pending = self._pending, []
        missing, self._missing = self._missing, 0
        self._writing = asyncio.create_task(self._write(results, missing))
        await asyncio.shield(self._writing)

    async def _write(self, results: list[ReplayResult], missing: int) -> None:
        for pause in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, None):
            try:
                await self.store.record_replay_results(
                    self.batch_id, results, missing=missing, now_us=now_us()
                )
                self._written = time.monotonic()
                return
            except StoreSaturated:
                if pause is None:
                    raise
                await asyncio.sleep(pause)  # the writer is busy with ingest: wait a little

    async def close(self) -> None:
        """Write whatever is left (also after a cancellation)."""
        self._closed = True
        self._wake.set()
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        await self.flush()


class Replayer:
    """Runs replays against one store. One instance may run one batch at a time."""

    def __init__(
        self,
        store: ReplayStore,
        *,
        client: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
        policy: NetPolicy | None = None,
    ) -> None:
        self.store = store
        #: Where the SSRF guard lets the default transport connect; none private by default.
        self.policy = NetPolicy() if policy is None else policy
        self.client = client
        #: What sends HTTP attempts; by default a ``BulkSender`` over ``client`` per run.
        self.transport = transport
        self._handled: set[str] = set()

    async def select(self, plan: ReplayPlan) -> list[str]:
        """The ids to replay, in the order they will go: as given, or oldest first.

        With a filter and a limit, the newest ``limit`` matching events are chosen.
        Raises ``UsageError`` naming an id that is not stored.
        """
        if plan.query is None:
            ids = list(dict.fromkeys(plan.ids))
            known = await self.store.known_event_ids(ids)
            missing = [event_id for event_id in ids if event_id not in known]
            if missing:
                more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
                raise UnknownName(f"no event with id {missing[0]!r}{more}")
            return ids
        found: list[str] = []
        cursor: str | None = None
        while plan.max_events is None or len(found) < plan.max_events:
            page = SELECT_PAGE
            if plan.max_events is not None:
                page = min(page, plan.max_events - len(found))
            rows = await self.store.list_events(
                dataclasses.replace(plan.query, limit=page, cursor=cursor)
            )
            found.extend(row.id for row in rows)
            if len(rows) < page:
                break
            cursor = rows[-1].id
        found.reverse()
        return found

    async def preview(self, ids: Sequence[str], count: int = PREVIEW_COUNT) -> list[DeliveryEvent]:
        """The first ``count`` events a replay of ``ids`` would send."""
        head = list(ids[:count])
        by_id = {p.id: p for p in await self.store.replay_payloads(head)}
        return [by_id[event_id] for event_id in head if event_id in by_id]

    async def begin(self, plan: ReplayPlan, ids: Sequence[str]) -> ReplayBatch:
        """Record a new running batch for ``ids``."""
        created = now_us()
        batch = ReplayBatch(
            id=new_id(),
            created_us=created,
            selection=dict(plan.selection),
            target=plan.target.label,
            total=len(ids),
            status="running",
            updated_us=created,
            options=plan.options(),
        )
        await self.store.create_replay_batch(batch)
        log_event(
            log,
            logging.INFO,
            "replay started",
            batch_id=batch.id,
            destination=batch.target,
            total=batch.total,
        )
        return batch

    async def run(
        self,
        batch: ReplayBatch,
        plan: ReplayPlan,
        ids: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
    ) -> ReplayBatch:
        """Replay ``ids`` once each; returns the finished batch as stored.

        The batch ends ``done`` (whatever the outcomes), ``cancelled`` when the run is
        cancelled (Ctrl-C, server shutdown), or ``failed`` when the store fails; in
        the last two cases the exception propagates after the batch is marked.
        """
        recorder = _Recorder(self.store, batch.id, on_progress)
        transport = (
            BulkSender(self.client, policy=self.policy)
            if self.transport is None
            else self.transport
        )
        status, error = "done", None
        started = time.perf_counter()
        try:
            queue: asyncio.Queue[DeliveryEvent | None] = asyncio.Queue(plan.concurrency * 2)
            async with asyncio.TaskGroup() as group:
                writer = group.create_task(recorder.run())
                feeder = group.create_task(self._feed(plan, ids, queue, recorder))
                workers = [
                    group.create_task(self._work(plan, transport, queue, recorder))
                    for _ in range(plan.concurrency)
                ]
                await feeder
                await asyncio.gather(*workers)
                await recorder.close()
                await writer
        except asyncio.CancelledError:
            status, error = "cancelled", "the run was interrupted"
            raise
        except BaseExceptionGroup as group_error:
            first = group_error.exceptions[0]
            status, error = "failed", f"{type(first).__name__}: {first}"
            raise first from None
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # Write what was done, then the ending; a store failing here must not hide
            # the error (or cancellation) already on its way out.
            with contextlib.suppress(Exception):
                await recorder.close()
            with contextlib.suppress(Exception):
                await self.store.finish_replay_batch(batch.id, status, now_us=now_us(), error=error)
            if self.transport is None:
                await transport.aclose()
            log_event(
                log,
                logging.INFO,
                "replay finished",
                batch_id=batch.id,
                destination=batch.target,
                outcome=status,
                total=batch.total,
                delivered=recorder.tally.delivered,
                failed=recorder.tally.failed,
                skipped=recorder.tally.skipped,
                seconds=round(time.perf_counter() - started, 3),
            )
        final = await self.store.get_replay_batch(batch.id)
        assert final is not None
        return final

    async def _feed(
        self,
        plan: ReplayPlan,
        ids: Sequence[str],
        queue: asyncio.Queue[DeliveryEvent | None],
        recorder: _Recorder,
    ) -> None:
        rate = plan.effective_rate
        bucket = TokenBucket(rate, burst=max(1.0, rate / 10)) if rate else None
        chunks = [ids[start : start + LOAD_CHUNK] for start in range(0, len(ids), LOAD_CHUNK)]
        loading = asyncio.create_task(self.store.replay_payloads(chunks[0])) if chunks else None
        try:
            for index, chunk in enumerate(chunks):
                assert loading is not None
                payloads = await loading
                # Read the next chunk while this one is being sent.
                loading = (
                    asyncio.create_task(self.store.replay_payloads(chunks[index + 1]))
                    if index + 1 < len(chunks)
                    else None
                )
                by_id = {p.id: p for p in payloads}
                recorder.missing(len(chunk) - len(by_id))
                for event_id in chunk:
                    payload = by_id.get(event_id)
                    if payload is None:
                        continue
                    if bucket is not None:
                        await bucket.acquire()
                    await queue.put(payload)
        finally:
            if loading is not None and not loading.done():
                loading.cancel()
        for _ in range(plan.concurrency):
            await queue.put(None)

    async def _work(
        self,
        plan: ReplayPlan,
        transport: Transport,
        queue: asyncio.Queue[DeliveryEvent | None],
        recorder: _Recorder,
    ) -> None:
        while (payload := await queue.get()) is not None:
            recorder.add(await self.replay_one(plan, transport, payload))

    async def replay_one(
        self, plan: ReplayPlan, transport: Transport, payload: DeliveryEvent
    ) -> ReplayResult:
        """Attempt one event once; never raises for the receiver's or handler's failure."""
        destination = plan.target.destination
        key = payload.idempotency_key
        processed_key = None
        if destination.kind == "handler" and not destination.dry_run:
            if not plan.force and (
                key in self._handled or await self.store.is_processed(destination.name, key)
            ):
                reason = "skipped: already processed by this handler (force runs it again)"
                return self._result(plan, payload.id, "skipped", not_attempted(), reason)
            self._handled.add(key)
            processed_key = (destination.name, key, payload.id)
        done = await attempt(destination, payload, 1, transport, replay_of=payload.id)
        status, reason = _judge(done)
        return self._result(
            plan,
            payload.id,
            status,
            done.result,
            reason,
            processed_key=processed_key if status == "delivered" else None,
        )

    def _result(
        self,
        plan: ReplayPlan,
        event_id: str,
        status: ReplayDispatchStatus,
        sent: SendResult,
        decision: str,
        *,
        processed_key: tuple[str, str, str] | None = None,
    ) -> ReplayResult:
        dispatch_id = new_id()
        record = attempt_record(dispatch_id, 1, sent, decision)
        log_event(
            log,
            logging.INFO,
            "replay attempt",
            event_id=event_id,
            dispatch_id=dispatch_id,
            destination=plan.target.label,
            attempt=1,
            status_code=sent.status_code,
            latency_ms=record.latency_ms,
            outcome=status,
            replay_of=event_id,
        )
        return ReplayResult(
            dispatch_id=dispatch_id,
            event_id=event_id,
            destination=plan.target.label,
            status=status,
            attempt=record,
            processed_key=processed_key,
        )


def _judge(done: Attempted) -> tuple[ReplayDispatchStatus, str]:
    """A replay's rule: one attempt, a success is delivered, anything else failed."""
    sent = done.result
    if done.kind == "dry_run":
        return "dry_run", "dry_run: the destination is in dry-run mode; built, not sent"
    if done.kind == "handled":
        if sent.error_kind is None:
            return "delivered", "delivered: handler returned"
        return "failed", f"failed: {sent.error_class}: {sent.error_message} (not retried)"
    code = sent.status_code
    if code is not None and 200 <= code < 300:
        return "delivered", f"delivered: HTTP {code}"
    reason = f"HTTP {code}" if code is not None else f"{sent.error_class}: {sent.error_message}"
    return "failed", f"failed: {reason} (not retried)"

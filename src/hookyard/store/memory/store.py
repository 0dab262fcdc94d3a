"""``MemoryStore``: the in-memory backend (see the package docstring for what it models).

The tables and the SQL statements restated over them are in ``tables``; this module
is the store interface, the group-commit queue and the registry of named stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from hookyard.exceptions import ConfigError, StoreError, StoreSaturated
from hookyard.keyring import PLAIN, Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import (
    BACKLOG_STATUSES,
    AttemptRecord,
    AuditEntry,
    BodyRedaction,
    ClaimedDispatch,
    DeliveryEvent,
    DestinationActivity,
    DestinationMode,
    DestinationState,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    PurgeSelector,
    PurgeStep,
    RedactionCandidate,
    ReplayBatch,
    ReplayBatchStatus,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store.activity import Activity
from hookyard.store.backlog import STATES, BacklogSample
from hookyard.store.base import ReleaseLane, Store
from hookyard.store.memory import activity, mirror
from hookyard.store.memory import tables as tables_
from hookyard.store.memory.tables import Tables, json_copy, limited
from hookyard.store.payloads import ResealBatch, open_body, seal_submission, stored_form
from hookyard.store.progress import WriteProgress
from hookyard.supervision import Supervisor

T = TypeVar("T")
SCHEME = "memory://"
MAX_BATCH = 512  # as SQLite's writer: how many submissions one commit takes at most

#: How often the live stream's watch looks for new events (as ``CHANGE_POLL_SECONDS``).
EVENT_POLL_SECONDS = 0.025

_NAMED: dict[str, Tables] = {}


def _attach(url: str) -> Tables:
    tables = Tables() if url == SCHEME else _NAMED.setdefault(url, Tables())
    tables.stores += 1
    return tables


def _detach(url: str, tables: Tables) -> None:
    tables.stores -= 1
    if tables.stores == 0 and _NAMED.get(url) is tables:
        del _NAMED[url]


@dataclass(slots=True)
class _Job:
    """A submission to group-commit, or a transaction to run after the batch's submissions."""

    future: asyncio.Future[Any]
    submission: Submission | None = None
    call: Callable[[Tables], Any] | None = None


def run_jobs(tables: Tables, jobs: Sequence[_Job]) -> list[tuple[Any, BaseException | None]]:
    """One commit, as SQLite's ``run_jobs``: the submissions together (one by one if that
    is refused, so only the one at fault fails), then each call on its own."""
    submissions = [job.submission for job in jobs if job.submission is not None]
    written: dict[int, tuple[Any, BaseException | None]] = {}
    try:
        for sub, result in zip(
            submissions, tables_.write_submissions(tables, submissions), strict=True
        ):
            written[id(sub)] = (result, None)
    except Exception:
        for sub in submissions:
            alone = _outcome(functools.partial(_write_one, submission=sub), tables)
            written[id(sub)] = _store_error(alone)
    outcomes = []
    for job in jobs:
        if job.submission is not None:
            outcomes.append(written[id(job.submission)])
        else:
            assert job.call is not None
            outcomes.append(_outcome(job.call, tables))
    return outcomes


def _write_one(tables: Tables, submission: Submission) -> WriteResult:
    return tables_.write_submissions(tables, [submission])[0]


def _outcome(call: Callable[[Tables], Any], tables: Tables) -> tuple[Any, BaseException | None]:
    try:
        return call(tables), None
    except Exception as exc:
        return None, exc


def _store_error(outcome: tuple[Any, BaseException | None]) -> tuple[Any, BaseException | None]:
    error = outcome[1]
    if error is None or isinstance(error, StoreError):
        return outcome
    return None, StoreError(f"store write failed: {error}")


class MemoryStore(Store):
    def __init__(
        self, url: str = SCHEME, *, queue_size: int = 10_000, keyring: Keyring = PLAIN
    ) -> None:
        if not url.startswith(SCHEME):
            raise ConfigError(f"not an in-memory store: {url!r}; use memory:// or memory://NAME")
        self.url = url
        #: Seals bodies and header lists as they are taken, opens them as they are read.
        self.keyring = keyring
        self.queue_size = queue_size
        self._tables: Tables | None = None
        self._waiting: list[_Job] = []
        self._scheduled = False
        self._pending = 0
        self._closing = False
        self._idle = asyncio.Event()  # set while nothing waits to be committed
        self._idle.set()
        #: Called on the event loop after a commit that created dispatches (worker wake-up).
        self.on_dispatch: list[Callable[[], None]] = []
        self.loops = Supervisor()
        self.progress = WriteProgress()  # nothing runs in the background here

    # -- lifecycle -----------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        return []  # the tables exist from the start

    async def start(self) -> None:
        if self._tables is None:
            self._tables = _attach(self.url)
            try:
                await self.check_keys()
            except BaseException:
                _detach(self.url, self._tables)
                self._tables = None
                raise

    async def ping(self) -> None:
        if self._tables is None:
            raise StoreError("store is not started")

    async def close(self) -> None:
        self._closing = True
        await self._idle.wait()  # what was taken before commits first
        if self._tables is not None:
            _detach(self.url, self._tables)
            self._tables = None

    @property
    def tables(self) -> Tables:
        if self._tables is None:
            raise StoreError("store is not started")
        return self._tables

    # -- writes --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    def stalled_seconds(self) -> float:
        return self.progress.stalled_seconds()

    async def submit(self, submission: Submission) -> WriteResult:
        sealed = seal_submission(self.keyring, submission)
        result: WriteResult = await self._enqueue(_Job(self._future(), submission=sealed))
        if submission.destinations and not result.duplicate:
            self._wake()
        return result

    async def run_in_writer(self, call: Callable[[Tables], T]) -> T:
        """Run ``call`` in the next commit, after that commit's submissions."""
        value: T = await self._enqueue(_Job(self._future(), call=call))
        return value

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _enqueue(self, job: _Job) -> Any:
        if self._tables is None or self._closing:
            raise StoreSaturated("store is not accepting writes")
        if self._pending >= self.queue_size:
            raise StoreSaturated(f"{self._pending} writes waiting")
        self._pending += 1
        self.progress.taken()
        try:
            self._waiting.append(job)
            self._schedule()
            return await job.future
        finally:
            self._pending -= 1
            self.progress.settled()

    def _commit(self) -> None:
        """What has waited since the last commit, in one go (a loop turn's submissions)."""
        self._scheduled = False
        jobs, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        for job, (value, error) in zip(jobs, run_jobs(self.tables, jobs), strict=True):
            if job.future.done():  # its caller was cancelled; the write stands, as on disk
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(value)
        if self._waiting:
            self._schedule()
        else:
            self._idle.set()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._idle.clear()
            asyncio.get_running_loop().call_soon(self._commit)

    def _wake(self) -> None:
        for wake in (*self.on_dispatch, *self.tables.listeners):
            wake()

    # -- reads ---------------------------------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        t = self.tables
        event = t.events.get(event_id)
        if event is None:
            return None
        dispatches = sorted(t.dispatches_of(event_id), key=lambda d: d.id)
        records = [tables_.dispatch_record(t, d) for d in dispatches]
        found = tables_.record(event, records, self.keyring)
        return dataclasses.replace(found, redaction=t.redactions.get(event_id))

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        event = self.tables.events.get(event_id)
        if event is None:
            return None
        body = event.redacted_body
        if body is None:
            stored = stored_form(event.submission)
            body = open_body(self.keyring, event_id, stored.key_id, stored.body)
        return body, event.submission.request.content_type

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        t = self.tables
        matches = tables_.matcher(query, t)
        newest_first = (t.events[i] for i in sorted(t.events, reverse=True))
        return limited([tables_.summary(e) for e in newest_first if matches(e)], query.limit)

    async def count_events(self) -> int:
        return len(self.tables.events)

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        return await self.run_in_writer(
            lambda t: tables_.claim_due(
                t,
                worker_id,
                now_us=now_us,
                lease_us=lease_us,
                limit=limit,
                destinations=destinations,
                keyring=self.keyring,
            )
        )

    async def record_attempt(
        self,
        worker_id: str,
        attempt: AttemptRecord,
        *,
        status: str,
        processed_key: tuple[str, str, str] | None = None,
    ) -> bool:
        return await self.run_in_writer(
            lambda t: tables_.record_attempt(
                t, worker_id, attempt, status=status, processed_key=processed_key
            )
        )

    async def renew_leases(self, worker_id: str, *, now_us: int, lease_us: int) -> int:
        return await self.run_in_writer(
            lambda t: tables_.renew_leases(t, worker_id, expires_us=now_us + lease_us)
        )

    async def expire_leases(self, *, now_us: int) -> int:
        moved = await self.run_in_writer(lambda t: tables_.expire_leases(t, now_us=now_us))
        if moved:
            self._wake()
        return moved

    async def release_leases(self, worker_id: str, *, now_us: int) -> int:
        def run(t: Tables) -> int:
            held = [
                d
                for d in t.dispatches.values()
                if d.lease_owner == worker_id and d.status == "in_flight"
            ]
            for d in held:
                tables_.give_back(d, next_attempt_us=now_us, now_us=now_us)
            return len(held)

        return await self.run_in_writer(run)

    async def postpone(
        self, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
    ) -> None:
        def run(t: Tables) -> None:
            d = t.dispatches.get(dispatch_id)
            if d is not None and d.lease_owner == worker_id:
                tables_.give_back(d, next_attempt_us=next_attempt_us, now_us=now_us)

        await self.run_in_writer(run)

    async def is_processed(self, destination: str, key: str) -> bool:
        return (destination, key) in self.tables.processed_keys

    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        await self.set_destination_mode(
            name, "disabled" if disabled else "active", reason=reason, now_us=now_us
        )

    async def disabled_destinations(self) -> dict[str, str]:
        state = self.tables.destination_state
        return {name: st.reason for name, st in state.items() if st.state == "disabled"}

    # -- operator controls ---------------------------------------------------------------

    async def set_destination_mode(
        self, name: str, state: DestinationMode, *, reason: str, now_us: int
    ) -> int:
        moved = await self.run_in_writer(
            lambda t: tables_.set_destination_mode(t, name, state, reason=reason, now_us=now_us)
        )
        if state == "active" and moved:
            self._wake()
        return moved

    async def destination_states(self) -> dict[str, DestinationState]:
        return dict(sorted(self.tables.destination_state.items()))

    async def hold_dispatches(self, name: str, state: DestinationMode, *, now_us: int) -> int:
        return await self.run_in_writer(
            lambda t: tables_.hold_dispatches(t, name, state, now_us=now_us)
        )

    async def note_destination_activity(
        self, reports: Sequence[DestinationActivity], *, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda t: tables_.note_destination_activity(t, reports, now_us=now_us)
        )

    async def destination_backlog(self) -> dict[str, dict[str, int]]:
        backlog: dict[str, dict[str, int]] = {}
        for d in self.tables.dispatches.values():
            if d.status in BACKLOG_STATUSES:
                counts = backlog.setdefault(d.destination, {})
                counts[d.status] = counts.get(d.status, 0) + 1
        return backlog

    async def destination_outcomes(self, *, since_us: int) -> dict[str, tuple[int, int]]:
        tally: dict[str, tuple[int, int]] = {}
        for dispatch_id, log in self.tables.attempts.items():
            destination = self.tables.dispatches[dispatch_id].destination
            for a in log.values():
                if a.started_us >= since_us:
                    ok, bad = tally.get(destination, (0, 0))
                    good = 200 <= (a.status_code or 0) <= 299
                    tally[destination] = (ok + good, bad + (not good))
        return tally

    async def record_audit(self, entry: AuditEntry) -> None:
        def run(t: Tables) -> None:
            if entry.id in t.audit_log:
                raise tables_.refused("audit_log.id")
            t.audit_log[entry.id] = dataclasses.replace(entry, detail=json_copy(entry.detail))

        await self.run_in_writer(run)

    async def list_audit(
        self,
        *,
        action: str | None = None,
        since_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        found = [
            e
            for e in sorted(self.tables.audit_log.values(), key=lambda e: e.id, reverse=True)
            if (action is None or e.action == action)
            and (since_us is None or e.at_us >= since_us)
            and (cursor is None or e.id < cursor)
        ]
        return limited(found, limit)

    async def list_dispatches(
        self,
        *,
        status: str | None = None,
        destination: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[DispatchRecord]:
        t = self.tables
        found = [
            d
            for d in sorted(t.dispatches.values(), key=lambda d: d.id, reverse=True)
            if (status is None or d.status == status)
            and (destination is None or d.destination == destination)
            and (since_us is None or d.updated_us >= since_us)
            and (until_us is None or d.updated_us < until_us)
            and (cursor is None or d.id < cursor)
        ]
        return [tables_.dispatch_record(t, d) for d in limited(found, limit)]

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        moved = await self.run_in_writer(
            lambda t: tables_.retry_dead(t, dispatch_ids, now_us=now_us)
        )
        if moved:
            self._wake()
        return moved

    # -- replay --------------------------------------------------------------------------

    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        events = self.tables.events
        return {i for i in event_ids if i in events}

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        events = self.tables.events
        return [
            tables_.replay_payload(events[i], self.keyring)
            for i in sorted(set(event_ids))
            if i in events
        ]

    async def create_replay_batch(self, batch: ReplayBatch) -> None:
        def run(t: Tables) -> None:
            if batch.id in t.replay_batches:
                raise tables_.refused("replay_batches.id")
            t.replay_batches[batch.id] = dataclasses.replace(
                batch, selection=json_copy(batch.selection), options=json_copy(batch.options)
            )

        await self.run_in_writer(run)

    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda t: tables_.record_replay_results(
                t, batch_id, results, missing=missing, now_us=now_us
            )
        )

    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        def run(t: Tables) -> None:
            batch = t.replay_batches.get(batch_id)
            if batch is not None and batch.status == "running":  # the first ending is kept
                t.replay_batches[batch_id] = dataclasses.replace(
                    batch,
                    status=cast("ReplayBatchStatus", status),
                    finished_us=now_us,
                    updated_us=now_us,
                    error=error,
                )

        await self.run_in_writer(run)

    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None:
        batch = self.tables.replay_batches.get(batch_id)
        if batch is None:
            return None
        return dataclasses.replace(
            batch, selection=json_copy(batch.selection), options=json_copy(batch.options)
        )

    async def list_replay_batches(
        self, *, cursor: str | None = None, limit: int = 50
    ) -> list[ReplayBatch]:
        found = [
            b
            for b in sorted(self.tables.replay_batches.values(), key=lambda b: b.id, reverse=True)
            if cursor is None or b.id < cursor
        ]
        return [
            dataclasses.replace(b, selection=json_copy(b.selection), options=json_copy(b.options))
            for b in limited(found, limit)
        ]

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        t = self.tables
        found = sorted(
            (d for d in t.dispatches.values() if d.batch_id == batch_id and d.status == status),
            key=lambda d: d.id,
        )
        return [tables_.dispatch_record(t, d) for d in limited(found, limit)]

    async def sample_backlog(
        self, destinations: Sequence[str], *, now_us: int
    ) -> BacklogSample | None:
        counts: dict[tuple[str, str], int] = {}
        oldest: dict[str, int] = {}
        wanted = set(destinations)
        for row in self.tables.dispatches.values():
            if row.status in STATES:
                key = (row.destination, row.status)
                counts[key] = counts.get(key, 0) + 1
            due = row.next_attempt_us
            waiting = row.status in ("pending", "retrying") and row.destination in wanted
            if waiting and due is not None and due <= now_us:
                oldest[row.destination] = min(due, oldest.get(row.destination, due))
        return BacklogSample(now_us, counts, oldest)

    async def listen_for_dispatches(
        self, wake: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call ``wake`` after any store open on these tables commits new due dispatches
        (the in-process counterpart of SQLite's commit watcher and PostgreSQL's NOTIFY)."""
        listeners = self.tables.listeners
        listeners.append(wake)

        async def stop() -> None:
            if wake in listeners:
                listeners.remove(wake)

        return stop

    # -- mirror log ----------------------------------------------------------------------

    async def mirror_candidates(
        self,
        *,
        sources: Sequence[str],
        after: MirrorCursor | None,
        until_us: int,
        limit: int,
    ) -> list[DeliveryEvent]:
        return mirror.candidates(
            self.tables,
            sources=sources,
            after=after,
            until_us=until_us,
            limit=limit,
            keyring=self.keyring,
        )

    async def mirror_lane(self, name: str) -> MirrorLaneState | None:
        return self.tables.mirror_lanes.get(name)

    async def record_mirror_copies(
        self,
        name: str,
        copies: Sequence[MirrorCopyRecord],
        *,
        cursor: MirrorCursor | None,
        now_us: int,
        lag_us: int | None = None,
    ) -> None:
        await self.run_in_writer(lambda t: mirror.record(t, name, copies, cursor, now_us, lag_us))

    async def mirror_pairs(
        self,
        name: str,
        *,
        compare_with: str | None,
        since_us: int,
        source: str | None = None,
        event_ids: Sequence[str] | None = None,
        with_bodies: bool = False,
    ) -> list[MirrorPair]:
        return mirror.pairs(
            self.tables,
            name,
            compare_with=compare_with,
            since_us=since_us,
            source=source,
            event_ids=event_ids,
            with_bodies=with_bodies,
        )

    async def hold_mirror_lane(self, name: str) -> ReleaseLane | None:
        tables = self.tables
        if name in tables.mirror_holds:
            return None
        tables.mirror_holds.add(name)

        async def release() -> None:
            tables.mirror_holds.discard(name)

        return release

    # -- retention -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def purge_lock(self) -> AsyncIterator[bool]:
        yield True  # one process: writes are serialised by the commit queue

    async def count_purge_candidates(self, selector: PurgeSelector) -> int:
        found = tables_.purge_candidates(
            self.tables, selector, after="", limit=len(self.tables.events)
        )
        return len(found)

    async def purge_events(
        self, selector: PurgeSelector, *, now_us: int, after: str, limit: int, dry_run: bool
    ) -> PurgeStep:
        return await self.run_in_writer(
            lambda t: tables_.purge_events(
                t, selector, now_us=now_us, after=after, limit=limit, dry_run=dry_run
            )
        )

    async def purge_dedup_keys(self, *, now_us: int, limit: int, dry_run: bool) -> int:
        return await self.run_in_writer(
            lambda t: tables_.purge_dedup_keys(t, now_us=now_us, limit=limit, dry_run=dry_run)
        )

    async def purge_replay_batches(self, *, before_us: int, limit: int, dry_run: bool) -> int:
        return await self.run_in_writer(
            lambda t: tables_.purge_replay_batches(
                t, before_us=before_us, limit=limit, dry_run=dry_run
            )
        )

    # -- redaction -----------------------------------------------------------------------

    async def redaction_mark(self, source: str) -> str:
        return self.tables.redaction_marks.get(source, "")

    async def redaction_candidates(
        self, source: str, *, cutoff_us: int, after: str, limit: int
    ) -> list[RedactionCandidate]:
        return tables_.redaction_candidates(
            self.tables, source, cutoff_us=cutoff_us, after=after, limit=limit
        )

    async def apply_redactions(
        self, source: str, redactions: Sequence[BodyRedaction], *, mark: str | None
    ) -> int:
        return await self.run_in_writer(
            lambda t: tables_.apply_redactions(t, source, redactions, mark=mark)
        )

    # -- encryption at rest ----------------------------------------------------------------

    async def check_keys(self) -> None:
        tables_.check_keys(self.tables, self.keyring)

    async def key_usage(self) -> dict[str | None, int]:
        return tables_.key_usage(self.tables)

    async def reseal_events(self, *, after: str | None, limit: int) -> ResealBatch:
        return await self.run_in_writer(
            lambda t: tables_.reseal_events(t, self.keyring, after=after, limit=limit)
        )

    async def forget_keys(self, key_ids: Sequence[str]) -> int:
        return await self.run_in_writer(lambda t: tables_.forget_keys(t, key_ids))

    # -- live events and listeners (issue 19) ---------------------------------------------

    async def stream_events(
        self, query: EventFilter, *, after: str | None, before: str, limit: int
    ) -> list[EventSummary]:
        t = self.tables
        matches = tables_.matcher(dataclasses.replace(query, cursor=None), t)
        ids = sorted(i for i in t.events if (after is None or i > after) and i < before)
        found = (t.events[i] for i in ids)
        return limited([tables_.summary(e) for e in found if matches(e)], limit)

    async def listen_for_events(self, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """A look at the number of events, as often as SQLite's data-version watch: the
        commit path stays as it is."""
        tables = self.tables
        seen = len(tables.events)  # now, not when the task first runs

        async def watch() -> None:
            nonlocal seen
            while True:
                await asyncio.sleep(EVENT_POLL_SECONDS)
                count = len(tables.events)
                if count != seen:
                    seen = count
                    wake()

        task = asyncio.create_task(watch(), name="hookyard-memory-events")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    async def listener_cursor(self, name: str) -> str | None:
        return self.tables.listener_cursors.get(name)

    async def record_listener_results(
        self,
        name: str,
        batch_id: str,
        results: Sequence[ReplayResult],
        *,
        cursor: str | None,
        now_us: int,
    ) -> None:
        def run(t: Tables) -> None:
            tables_.record_replay_results(t, batch_id, results, missing=0, now_us=now_us)
            if cursor is not None:
                t.listener_cursors[name] = cursor

        await self.run_in_writer(run)

    # -- the dashboard's overview (hookyard.store.activity) ----------------------------------

    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        return activity.activity(self.tables, since_us, bucket_us, buckets)

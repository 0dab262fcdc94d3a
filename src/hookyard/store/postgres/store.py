"""``PostgresStore``: the group-commit writers (``writer``) for ingest and attempts, a
pool for everything else (``queries``, ``commands``, and single statements here)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import asyncpg

from hookyard import clock
from hookyard.exceptions import StoreError
from hookyard.keyring import PLAIN, Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import (
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
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store.activity import Activity
from hookyard.store.backlog import BacklogSample
from hookyard.store.base import ReleaseLane, Store, Unlisten
from hookyard.store.filters import ID_TIME_MARGIN_MS, lowest_id_at
from hookyard.store.payloads import (
    ResealBatch,
    redaction_candidate,
    seal_body_as,
    seal_submission,
)
from hookyard.store.postgres import activity, commands, keys, mirror, queries, retention
from hookyard.store.postgres.connection import (
    apply_migrations,
    connect,
    keep_session,
    session_settings,
)
from hookyard.store.postgres.queries import DISPATCH_CHANNEL, EVENTS_CHANNEL, Q
from hookyard.store.postgres.writer import AttemptRecorder, IngestWriter
from hookyard.store.rows import (
    attempt_row,
    audit_from_row,
    audit_row,
    backlog_from_rows,
    body_from_row,
    claimed_from_row,
    destination_state_from_row,
    outcomes_from_rows,
    redaction_row,
    replay_batch_from_row,
    replay_batch_row,
    replay_payload_from_row,
)
from hookyard.supervision import Supervisor

#: Connections for everything but ingest writes: attempt recorders, claims, API reads.
#: With 4, a worker sending 32 at a time fell behind at 500 events/s; 8 measured the same
#: as 16, and each process also holds two writers and a listener (PostgreSQL allows 100).
POOL_SIZE = 8
#: How often an idle LISTEN connection is asked whether it is still there.
LISTENER_PING_SECONDS = 5.0
PING_SECONDS = 2.0
#: The advisory lock whose holder samples the backlog for every process ("hyss").
SAMPLER_LOCK = 0x68797373
log = logging.getLogger("hookyard.store")
#: How soon a lost ``LISTEN`` connection of the live stream is opened again.
RELISTEN_SECONDS = 1.0


class PostgresStore(Store):
    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 10_000,
        keyring: Keyring = PLAIN,
        durable: bool = True,
    ) -> None:
        self.url = url
        #: Whether each commit waits for the WAL flush (``open_store``'s ``durable``).
        self.durable = durable
        #: Seals bodies and header lists as they are taken, opens them as they are read.
        self.keyring = keyring
        self.queue_size = queue_size
        self._pool: asyncpg.Pool | None = None
        self.writer = IngestWriter(self._connect, queue_size=queue_size)
        self.recorder = AttemptRecorder(lambda: self.pool)
        self.loops = Supervisor()
        self._sampler: asyncpg.Connection | None = None  # holds SAMPLER_LOCK

    async def _connect(self) -> asyncpg.Connection:
        return await connect(self.url, durable=self.durable)

    # -- lifecycle -----------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        conn = await self._connect()
        try:
            return await apply_migrations(conn)
        finally:
            await conn.close()

    async def start(self) -> None:
        await self.migrate()
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=POOL_SIZE,
                reset=keep_session,
                server_settings=session_settings(self.durable),
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from None
        try:
            await self.check_keys()
        except BaseException:
            await self._pool.close()
            self._pool = None
            raise
        await self.writer.start()

    async def close(self) -> None:
        if self._sampler is not None:
            with contextlib.suppress(Exception):
                await self._sampler.close(timeout=1)
            self._sampler = None
        await asyncio.gather(self.writer.close(), self.recorder.close())
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> None:
        try:
            await self.pool.fetchval("SELECT 1", timeout=PING_SECONDS)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"PostgreSQL does not answer: {type(exc).__name__}: {exc}") from None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("store is not started")
        return self._pool

    # -- ingest --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self.writer.pending

    async def submit(self, submission: Submission) -> WriteResult:
        return await self.writer.submit(seal_submission(self.keyring, submission))

    def stalled_seconds(self) -> float:
        return self.writer.progress.stalled_seconds()

    # -- reads ---------------------------------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        async with self.pool.acquire() as conn:
            return await queries.get_event(conn, event_id, self.keyring)

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        row = await self.pool.fetchrow(Q["get_body"], event_id)
        return None if row is None else body_from_row(event_id, row, self.keyring)

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        async with self.pool.acquire() as conn:
            return await queries.list_events(conn, query)

    async def count_events(self) -> int:
        count: int = await self.pool.fetchval(Q["count_events"])
        return count

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
        async with self.pool.acquire() as conn:
            return await queries.list_dispatches(
                conn,
                status=status,
                destination=destination,
                since_us=since_us,
                until_us=until_us,
                cursor=cursor,
                limit=limit,
            )

    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        rows = await self.pool.fetch(Q["known_event_ids"], list(event_ids))
        return {row[0] for row in rows}

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        rows = await self.pool.fetch(
            Q["claim_due"], worker_id, now_us + lease_us, now_us, list(destinations), limit
        )
        return [claimed_from_row(row, self.keyring) for row in rows]

    async def record_attempt(
        self,
        worker_id: str,
        attempt: AttemptRecord,
        *,
        status: str,
        processed_key: tuple[str, str, str] | None = None,
    ) -> bool:
        destination, key = (processed_key[0], processed_key[1]) if processed_key else (None, None)
        return await self.recorder.record(
            (worker_id, status, *attempt_row(attempt), destination, key)
        )

    @property
    def record_groups(self) -> int:
        """Calls that recorded more than one attempt."""
        return self.recorder.groups

    async def renew_leases(self, worker_id: str, *, now_us: int, lease_us: int) -> int:
        result = await self.pool.execute(Q["renew_leases"], now_us + lease_us, worker_id)
        return int(result.split()[-1])

    async def expire_leases(self, *, now_us: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            result = await conn.execute(Q["expire_leases"], now_us)
            moved = int(result.split()[-1])
            if moved:
                await conn.execute("SELECT pg_notify($1, '')", DISPATCH_CHANNEL)
        return moved

    async def release_leases(self, worker_id: str, *, now_us: int) -> int:
        result = await self.pool.execute(Q["release_leases"], now_us, worker_id)
        return int(result.split()[-1])

    async def postpone(
        self, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
    ) -> None:
        await self.pool.execute(Q["postpone"], next_attempt_us, now_us, dispatch_id, worker_id)

    async def is_processed(self, destination: str, key: str) -> bool:
        return await self.pool.fetchval(Q["is_processed"], destination, key) is not None

    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        await self.set_destination_mode(
            name, "disabled" if disabled else "active", reason=reason, now_us=now_us
        )

    async def disabled_destinations(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.pool.fetch(Q["disabled_destinations"])}

    # -- operator controls ---------------------------------------------------------------

    async def set_destination_mode(
        self, name: str, state: DestinationMode, *, reason: str, now_us: int
    ) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await commands.set_destination_mode(
                conn, name, state, reason=reason, now_us=now_us
            )

    async def destination_states(self) -> dict[str, DestinationState]:
        rows = await self.pool.fetch(Q["destination_states"])
        return {row[0]: destination_state_from_row(row) for row in rows}

    async def hold_dispatches(self, name: str, state: DestinationMode, *, now_us: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await commands.hold_dispatches(conn, name, state, now_us=now_us)

    async def note_destination_activity(
        self, reports: Sequence[DestinationActivity], *, now_us: int
    ) -> None:
        if reports:
            await self.pool.executemany(
                Q["note_destination_activity"],
                [
                    (
                        r.name,
                        now_us,
                        r.circuit,
                        r.circuit_until_us,
                        r.last_success_us,
                        r.last_error_us,
                        r.last_error,
                    )
                    for r in reports
                ],
            )

    async def destination_backlog(self) -> dict[str, dict[str, int]]:
        return backlog_from_rows(await self.pool.fetch(Q["destination_backlog"]))

    async def destination_outcomes(self, *, since_us: int) -> dict[str, tuple[int, int]]:
        return outcomes_from_rows(await self.pool.fetch(Q["destination_outcomes"], since_us))

    async def record_audit(self, entry: AuditEntry) -> None:
        await self.pool.execute(Q["insert_audit"], *audit_row(entry))

    async def list_audit(
        self,
        *,
        action: str | None = None,
        since_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        rows = await self.pool.fetch(Q["list_audit"], action, since_us, cursor, limit)
        return [audit_from_row(row) for row in rows]

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await commands.retry_dead(conn, dispatch_ids, now_us=now_us)

    async def sample_backlog(
        self, destinations: Sequence[str], *, now_us: int
    ) -> BacklogSample | None:
        """Only while this process holds ``SAMPLER_LOCK`` on a connection of its own
        (taken, when free, at the first call after each reconnect)."""
        conn = self._sampler
        if conn is None or conn.is_closed():
            self._sampler = None
            conn = await self._connect()
            try:
                held = await conn.fetchval(Q["sampler_lock"], SAMPLER_LOCK)
            except BaseException:
                await conn.close()
                raise
            if not held:
                await conn.close()
                return None
            self._sampler = conn
        try:
            counts = {(d, s): n for d, s, n in await conn.fetch(Q["backlog_counts"])}
            rows = await conn.fetch(Q["backlog_oldest_due"], list(destinations), now_us)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"sampling the backlog failed: {exc}") from exc
        oldest = {name: due for name, due in rows if due is not None}
        return BacklogSample(now_us, counts, oldest)

    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` whenever any process commits new due dispatches (LISTEN/NOTIFY).

        The listening connection is reconnected, with backoff, whenever it is lost (a
        restart of PostgreSQL ends it); each new one wakes the worker once, for what was
        committed while nobody listened."""
        stopped = asyncio.Event()
        name = f"dispatch-listener-{len(self.loops.loops)}"
        connected: list[asyncpg.Connection] = []

        def on_notify(*_: object) -> None:
            wake()

        async def one_pass() -> None:
            conn = await self._connect()
            connected[:] = [conn]
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            try:
                await conn.add_listener(DISPATCH_CHANNEL, on_notify)
                self.loops.ok(name)
                wake()
                while not stopped.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=LISTENER_PING_SECONDS)
                    if lost.is_set() or conn.is_closed():
                        raise StoreError("the LISTEN connection was lost")
                    if not stopped.is_set():
                        # A silent network drop ends no connection: ask it something.
                        await conn.fetchval("SELECT 1", timeout=LISTENER_PING_SECONDS)
            finally:
                connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)

        task = self.loops.start(name, one_pass, stopping=stopped.is_set, logger=log)

        async def stop() -> None:
            stopped.set()
            for conn in connected:
                with contextlib.suppress(Exception):
                    conn.terminate()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    # -- replay --------------------------------------------------------------------------

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        rows = await self.pool.fetch(Q["replay_payloads"], list(event_ids))
        return [replay_payload_from_row(row, self.keyring) for row in rows]

    async def create_replay_batch(self, batch: ReplayBatch) -> None:
        await self.pool.execute(Q["insert_replay_batch"], *replay_batch_row(batch))

    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await commands.record_replay_results(
                conn, batch_id, results, missing=missing, now_us=now_us
            )

    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        await self.pool.execute(Q["finish_replay_batch"], status, now_us, now_us, error, batch_id)

    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None:
        row = await self.pool.fetchrow(Q["get_replay_batch"], batch_id)
        return None if row is None else replay_batch_from_row(row)

    async def list_replay_batches(
        self, *, cursor: str | None = None, limit: int = 50
    ) -> list[ReplayBatch]:
        rows = await self.pool.fetch(Q["list_replay_batches"], cursor, limit)
        return [replay_batch_from_row(row) for row in rows]

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        async with self.pool.acquire() as conn:
            return await queries.replay_batch_dispatches(conn, batch_id, status, limit)

    # -- mirror log ----------------------------------------------------------------------

    async def mirror_candidates(
        self,
        *,
        sources: Sequence[str],
        after: MirrorCursor | None,
        until_us: int,
        limit: int,
    ) -> list[DeliveryEvent]:
        async with self.pool.acquire() as conn:
            return await mirror.candidates(
                conn,
                sources=sources,
                after=after,
                until_us=until_us,
                limit=limit,
                keyring=self.keyring,
            )

    async def mirror_lane(self, name: str) -> MirrorLaneState | None:
        async with self.pool.acquire() as conn:
            return await mirror.lane(conn, name)

    async def record_mirror_copies(
        self,
        name: str,
        copies: Sequence[MirrorCopyRecord],
        *,
        cursor: MirrorCursor | None,
        now_us: int,
        lag_us: int | None = None,
    ) -> None:
        async with self.pool.acquire() as conn:
            await mirror.record(conn, name, copies, cursor, now_us, lag_us)

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
        async with self.pool.acquire() as conn:
            return await mirror.pairs(
                conn,
                name,
                compare_with=compare_with,
                since_us=since_us,
                source=source,
                event_ids=event_ids,
                with_bodies=with_bodies,
            )

    async def hold_mirror_lane(self, name: str) -> ReleaseLane | None:
        return await mirror.hold_lane(self.url, name)

    # -- retention -----------------------------------------------------------------------

    def purge_lock(self) -> AbstractAsyncContextManager[bool]:
        return retention.purge_lock(self._connect)

    async def count_purge_candidates(self, selector: PurgeSelector) -> int:
        async with self.pool.acquire() as conn:
            return await retention.count_candidates(conn, selector)

    async def purge_events(
        self, selector: PurgeSelector, *, now_us: int, after: str, limit: int, dry_run: bool
    ) -> PurgeStep:
        try:
            async with self.pool.acquire() as conn:
                ids = await retention.candidates(conn, selector, after=after, limit=limit)
                counts = await retention.purge(conn, selector, ids, now_us=now_us, dry_run=dry_run)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"purge failed: {exc}") from exc
        return PurgeStep(counts=counts, last_id=ids[-1] if ids else None, examined=len(ids))

    async def purge_dedup_keys(self, *, now_us: int, limit: int, dry_run: bool) -> int:
        if dry_run:
            count: int = await self.pool.fetchval(Q["count_stale_dedup_keys"], now_us, limit)
            return count
        return retention.affected(
            await self.pool.execute(Q["purge_stale_dedup_keys"], now_us, limit)
        )

    async def purge_replay_batches(self, *, before_us: int, limit: int, dry_run: bool) -> int:
        if dry_run:
            count: int = await self.pool.fetchval(
                Q["count_finished_replay_batches"], before_us, limit
            )
            return count
        return retention.affected(
            await self.pool.execute(Q["purge_replay_batches"], before_us, limit)
        )

    # -- redaction -----------------------------------------------------------------------

    async def redaction_mark(self, source: str) -> str:
        mark = await self.pool.fetchval(Q["redaction_mark"], source)
        return "" if mark is None else str(mark)

    async def redaction_candidates(
        self, source: str, *, cutoff_us: int, after: str, limit: int
    ) -> list[RedactionCandidate]:
        high = lowest_id_at(cutoff_us // 1000 + ID_TIME_MARGIN_MS + 1)
        rows = await self.pool.fetch(
            Q["redaction_candidates"], source, after, high, cutoff_us, limit
        )
        return [redaction_candidate(r, self.keyring) for r in rows]

    async def apply_redactions(
        self, source: str, redactions: Sequence[BodyRedaction], *, mark: str | None
    ) -> int:
        rows = [redaction_row(item) for item in redactions]
        async with self.pool.acquire() as conn, conn.transaction():
            replaced: set[str] = set()
            if rows:
                columns = [list(c) for c in zip(*rows, strict=True)]
                # Locked, so a key rotation cannot re-seal a row between read and write.
                locked = await conn.fetch(Q["lock_event_key_ids"], columns[0])
                key_ids: dict[str, str | None] = {row[0]: row[1] for row in locked}
                bodies = [
                    seal_body_as(self.keyring, item.event_id, key_ids.get(item.event_id), item.body)
                    for item in redactions
                ]
                replaced = {
                    r[0]
                    for r in await conn.fetch(Q["redact_bodies"], columns[0], bodies, *columns[1:])
                }
            missed = [item.event_id for item in redactions if item.event_id not in replaced]
            still_there = await conn.fetch(Q["known_event_ids"], missed) if missed else []
            if mark is not None and not still_there:
                await conn.execute(Q["set_redaction_mark"], source, mark)
        return len(replaced)

    # -- encryption at rest ----------------------------------------------------------------

    async def check_keys(self) -> None:
        async with self.pool.acquire() as conn:
            await keys.check_keys(conn, self.keyring, now_us=clock.now_us())

    async def key_usage(self) -> dict[str | None, int]:
        async with self.pool.acquire() as conn:
            return await keys.key_usage(conn)

    async def reseal_events(self, *, after: str | None, limit: int) -> ResealBatch:
        async with self.pool.acquire() as conn:
            return await keys.reseal_events(conn, self.keyring, after=after, limit=limit)

    async def forget_keys(self, key_ids: Sequence[str]) -> int:
        async with self.pool.acquire() as conn:
            return await keys.forget_keys(conn, key_ids)

    # -- live events and listeners (issue 19) ---------------------------------------------

    async def stream_events(
        self, query: EventFilter, *, after: str | None, before: str, limit: int
    ) -> list[EventSummary]:
        async with self.pool.acquire() as conn:
            return await queries.stream_events(conn, query, after=after, before=before, limit=limit)

    async def listen_for_events(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` whenever any process commits events (``write_batch`` notifies).

        A lost ``LISTEN`` connection (PostgreSQL restarted) is opened again, and ``wake``
        called once it is, for what was committed while nobody listened.
        """

        def on_notify(*_: object) -> None:
            wake()

        async def listening() -> tuple[asyncpg.Connection, asyncio.Event]:
            conn = await self._connect()
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _: lost.set())
            await conn.add_listener(EVENTS_CHANNEL, on_notify)
            return conn, lost

        current = [await listening()]  # the first failure is the caller's to report

        async def keep() -> None:
            while True:
                await current[0][1].wait()
                await asyncio.sleep(RELISTEN_SECONDS)
                with contextlib.suppress(Exception):
                    current[0] = await listening()
                    wake()

        task = asyncio.create_task(keep(), name="hookyard-pg-events")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await current[0][0].close()

        return stop

    async def listener_cursor(self, name: str) -> str | None:
        value = await self.pool.fetchval(Q["listener_cursor"], name)
        return None if value is None else str(value)

    async def record_listener_results(
        self,
        name: str,
        batch_id: str,
        results: Sequence[ReplayResult],
        *,
        cursor: str | None,
        now_us: int,
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await commands.record_replay_results(conn, batch_id, results, missing=0, now_us=now_us)
            if cursor is not None:
                await conn.execute(Q["save_listener_cursor"], name, cursor, now_us)

    # -- the dashboard's overview (hookyard.store.activity) ----------------------------------

    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        async with self.pool.acquire() as conn:
            return await activity.activity(conn, since_us, bucket_us, buckets)

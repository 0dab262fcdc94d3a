"""PostgreSQL backend through asyncpg: group commit as one statement per batch.

Two writer connections take turns: while one batch commits, the next one gathers,
so batching happens without ever waiting on purpose. Dedup holds across processes
because it rests on the ``dedup_keys`` primary key, not on a read before the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from hookyard.exceptions import MigrationError, StoreError, StoreSaturated
from hookyard.ids import new_id
from hookyard.models import (
    AttemptRecord,
    ClaimedDispatch,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    ReplayBatch,
    ReplayPayload,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store import filters
from hookyard.store.base import Store, Unlisten
from hookyard.store.policy import (
    follower_counts,
    group_duplicates_in_batch,
    replay_counts,
    resolve_followers,
)
from hookyard.store.rows import (
    Row,
    attach_attempts,
    attempt_row,
    claimed_from_row,
    event_row,
    record_from_row,
    replay_batch_from_row,
    replay_batch_row,
    replay_payload_from_row,
    summary_from_row,
)
from hookyard.store.sqlfiles import load_migrations, load_queries

log = logging.getLogger("hookyard.store")
Q = load_queries("postgres")
MAX_BATCH = 512
WRITERS = 2
#: Connections for everything but ingest writes: attempt recorders, claims, API reads.
#: With 4, a worker sending 32 at a time fell behind at 500 events/s; 8 measured the same
#: as 16, and each process also holds two writers and a listener (PostgreSQL allows 100).
POOL_SIZE = 8
#: Attempt groups recorded at once. Below this many finishing together, each attempt is
#: recorded as it finishes; above, the rest wait and go as one call, so a busy worker
#: pays one round trip per group instead of one per attempt.
RECORDERS = 4
MAX_RECORD_GROUP = 256
MIGRATION_LOCK = 0x686F6F6B  # "hook"
DISPATCH_CHANNEL = "hookyard_dispatch"


def batch_parameters(leaders: Sequence[Submission], extra: dict[str, int]) -> list[Any]:
    """Column arrays for ``write_batch``, one entry per submission."""
    columns: list[list[Any]] = [[] for _ in range(22)]
    dispatch_ids: list[str] = []
    dispatch_events: list[str] = []
    dispatch_destinations: list[str] = []
    for sub in leaders:
        row = event_row(sub, extra.get(sub.request.id, 0))
        for index, value in enumerate(row):
            columns[index].append(value)
        columns[20].append(sub.dedup_key)
        columns[21].append(sub.request.received_us + sub.dedup_window_us)
        if sub.verdict.status != "invalid":
            for destination in sub.destinations:
                dispatch_ids.append(new_id())
                dispatch_events.append(sub.request.id)
                dispatch_destinations.append(destination)
    return [*columns, dispatch_ids, dispatch_events, dispatch_destinations]


async def apply_migrations(conn: asyncpg.Connection) -> list[int]:
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)"
        )
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in load_migrations("postgres"):
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    time.time_ns() // 1000,
                )
            applied.append(migration.version)
        return applied
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"migration failed: {exc}") from exc
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def refresh_event_status(
    conn: asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any], event_id: str
) -> None:
    """Recompute an event's status from its dispatches, inside the caller's transaction.

    The function (migrations 0005, 0007) locks the event's status row first: two
    dispatches of one event finishing together would otherwise both store "retrying"
    (write skew).
    """
    await conn.execute(Q["refresh_event_status"], event_id)


async def with_attempts(
    conn: asyncpg.pool.PoolConnectionProxy[Any], dispatches: Sequence[Row]
) -> list[DispatchRecord]:
    """The dispatches with their attempts, read in one more statement (none when empty)."""
    if not dispatches:
        return []
    ids = [row[0] for row in dispatches]
    return attach_attempts(dispatches, await conn.fetch(Q["attempts_of_dispatches"], ids))


async def keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset that sends nothing.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; CLOSE ALL; ...`` each time a
    connection goes back to the pool: one more round trip per query. Pool connections
    carry no session state here (migrations' advisory lock and LISTEN use connections
    of their own), and an unfinished transaction is still rolled back by asyncpg.
    """


def _settle(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class PostgresStore(Store):
    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self.queue_size = queue_size
        self._queue: deque[tuple[Submission, asyncio.Future[WriteResult]]] = deque()
        self._wakeup = asyncio.Event()
        self._writers: list[asyncio.Task[None]] = []
        self._pool: asyncpg.Pool | None = None
        self._closing = False
        self._in_flight = 0
        self.batches = 0
        self._records: deque[tuple[tuple[Any, ...], asyncio.Future[bool]]] = deque()
        self._recorders: set[asyncio.Task[None]] = set()
        self.record_groups = 0  # calls that recorded more than one attempt

    async def _connect(self) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(self.url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from None

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
                self.url, min_size=1, max_size=POOL_SIZE, reset=keep_session
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from None
        self._wakeup = asyncio.Event()
        for index in range(WRITERS):
            conn = await self._connect()
            self._writers.append(
                asyncio.create_task(self._writer(conn), name=f"hookyard-pg-writer-{index}")
            )

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()
        await asyncio.gather(*self._writers, *self._recorders, return_exceptions=True)
        self._writers = []
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # -- writes --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._queue) + self._in_flight

    async def submit(self, submission: Submission) -> WriteResult:
        if self._closing or not self._writers:
            raise StoreSaturated("store is not accepting writes")
        if self.pending >= self.queue_size:
            raise StoreSaturated(f"{self.pending} writes waiting")
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._queue.append((submission, future))
        self._wakeup.set()
        return await future

    async def _writer(self, conn: asyncpg.Connection) -> None:
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                self._in_flight += len(batch)
                try:
                    conn = await self._write(conn, batch)
                finally:
                    self._in_flight -= len(batch)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _write(
        self, conn: asyncpg.Connection, batch: list[tuple[Submission, asyncio.Future[WriteResult]]]
    ) -> asyncpg.Connection:
        submissions = [sub for sub, _ in batch]
        try:
            results = await self._write_batch(conn, submissions)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.error("store write failed: %s", exc)
            error = StoreError(f"store write failed: {exc}")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if conn.is_closed() or isinstance(exc, OSError | asyncpg.InterfaceError):
                with contextlib.suppress(Exception):
                    await conn.close()
                with contextlib.suppress(StoreError):
                    conn = await self._connect()
            return conn
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        return conn

    async def _write_batch(
        self, conn: asyncpg.Connection, batch: Sequence[Submission]
    ) -> list[WriteResult]:
        leaders, follower_of = group_duplicates_in_batch(batch)
        extra = follower_counts(follower_of)
        params = batch_parameters(leaders, extra)
        rows = await conn.fetch(Q["write_batch"], *params, DISPATCH_CHANNEL)
        by_id = {sub.request.id: sub for sub in leaders}
        results: dict[str, WriteResult] = {}
        for rid, stored, original in rows:
            if stored:
                results[rid] = WriteResult(id=rid)
                continue
            if original is None:
                # Another process took the key after this statement's snapshot began.
                sub = by_id[rid]
                original = await conn.fetchval(Q["dedup_owner"], sub.request.source, sub.dedup_key)
                await conn.execute(
                    Q["count_duplicates"], 1 + extra.get(rid, 0), sub.request.received_us, original
                )
            results[rid] = WriteResult(id=rid, duplicate_of=original)
        return resolve_followers(batch, results, follower_of)

    # -- reads ---------------------------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("store is not started")
        return self._pool

    async def get_event(self, event_id: str) -> EventRecord | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(Q["get_event"], event_id)
            if row is None:
                return None
            dispatches = await conn.fetch(Q["event_dispatches"], event_id)
            return record_from_row(row, await with_attempts(conn, dispatches))

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        row = await self.pool.fetchrow(Q["get_body"], event_id)
        return None if row is None else (bytes(row[0]), row[1])

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        async with self.pool.acquire() as conn:
            types = None
            if query.event_type and filters.is_glob(query.event_type):
                stored = [r[0] for r in await conn.fetch(filters.POSTGRES.distinct_types_sql)]
                types = filters.types_to_search(query.event_type, stored)
                if types == []:
                    return []
            sql, params = filters.list_sql(query, filters.POSTGRES, event_types=types)
            return [summary_from_row(row) for row in await conn.fetch(sql, *params)]

    async def count_events(self) -> int:
        count: int = await self.pool.fetchval(Q["count_events"])
        return count

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        rows = await self.pool.fetch(
            Q["claim_due"], worker_id, now_us + lease_us, now_us, list(destinations), limit
        )
        return [claimed_from_row(row) for row in rows]

    async def record_attempt(
        self,
        worker_id: str,
        attempt: AttemptRecord,
        *,
        status: str,
        processed_key: tuple[str, str, str] | None = None,
    ) -> bool:
        destination, key = (processed_key[0], processed_key[1]) if processed_key else (None, None)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._records.append(((worker_id, status, *attempt_row(attempt), destination, key), future))
        if len(self._recorders) < RECORDERS:
            task = asyncio.create_task(self._record_waiting())
            self._recorders.add(task)
            task.add_done_callback(self._recorders.discard)
        return await future

    async def _record_waiting(self) -> None:
        while self._records:
            count = min(MAX_RECORD_GROUP, len(self._records))
            group = [self._records.popleft() for _ in range(count)]
            try:
                await self._record(group)
            finally:  # whatever happened, no caller is left waiting (settled ones stay)
                for _, future in group:
                    _settle(future, StoreError("recording the attempt was interrupted"))

    async def _record(self, group: list[tuple[tuple[Any, ...], asyncio.Future[bool]]]) -> None:
        try:
            kept = await self._record_group([row for row, _ in group])
        except StoreError as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            # One attempt the database refuses (or a group PostgreSQL picks as a deadlock's
            # victim) must not fail the others with it: retry them one by one.
            for row, future in group:
                try:
                    [alone] = await self._record_group([row])
                except StoreError as error:
                    _settle(future, error)
                else:
                    _settle(future, alone)
            return
        for (_, future), result in zip(group, kept, strict=True):
            _settle(future, result)

    async def _record_group(self, rows: list[tuple[Any, ...]]) -> list[bool]:
        try:
            if len(rows) == 1:
                return [await self.pool.fetchval(Q["record_attempt"], *rows[0])]
            columns = [list(column) for column in zip(*rows, strict=True)]
            self.record_groups += 1
            return list(await self.pool.fetchval(Q["record_attempts"], *columns))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"recording attempts failed: {exc}") from exc

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
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(Q["set_destination_state"], name, disabled, reason, now_us)
            query = Q["hold_destination"] if disabled else Q["resume_destination"]
            for event_id in {r[0] for r in await conn.fetch(query, now_us, name)}:
                await refresh_event_status(conn, event_id)
            if not disabled:
                await conn.execute("SELECT pg_notify($1, '')", DISPATCH_CHANNEL)

    async def disabled_destinations(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.pool.fetch(Q["disabled_destinations"])}

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
        sql, params = filters.dispatch_sql(
            status=status,
            destination=destination,
            since_us=since_us,
            until_us=until_us,
            cursor=cursor,
            limit=limit,
            placeholder=lambda n: f"${n}",
        )
        async with self.pool.acquire() as conn:
            return await with_attempts(conn, await conn.fetch(sql, *params))

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(Q["retry_dead"], now_us, list(dispatch_ids))
            for event_id in {r[0] for r in rows}:
                await refresh_event_status(conn, event_id)
            if rows:
                await conn.execute("SELECT pg_notify($1, '')", DISPATCH_CHANNEL)
            return len(rows)

    # -- replay --------------------------------------------------------------------------

    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        rows = await self.pool.fetch(Q["known_event_ids"], list(event_ids))
        return {row[0] for row in rows}

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[ReplayPayload]:
        rows = await self.pool.fetch(Q["replay_payloads"], list(event_ids))
        return [replay_payload_from_row(row) for row in rows]

    async def create_replay_batch(self, batch: ReplayBatch) -> None:
        await self.pool.execute(Q["insert_replay_batch"], *replay_batch_row(batch))

    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        attempts = [attempt_row(r.attempt) for r in results]
        delivered, failed, skipped = replay_counts(results, missing)
        async with self.pool.acquire() as conn, conn.transaction():
            if results:
                await conn.execute(
                    Q["insert_replay_dispatches"],
                    [r.dispatch_id for r in results],
                    [r.event_id for r in results],
                    [r.destination for r in results],
                    [r.status for r in results],
                    [r.attempt.started_us for r in results],
                    [r.attempt.status_code for r in results],
                    now_us,
                    batch_id,
                )
                # One array per attempts column, in insert_attempt's order.
                columns = [list(column) for column in zip(*attempts, strict=True)]
                await conn.execute(Q["insert_replay_attempts"], *columns)
            keys = [(*r.processed_key, r.attempt.started_us) for r in results if r.processed_key]
            if keys:
                await conn.executemany(Q["insert_processed_key"], keys)
            await conn.execute(
                Q["count_replay_results"], delivered, failed, skipped, now_us, batch_id
            )

    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        await self.pool.execute(Q["finish_replay_batch"], status, now_us, now_us, error, batch_id)

    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None:
        row = await self.pool.fetchrow(Q["get_replay_batch"], batch_id)
        return None if row is None else replay_batch_from_row(row)

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(Q["replay_batch_dispatches"], batch_id, status, limit)
            return await with_attempts(conn, rows)

    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` whenever any process commits new due dispatches (LISTEN/NOTIFY)."""
        conn = await self._connect()

        def on_notify(*_: object) -> None:
            wake()

        await conn.add_listener(DISPATCH_CHANNEL, on_notify)

        async def stop() -> None:
            with contextlib.suppress(Exception):
                await conn.close()

        return stop

"""``PostgresStore``: the group-commit writers (``writer``) for ingest and attempts, a
pool for everything else (``queries``, ``commands``, and single statements here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import asyncpg

from hookyard.exceptions import StoreError
from hookyard.models import (
    AttemptRecord,
    ClaimedDispatch,
    DeliveryEvent,
    DispatchRecord,
    EventFilter,
    EventRecord,
    EventSummary,
    ReplayBatch,
    ReplayResult,
    Submission,
    WriteResult,
)
from hookyard.store.base import Store, Unlisten
from hookyard.store.postgres import commands, queries
from hookyard.store.postgres.connection import apply_migrations, connect, keep_session
from hookyard.store.postgres.queries import DISPATCH_CHANNEL, EVENTS_CHANNEL, Q
from hookyard.store.postgres.writer import AttemptRecorder, IngestWriter
from hookyard.store.rows import (
    attempt_row,
    claimed_from_row,
    replay_batch_from_row,
    replay_batch_row,
    replay_payload_from_row,
)

#: Connections for everything but ingest writes: attempt recorders, claims, API reads.
#: With 4, a worker sending 32 at a time fell behind at 500 events/s; 8 measured the same
#: as 16, and each process also holds two writers and a listener (PostgreSQL allows 100).
POOL_SIZE = 8
#: How soon a lost ``LISTEN`` connection of the live stream is opened again.
RELISTEN_SECONDS = 1.0


class PostgresStore(Store):
    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self.queue_size = queue_size
        self._pool: asyncpg.Pool | None = None
        self.writer = IngestWriter(self._connect, queue_size=queue_size)
        self.recorder = AttemptRecorder(lambda: self.pool)

    async def _connect(self) -> asyncpg.Connection:
        return await connect(self.url)

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
                self.url, min_size=1, max_size=POOL_SIZE, reset=keep_session
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from None
        await self.writer.start()

    async def close(self) -> None:
        await asyncio.gather(self.writer.close(), self.recorder.close())
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

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
        return await self.writer.submit(submission)

    # -- reads ---------------------------------------------------------------------------

    async def get_event(self, event_id: str) -> EventRecord | None:
        async with self.pool.acquire() as conn:
            return await queries.get_event(conn, event_id)

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        row = await self.pool.fetchrow(Q["get_body"], event_id)
        return None if row is None else (bytes(row[0]), row[1])

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
        return await self.recorder.record(
            (worker_id, status, *attempt_row(attempt), destination, key)
        )

    @property
    def record_groups(self) -> int:
        """Calls that recorded more than one attempt."""
        return self.recorder.groups

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
            await commands.set_destination_disabled(
                conn, name, disabled, reason=reason, now_us=now_us
            )

    async def disabled_destinations(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.pool.fetch(Q["disabled_destinations"])}

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await commands.retry_dead(conn, dispatch_ids, now_us=now_us)

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

    # -- replay --------------------------------------------------------------------------

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        rows = await self.pool.fetch(Q["replay_payloads"], list(event_ids))
        return [replay_payload_from_row(row) for row in rows]

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

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        async with self.pool.acquire() as conn:
            return await queries.replay_batch_dispatches(conn, batch_id, status, limit)

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

"""``PostgresStore``: the group-commit writers (``writer``) for ingest and attempts, a
pool for everything else (``queries``, ``commands``, and single statements here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import asyncpg

from hookyard.exceptions import StoreError
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
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
from hookyard.store.activity import Activity
from hookyard.store.base import ReleaseLane, Store, Unlisten
from hookyard.store.postgres import activity, commands, mirror, queries
from hookyard.store.postgres.connection import apply_migrations, connect, keep_session
from hookyard.store.postgres.queries import DISPATCH_CHANNEL, Q
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
                conn, sources=sources, after=after, until_us=until_us, limit=limit
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

    # -- the dashboard's overview (hookyard.store.activity) ----------------------------------

    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        async with self.pool.acquire() as conn:
            return await activity.activity(conn, since_us, bucket_us, buckets)

"""``SqliteStore``: the writer (``writer``) for every write, a small pool of read-only
connections (which WAL lets proceed during writes) for every read (``queries``)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hookyard.exceptions import StoreError, StoreSaturated
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
from hookyard.store.sqlite import activity, commands, mirror, queries
from hookyard.store.sqlite.connection import apply_migrations, connect
from hookyard.store.sqlite.writer import Job, Writer, watch_commits

T = TypeVar("T")


class SqliteStore(Store):
    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self.path = url.removeprefix("sqlite:///")
        self.queue_size = queue_size
        self._pending = 0
        self._writer: Writer | None = None
        self._closing = False
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hookyard-sqlite-read")
        self._local = threading.local()
        #: Called on the event loop after a commit that created dispatches (worker wake-up).
        self.on_dispatch: list[Callable[[], None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        def run() -> list[int]:
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
                conn = connect(self.path)
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"cannot open database {self.path}: {exc}") from None
            try:
                return apply_migrations(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def start(self) -> None:
        await self.migrate()
        self._writer = Writer(self.path, asyncio.get_running_loop())

    async def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            await self._writer.drain()
            await asyncio.to_thread(self._writer.close)
            self._writer = None
        self._readers.shutdown(wait=True)

    # -- writes --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    async def submit(self, submission: Submission) -> WriteResult:
        result: WriteResult = await self._enqueue(Job(self._future(), submission=submission))
        if submission.destinations and not result.duplicate:
            for wake in self.on_dispatch:
                wake()
        return result

    async def run_in_writer(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``call`` inside the writer's next transaction (serialised with ingest).

        It runs on the event loop, between ingest batches: keep it to a few statements.
        """
        value: T = await self._enqueue(Job(self._future(), call=call))
        return value

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _enqueue(self, job: Job) -> Any:
        if self._writer is None or self._closing:
            raise StoreSaturated("store is not accepting writes")
        if self._pending >= self.queue_size:
            raise StoreSaturated(f"{self._pending} writes waiting")
        self._pending += 1
        try:
            self._writer.put(job)
            return await job.future
        finally:
            self._pending -= 1

    # -- reads ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
        return conn

    async def read(self, call: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: call(self._reader()))

    async def get_event(self, event_id: str) -> EventRecord | None:
        return await self.read(lambda conn: queries.get_event(conn, event_id))

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        return await self.read(lambda conn: queries.get_body(conn, event_id))

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        return await self.read(lambda conn: queries.list_events(conn, query))

    async def count_events(self) -> int:
        return await self.read(queries.count_events)

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
        return await self.read(
            lambda conn: queries.list_dispatches(
                conn,
                status=status,
                destination=destination,
                since_us=since_us,
                until_us=until_us,
                cursor=cursor,
                limit=limit,
            )
        )

    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        return await self.read(lambda conn: queries.known_event_ids(conn, event_ids))

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        return await self.run_in_writer(
            lambda conn: commands.claim_due(
                conn,
                worker_id,
                now_us=now_us,
                lease_us=lease_us,
                limit=limit,
                destinations=destinations,
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
            lambda conn: commands.record_attempt(
                conn, worker_id, attempt, status=status, processed_key=processed_key
            )
        )

    async def release_leases(self, worker_id: str, *, now_us: int) -> int:
        return await self.run_in_writer(
            lambda conn: commands.release_leases(conn, worker_id, now_us=now_us)
        )

    async def postpone(
        self, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.postpone(
                conn, worker_id, dispatch_id, next_attempt_us=next_attempt_us, now_us=now_us
            )
        )

    async def is_processed(self, destination: str, key: str) -> bool:
        return await self.read(lambda conn: queries.is_processed(conn, destination, key))

    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.set_destination_disabled(
                conn, name, disabled, reason=reason, now_us=now_us
            )
        )

    async def disabled_destinations(self) -> dict[str, str]:
        return await self.read(queries.disabled_destinations)

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        moved = await self.run_in_writer(
            lambda conn: commands.retry_dead(conn, dispatch_ids, now_us=now_us)
        )
        if moved:
            for wake in self.on_dispatch:
                wake()
        return moved

    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` after this store's own commits that made dispatches due
        (``on_dispatch``), and soon after another process commits (``serve --no-worker``
        beside ``hookyard worker``). SQLite has no notifications, but ``PRAGMA
        data_version`` changes whenever another connection has committed, and reading it
        costs a few microseconds: cheap enough for the event loop, 40 times a second."""
        conn = connect(self.path, readonly=True)
        conn.execute("PRAGMA busy_timeout = 0")  # on the loop: never wait on a lock
        task = asyncio.create_task(watch_commits(conn, wake), name="hookyard-sqlite-watch")
        self.on_dispatch.append(wake)

        async def stop() -> None:
            with contextlib.suppress(ValueError):
                self.on_dispatch.remove(wake)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            conn.close()

        return stop

    # -- replay --------------------------------------------------------------------------

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        return await self.read(lambda conn: queries.replay_payloads(conn, event_ids))

    async def create_replay_batch(self, batch: ReplayBatch) -> None:
        await self.run_in_writer(lambda conn: commands.create_replay_batch(conn, batch))

    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.record_replay_results(
                conn, batch_id, results, missing=missing, now_us=now_us
            )
        )

    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.finish_replay_batch(
                conn, batch_id, status, now_us=now_us, error=error
            )
        )

    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None:
        return await self.read(lambda conn: queries.get_replay_batch(conn, batch_id))

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        return await self.read(
            lambda conn: queries.replay_batch_dispatches(conn, batch_id, status, limit)
        )

    # -- mirror log ----------------------------------------------------------------------

    async def mirror_candidates(
        self,
        *,
        sources: Sequence[str],
        after: MirrorCursor | None,
        until_us: int,
        limit: int,
    ) -> list[DeliveryEvent]:
        return await self.read(
            lambda conn: mirror.candidates(
                conn, sources=sources, after=after, until_us=until_us, limit=limit
            )
        )

    async def mirror_lane(self, name: str) -> MirrorLaneState | None:
        return await self.read(lambda conn: mirror.lane(conn, name))

    async def record_mirror_copies(
        self,
        name: str,
        copies: Sequence[MirrorCopyRecord],
        *,
        cursor: MirrorCursor | None,
        now_us: int,
        lag_us: int | None = None,
    ) -> None:
        await self.run_in_writer(
            lambda conn: mirror.record(conn, name, copies, cursor, now_us, lag_us)
        )

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
        return await self.read(
            lambda conn: mirror.pairs(
                conn,
                name,
                compare_with=compare_with,
                since_us=since_us,
                source=source,
                event_ids=event_ids,
                with_bodies=with_bodies,
            )
        )

    async def hold_mirror_lane(self, name: str) -> ReleaseLane | None:
        return await mirror.hold_lane(self.path, name)

    # -- the dashboard's overview (hookyard.store.activity) ----------------------------------

    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        return await self.read(lambda conn: activity.activity(conn, since_us, bucket_us, buckets))

"""``SqliteStore``: the writer (``writer``) for every write, a small pool of read-only
connections (which WAL lets proceed during writes) for every read (``queries``)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hookyard import clock
from hookyard.exceptions import StoreError, StoreSaturated
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
from hookyard.store.payloads import ResealBatch, seal_submission
from hookyard.store.progress import WriteProgress
from hookyard.store.rows import audit_row
from hookyard.store.sqlite import activity, commands, keys, mirror, queries, redaction, retention
from hookyard.store.sqlite.connection import apply_migrations, connect
from hookyard.store.sqlite.queries import Q
from hookyard.store.sqlite.writer import Job, Writer, watch_commits
from hookyard.supervision import Supervisor

T = TypeVar("T")


class SqliteStore(Store):
    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 10_000,
        keyring: Keyring = PLAIN,
        durable: bool = True,
    ) -> None:
        self.url = url
        #: Whether each commit waits for the disk (``open_store``'s ``durable``).
        self.durable = durable
        #: Seals bodies and header lists as they are taken, opens them as they are read.
        self.keyring = keyring
        self.path = url.removeprefix("sqlite:///")
        self.queue_size = queue_size
        self._pending = 0
        self._writer: Writer | None = None
        self._closing = False
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hookyard-sqlite-read")
        self._local = threading.local()
        #: Called on the event loop after a commit that created dispatches (worker wake-up).
        self.on_dispatch: list[Callable[[], None]] = []
        self.loops = Supervisor()
        self.progress = WriteProgress()

    # -- lifecycle -----------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        def run() -> list[int]:
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
                conn = connect(self.path)
            except OSError as exc:
                raise StoreError(f"cannot open database {self.path}: {exc.strerror}") from None
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot open database {self.path}: {exc} "
                    "(does its directory exist, and may this user write there?)"
                ) from None
            try:
                return apply_migrations(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def start(self) -> None:
        await self.migrate()
        self._writer = Writer(self.path, asyncio.get_running_loop(), durable=self.durable)
        try:
            await self.check_keys()
        except BaseException:
            await self.close()
            raise

    async def ping(self) -> None:
        def probe(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()

        try:
            await self.read(probe)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from None

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

    def stalled_seconds(self) -> float:
        return self.progress.stalled_seconds()

    async def submit(self, submission: Submission) -> WriteResult:
        sealed = seal_submission(self.keyring, submission)
        result: WriteResult = await self._enqueue(Job(self._future(), submission=sealed))
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
        self.progress.taken()
        try:
            self._writer.put(job)
            return await job.future
        finally:
            self._pending -= 1
            self.progress.settled()

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
        return await self.read(lambda conn: queries.get_event(conn, event_id, self.keyring))

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        return await self.read(lambda conn: queries.get_body(conn, event_id, self.keyring))

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
            lambda conn: commands.record_attempt(
                conn, worker_id, attempt, status=status, processed_key=processed_key
            )
        )

    async def renew_leases(self, worker_id: str, *, now_us: int, lease_us: int) -> int:
        params = {"owner": worker_id, "expires": now_us + lease_us}
        return await self.run_in_writer(
            lambda conn: conn.execute(Q["renew_leases"], params).rowcount
        )

    async def expire_leases(self, *, now_us: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute(Q["lost_attempts"], {"now": now_us})
            return conn.execute(Q["expire_leases"], {"now": now_us}).rowcount

        moved = await self.run_in_writer(run)
        if moved:
            for wake in self.on_dispatch:
                wake()
        return moved

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
        await self.set_destination_mode(
            name, "disabled" if disabled else "active", reason=reason, now_us=now_us
        )

    async def disabled_destinations(self) -> dict[str, str]:
        return await self.read(queries.disabled_destinations)

    # -- operator controls ---------------------------------------------------------------

    async def set_destination_mode(
        self, name: str, state: DestinationMode, *, reason: str, now_us: int
    ) -> int:
        moved = await self.run_in_writer(
            lambda conn: commands.set_destination_mode(
                conn, name, state, reason=reason, now_us=now_us
            )
        )
        if state == "active" and moved:
            for wake in self.on_dispatch:
                wake()
        return moved

    async def destination_states(self) -> dict[str, DestinationState]:
        return await self.read(queries.destination_states)

    async def hold_dispatches(self, name: str, state: DestinationMode, *, now_us: int) -> int:
        return await self.run_in_writer(
            lambda conn: commands.hold_dispatches(conn, name, state, now_us=now_us)
        )

    async def note_destination_activity(
        self, reports: Sequence[DestinationActivity], *, now_us: int
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.note_destination_activity(conn, reports, now_us=now_us)
        )

    async def destination_backlog(self) -> dict[str, dict[str, int]]:
        return await self.read(queries.destination_backlog)

    async def destination_outcomes(self, *, since_us: int) -> dict[str, tuple[int, int]]:
        return await self.read(lambda conn: queries.destination_outcomes(conn, since_us))

    async def record_audit(self, entry: AuditEntry) -> None:
        await self.run_in_writer(lambda conn: conn.execute(Q["insert_audit"], audit_row(entry)))

    async def list_audit(
        self,
        *,
        action: str | None = None,
        since_us: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        return await self.read(
            lambda conn: queries.list_audit(
                conn, action=action, since_us=since_us, cursor=cursor, limit=limit
            )
        )

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        moved = await self.run_in_writer(
            lambda conn: commands.retry_dead(conn, dispatch_ids, now_us=now_us)
        )
        if moved:
            for wake in self.on_dispatch:
                wake()
        return moved

    async def sample_backlog(
        self, destinations: Sequence[str], *, now_us: int
    ) -> BacklogSample | None:
        def sample(conn: sqlite3.Connection) -> BacklogSample:
            counts = {(d, s): n for d, s, n in conn.execute(Q["backlog_counts"])}
            oldest = {}
            for name in destinations:
                due = conn.execute(Q["backlog_oldest_due"], (name, now_us)).fetchone()[0]
                if due is not None:
                    oldest[name] = due
            return BacklogSample(now_us, counts, oldest)

        return await self.read(sample)

    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` after this store's own commits that made dispatches due
        (``on_dispatch``), and soon after another process commits (``serve --no-worker``
        beside ``hookyard worker``). SQLite has no notifications, but ``PRAGMA
        data_version`` changes whenever another connection has committed, and reading it
        costs a few microseconds: cheap enough for the event loop, 40 times a second."""
        conn = connect(self.path, readonly=True)
        conn.execute("PRAGMA busy_timeout = 0")  # on the loop: never wait on a lock
        stopped = asyncio.Event()
        task = self.loops.start(
            f"commit-watch-{len(self.loops.loops)}",
            lambda: watch_commits(conn, wake),
            stopping=stopped.is_set,
        )
        self.on_dispatch.append(wake)

        async def stop() -> None:
            with contextlib.suppress(ValueError):
                self.on_dispatch.remove(wake)
            stopped.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            conn.close()

        return stop

    # -- replay --------------------------------------------------------------------------

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[DeliveryEvent]:
        return await self.read(lambda conn: queries.replay_payloads(conn, event_ids, self.keyring))

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

    async def list_replay_batches(
        self, *, cursor: str | None = None, limit: int = 50
    ) -> list[ReplayBatch]:
        return await self.read(
            lambda conn: queries.list_replay_batches(conn, cursor=cursor, limit=limit)
        )

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
                conn,
                sources=sources,
                after=after,
                until_us=until_us,
                limit=limit,
                keyring=self.keyring,
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

    # -- retention -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def purge_lock(self) -> AsyncIterator[bool]:
        # Two purges at once are safe (every batch is checked again in the writer, and
        # writes take the database lock in turn), so there is nothing to exclude.
        yield True

    async def count_purge_candidates(self, selector: PurgeSelector) -> int:
        return await self.read(lambda conn: retention.count_candidates(conn, selector))

    async def purge_events(
        self, selector: PurgeSelector, *, now_us: int, after: str, limit: int, dry_run: bool
    ) -> PurgeStep:
        ids = await self.read(
            lambda conn: retention.candidates(conn, selector, after=after, limit=limit)
        )
        if dry_run:
            counts = await self.read(
                lambda conn: retention.purge(conn, selector, ids, now_us=now_us, dry_run=True)
            )
        else:
            counts = await self.run_in_writer(
                lambda conn: retention.purge(conn, selector, ids, now_us=now_us, dry_run=False)
            )
        return PurgeStep(counts=counts, last_id=ids[-1] if ids else None, examined=len(ids))

    async def purge_dedup_keys(self, *, now_us: int, limit: int, dry_run: bool) -> int:
        keys = await self.read(
            lambda conn: retention.stale_dedup_keys(conn, now_us=now_us, limit=limit)
        )
        if dry_run or not keys:
            return len(keys)
        return await self.run_in_writer(
            lambda conn: retention.delete_dedup_keys(conn, keys, now_us=now_us)
        )

    async def purge_replay_batches(self, *, before_us: int, limit: int, dry_run: bool) -> int:
        ids = await self.read(
            lambda conn: retention.finished_replay_batches(conn, before_us=before_us, limit=limit)
        )
        if dry_run or not ids:
            return len(ids)
        return await self.run_in_writer(
            lambda conn: retention.delete_replay_batches(conn, ids, before_us=before_us)
        )

    # -- redaction -----------------------------------------------------------------------

    async def redaction_mark(self, source: str) -> str:
        return await self.read(lambda conn: redaction.mark(conn, source))

    async def redaction_candidates(
        self, source: str, *, cutoff_us: int, after: str, limit: int
    ) -> list[RedactionCandidate]:
        return await self.read(
            lambda conn: redaction.candidates(
                conn, source, cutoff_us=cutoff_us, after=after, limit=limit, keyring=self.keyring
            )
        )

    async def apply_redactions(
        self, source: str, redactions: Sequence[BodyRedaction], *, mark: str | None
    ) -> int:
        return await self.run_in_writer(
            lambda conn: redaction.apply(conn, source, redactions, mark, self.keyring)
        )

    # -- encryption at rest ----------------------------------------------------------------

    async def check_keys(self) -> None:
        await self.run_in_writer(
            lambda conn: keys.check_keys(conn, self.keyring, now_us=clock.now_us())
        )

    async def key_usage(self) -> dict[str | None, int]:
        return await self.read(keys.key_usage)

    async def reseal_events(self, *, after: str | None, limit: int) -> ResealBatch:
        return await self.run_in_writer(
            lambda conn: keys.reseal_events(conn, self.keyring, after=after, limit=limit)
        )

    async def forget_keys(self, key_ids: Sequence[str]) -> int:
        return await self.run_in_writer(lambda conn: keys.forget_keys(conn, key_ids))

    # -- live events and listeners (issue 19) ---------------------------------------------

    async def stream_events(
        self, query: EventFilter, *, after: str | None, before: str, limit: int
    ) -> list[EventSummary]:
        return await self.read(
            lambda conn: queries.stream_events(conn, query, after=after, before=before, limit=limit)
        )

    async def listen_for_events(self, wake: Callable[[], None]) -> Unlisten:
        """The data-version watch alone: the writer's own commits change it for this
        connection too, so ingest does nothing more for the stream."""
        conn = connect(self.path, readonly=True)
        conn.execute("PRAGMA busy_timeout = 0")
        task = asyncio.create_task(watch_commits(conn, wake), name="hookyard-sqlite-events")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            conn.close()

        return stop

    async def listener_cursor(self, name: str) -> str | None:
        return await self.read(lambda conn: queries.listener_cursor(conn, name))

    async def record_listener_results(
        self,
        name: str,
        batch_id: str,
        results: Sequence[ReplayResult],
        *,
        cursor: str | None,
        now_us: int,
    ) -> None:
        await self.run_in_writer(
            lambda conn: commands.record_listener_results(
                conn, name, batch_id, results, cursor=cursor, now_us=now_us
            )
        )

    # -- the dashboard's overview (hookyard.store.activity) ----------------------------------

    async def activity(self, *, since_us: int, bucket_us: int, buckets: int) -> Activity:
        return await self.read(lambda conn: activity.activity(conn, since_us, bucket_us, buckets))

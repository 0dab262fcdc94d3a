"""Embedded SQLite backend: WAL, ``synchronous=FULL``, pipelined group commit.

One connection does every write (two writers on one file fight over the lock). The
submissions of one event-loop turn go into one transaction, written on the loop; a
thread runs the ``COMMIT`` and a single ``call_soon_threadsafe`` then releases the
whole batch (see ``_Writer``). Reads run on a small pool of read-only connections,
which WAL lets proceed during writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
    replay_dispatch_row,
    replay_payload_from_row,
    summary_from_row,
)
from hookyard.store.sqlfiles import load_migrations, load_queries

T = TypeVar("T")
log = logging.getLogger("hookyard.store")
MAX_BATCH = 512
#: How soon to try again for the write lock another process holds. Its transactions last
#: about a millisecond; retrying every 2 ms left the lock free much of the time, and cost
#: a worker beside `serve --no-worker` a tenth of its throughput.
LOCKED_RETRY_SECONDS = 0.0005
#: How often a worker looks for commits made by other processes (``PRAGMA data_version``).
CHANGE_POLL_SECONDS = 0.025
Q = load_queries("sqlite")


@dataclass(slots=True)
class _Job:
    """A submission to group-commit, or a function to run inside the writer's transaction."""

    future: asyncio.Future[Any]
    submission: Submission | None = None
    call: Callable[[sqlite3.Connection], Any] | None = None


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def split_statements(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in current.splitlines()
    ):
        statements.append(current.strip())
    return statements


def apply_migrations(conn: sqlite3.Connection) -> list[int]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)"
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        applied = []
        for migration in load_migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time_ns() // 1000),
            )
            applied.append(migration.version)
        conn.execute("COMMIT")
        return applied
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise MigrationError(f"migration failed: {exc}") from exc


def _dedup_owners(
    conn: sqlite3.Connection, keyed: Sequence[Submission]
) -> dict[tuple[str, str], tuple[str, int]]:
    """Current owner and expiry of each dedup key in the batch, in one query per chunk."""
    owners: dict[tuple[str, str], tuple[str, int]] = {}
    for start in range(0, len(keyed), 400):  # 2 variables a key; SQLite allows 32766
        chunk = keyed[start : start + 400]
        values = ",".join(["(?, ?)"] * len(chunk))
        params = [v for sub in chunk for v in (sub.request.source, sub.dedup_key)]
        sql = Q["dedup_owners"].replace("(VALUES_LIST)", f"(VALUES {values})")
        for source, key, event_id, expires_us in conn.execute(sql, params):
            owners[(source, key)] = (event_id, expires_us)
    return owners


def write_submissions(conn: sqlite3.Connection, batch: Sequence[Submission]) -> list[WriteResult]:
    """Insert a batch inside the caller's ``BEGIN IMMEDIATE`` transaction, deduplicating.

    The write lock is held, so the owner lookup cannot race another writer; the
    ``dedup_keys`` primary key still backs it up (a violation fails the batch, which the
    writer then retries one submission at a time). Statements are set-based: a few
    calls into SQLite per batch rather than several per row.
    """
    leaders, follower_of = group_duplicates_in_batch(batch)
    extra = follower_counts(follower_of)
    owners = _dedup_owners(conn, [s for s in leaders if s.dedup_key is not None])
    new_keys: list[tuple[str, str, str, int, int]] = []
    takeovers: list[tuple[str, int, int, str, str]] = []
    repeats: list[tuple[int, int, str]] = []
    events: list[tuple[object, ...]] = []
    dispatches: list[tuple[str, str, str, int, int, int]] = []
    results: dict[str, WriteResult] = {}
    for sub in leaders:
        req = sub.request
        key = sub.dedup_key
        if key is not None:
            owner = owners.get((req.source, key))
            expires = req.received_us + sub.dedup_window_us
            if owner is not None and owner[1] > req.received_us:
                repeats.append((1 + extra.get(req.id, 0), req.received_us, owner[0]))
                results[req.id] = WriteResult(id=req.id, duplicate_of=owner[0])
                continue
            if owner is None:
                new_keys.append((req.source, key, req.id, req.received_us, expires))
            else:
                takeovers.append((req.id, req.received_us, expires, req.source, key))
        events.append(event_row(sub, extra.get(req.id, 0)))
        if sub.verdict.status != "invalid":
            t = req.received_us
            dispatches.extend((new_id(), req.id, d, t, t, t) for d in sub.destinations)
        results[req.id] = WriteResult(id=req.id)
    conn.executemany(Q["insert_dedup_key"], new_keys)
    conn.executemany(Q["take_over_dedup_key"], takeovers)
    conn.executemany(Q["insert_event"], events)
    conn.executemany(Q["count_duplicates"], repeats)
    conn.executemany(Q["insert_dispatch"], dispatches)
    return resolve_followers(batch, results, follower_of)


def with_attempts(conn: sqlite3.Connection, dispatches: list[Row]) -> list[DispatchRecord]:
    """The dispatches with their attempts, read in one more statement (none when empty)."""
    if not dispatches:
        return []
    ids = json.dumps([row[0] for row in dispatches])
    return attach_attempts(dispatches, conn.execute(Q["attempts_of_dispatches"], (ids,)))


class _Committer(threading.Thread):
    """Runs ``COMMIT`` (the fsync) off the event loop and reports back to it."""

    def __init__(self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(name="hookyard-sqlite-commit", daemon=True)
        self.conn = conn
        self.loop = loop
        self.requests: queue.SimpleQueue[Callable[[BaseException | None], None] | None] = (
            queue.SimpleQueue()
        )

    def run(self) -> None:
        while (done := self.requests.get()) is not None:
            error: BaseException | None = None
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                error = exc
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            self.loop.call_soon_threadsafe(done, error)


class _Writer:
    """Group commit, pipelined: statements on the event loop, the fsync on a thread.

    Submissions that arrive during one event-loop turn form a batch. Its statements
    run right there on the loop (in-memory B-tree work, a few microseconds a row)
    inside ``BEGIN IMMEDIATE``; only ``COMMIT`` goes to the committer thread. While
    that fsync runs, the loop keeps parsing requests, which become the next batch.

    Why not a writer thread doing everything: each SQLite statement releases and
    retakes the GIL, and a writer thread retaking it from a busy event loop waited
    up to the switch interval each time (measured: 8 ms a batch, of which 2 ms was
    work). Here the thread needs the GIL once a batch.

    The loop never waits for the lock: ``BEGIN IMMEDIATE`` runs with no busy timeout,
    and if another process holds the lock the batch is retried a moment later.
    """

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = connect(path)
        self.conn.execute("PRAGMA busy_timeout = 0")
        self.loop = loop
        self.committer = _Committer(self.conn, loop)
        self.committer.start()
        self.waiting: list[_Job] = []
        self._busy = False  # a batch is between BEGIN and the end of its COMMIT
        self._scheduled = False
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, job: _Job) -> None:
        self.waiting.append(job)
        self._schedule()

    def _schedule(self, delay: float = 0.0) -> None:
        if self._busy or self._scheduled:
            return
        self._scheduled = True
        if delay:
            self.loop.call_later(delay, self._start_batch)
        else:
            self.loop.call_soon(self._start_batch)

    def _start_batch(self) -> None:
        self._scheduled = False
        if self._busy:
            return
        if not self.waiting:
            self._idle.set()
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                self._schedule(delay=LOCKED_RETRY_SECONDS)  # another process is writing
                return
            self._fail(self._take_batch(), exc)
            return
        jobs = self._take_batch()
        self._busy = True
        try:
            outcomes = run_jobs(self.conn, jobs)
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self._busy = False
            self._fail(jobs, exc)
            return
        self.committer.requests.put(lambda error: self._committed(jobs, outcomes, error))

    def _take_batch(self) -> list[_Job]:
        jobs, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
        return jobs

    def _committed(
        self,
        jobs: list[_Job],
        outcomes: list[tuple[Any, BaseException | None]],
        error: BaseException | None,
    ) -> None:
        self._busy = False
        if error is not None:
            self._fail(jobs, error)
        else:
            _resolve(jobs, outcomes)
        # After the futures' callbacks, so those answers leave before the next batch.
        self._schedule()

    def _fail(self, jobs: list[_Job], exc: BaseException) -> None:
        log.error("store write failed: %s", exc)
        error = StoreError(f"store write failed: {exc}")
        _resolve(jobs, [(None, error)] * len(jobs))
        self._schedule()

    async def drain(self) -> None:
        """Wait until every submitted job is committed (or failed)."""
        while self.waiting or self._busy or self._scheduled:
            self._idle.clear()
            self._schedule()
            await self._idle.wait()

    def close(self) -> None:
        self.committer.requests.put(None)
        self.committer.join()
        self.conn.close()


def run_jobs(conn: sqlite3.Connection, jobs: list[_Job]) -> list[tuple[Any, BaseException | None]]:
    """Every job of a batch inside the open transaction; a failing job fails alone.

    Submissions are written together; if that raises (a constraint, say), they are
    written again one by one so only the submission at fault gets the error. Calls
    each run in a savepoint.
    """
    submissions = [job.submission for job in jobs if job.submission is not None]
    written: dict[int, tuple[Any, BaseException | None]] = {}
    if submissions:
        conn.execute("SAVEPOINT batch")
        try:
            results = write_submissions(conn, submissions)
            conn.execute("RELEASE batch")
            for sub, result in zip(submissions, results, strict=True):
                written[id(sub)] = (result, None)
        except Exception:
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            for sub in submissions:
                alone = _in_savepoint(conn, functools.partial(_write_one, submission=sub))
                written[id(sub)] = _store_error(alone)
    outcomes: list[tuple[Any, BaseException | None]] = []
    for job in jobs:
        if job.submission is not None:
            outcomes.append(written[id(job.submission)])
        else:
            assert job.call is not None
            outcomes.append(_in_savepoint(conn, job.call))
    return outcomes


def _write_one(conn: sqlite3.Connection, submission: Submission) -> WriteResult:
    return write_submissions(conn, [submission])[0]


def _in_savepoint(
    conn: sqlite3.Connection, call: Callable[[sqlite3.Connection], Any]
) -> tuple[Any, BaseException | None]:
    conn.execute("SAVEPOINT job")
    try:
        value = call(conn)
    except Exception as exc:
        conn.execute("ROLLBACK TO job")
        conn.execute("RELEASE job")
        return None, exc
    conn.execute("RELEASE job")
    return value, None


def _store_error(outcome: tuple[Any, BaseException | None]) -> tuple[Any, BaseException | None]:
    error = outcome[1]
    if error is None or isinstance(error, StoreError):
        return outcome
    log.error("store write failed: %s", error)
    return None, StoreError(f"store write failed: {error}")


def _resolve(jobs: list[_Job], outcomes: list[tuple[Any, BaseException | None]]) -> None:
    for job, (value, error) in zip(jobs, outcomes, strict=True):
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)


class SqliteStore(Store):
    def __init__(self, url: str, *, queue_size: int = 10_000) -> None:
        self.url = url
        self.path = url.removeprefix("sqlite:///")
        self.queue_size = queue_size
        self._pending = 0
        self._writer: _Writer | None = None
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
        self._writer = _Writer(self.path, asyncio.get_running_loop())

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
        result: WriteResult = await self._enqueue(_Job(self._future(), submission=submission))
        if submission.destinations and not result.duplicate:
            for wake in self.on_dispatch:
                wake()
        return result

    async def run_in_writer(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``call`` inside the writer's next transaction (serialised with ingest).

        It runs on the event loop, between ingest batches: keep it to a few statements.
        """
        value: T = await self._enqueue(_Job(self._future(), call=call))
        return value

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _enqueue(self, job: _Job) -> Any:
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
        def run(conn: sqlite3.Connection) -> EventRecord | None:
            row = conn.execute(Q["get_event"], (event_id,)).fetchone()
            if row is None:
                return None
            dispatches = conn.execute(Q["event_dispatches"], (event_id,)).fetchall()
            return record_from_row(row, with_attempts(conn, dispatches))

        return await self.read(run)

    async def get_body(self, event_id: str) -> tuple[bytes, str] | None:
        def run(conn: sqlite3.Connection) -> tuple[bytes, str] | None:
            row = conn.execute(Q["get_body"], (event_id,)).fetchone()
            return None if row is None else (bytes(row[0]), row[1])

        return await self.read(run)

    async def list_events(self, query: EventFilter) -> list[EventSummary]:
        def run(conn: sqlite3.Connection) -> list[EventSummary]:
            types = None
            if query.event_type and filters.is_glob(query.event_type):
                stored = [r[0] for r in conn.execute(filters.SQLITE.distinct_types_sql)]
                types = filters.types_to_search(query.event_type, stored)
                if types == []:
                    return []
            sql, params = filters.list_sql(query, filters.SQLITE, event_types=types)
            return [summary_from_row(row) for row in conn.execute(sql, params)]

        return await self.read(run)

    async def count_events(self) -> int:
        def run(conn: sqlite3.Connection) -> int:
            count: int = conn.execute(Q["count_events"]).fetchone()[0]
            return count

        return await self.read(run)

    # -- delivery ------------------------------------------------------------------------

    async def claim_due(
        self, worker_id: str, *, now_us: int, lease_us: int, limit: int, destinations: Sequence[str]
    ) -> list[ClaimedDispatch]:
        names = json.dumps(list(destinations))

        def run(conn: sqlite3.Connection) -> list[ClaimedDispatch]:
            ids = [
                row[0]
                for row in conn.execute(
                    Q["claim_due"],
                    {
                        "owner": worker_id,
                        "expires": now_us + lease_us,
                        "now": now_us,
                        "names": names,
                        "limit": limit,
                    },
                ).fetchall()
            ]
            if not ids:
                return []
            rows = conn.execute(Q["claimed_rows"], (json.dumps(ids),)).fetchall()
            return [claimed_from_row(row) for row in rows]

        return await self.run_in_writer(run)

    async def record_attempt(
        self,
        worker_id: str,
        attempt: AttemptRecord,
        *,
        status: str,
        processed_key: tuple[str, str, str] | None = None,
    ) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                Q["finish_attempt"],
                (
                    status,
                    attempt.next_attempt_us,
                    attempt.status_code,
                    attempt.started_us,
                    attempt.dispatch_id,
                    worker_id,
                ),
            ).fetchone()
            if row is None:
                return False
            conn.execute(Q["insert_attempt"], attempt_row(attempt))
            if processed_key is not None:
                conn.execute(Q["insert_processed_key"], (*processed_key, attempt.started_us))
            conn.execute(Q["refresh_event_status"], (row[0], row[0]))
            return True

        return await self.run_in_writer(run)

    async def release_leases(self, worker_id: str, *, now_us: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            return conn.execute(Q["release_leases"], (now_us, now_us, worker_id)).rowcount

        return await self.run_in_writer(run)

    async def postpone(
        self, worker_id: str, dispatch_id: str, *, next_attempt_us: int, now_us: int
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(Q["postpone"], (next_attempt_us, now_us, dispatch_id, worker_id))

        await self.run_in_writer(run)

    async def is_processed(self, destination: str, key: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            return conn.execute(Q["is_processed"], (destination, key)).fetchone() is not None

        return await self.read(run)

    async def set_destination_disabled(
        self, name: str, disabled: bool, *, reason: str, now_us: int
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(Q["set_destination_state"], (name, int(disabled), reason, now_us))
            if disabled:
                conn.execute(Q["hold_destination"], (now_us, name))
                status = "disabled"
            else:
                conn.execute(Q["resume_destination"], (now_us, now_us, name))
                status = "pending"
            for (event_id,) in conn.execute(
                Q["dispatch_events_with_status"], (name, status)
            ).fetchall():
                conn.execute(Q["refresh_event_status"], (event_id, event_id))

        await self.run_in_writer(run)

    async def disabled_destinations(self) -> dict[str, str]:
        def run(conn: sqlite3.Connection) -> dict[str, str]:
            return dict(conn.execute(Q["disabled_destinations"]).fetchall())

        return await self.read(run)

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
            placeholder=lambda _: "?",
        )

        def run(conn: sqlite3.Connection) -> list[DispatchRecord]:
            return with_attempts(conn, conn.execute(sql, params).fetchall())

        return await self.read(run)

    async def retry_dead(self, dispatch_ids: Sequence[str], *, now_us: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                Q["retry_dead"], (now_us, now_us, json.dumps(list(dispatch_ids)))
            ).fetchall()
            for event_id in {r[0] for r in rows}:
                conn.execute(Q["refresh_event_status"], (event_id, event_id))
            return len(rows)

        moved = await self.run_in_writer(run)
        if moved:
            for wake in self.on_dispatch:
                wake()
        return moved

    # -- replay --------------------------------------------------------------------------

    async def known_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(event_ids), 10_000):
                chunk = json.dumps(list(event_ids[start : start + 10_000]))
                found.update(row[0] for row in conn.execute(Q["known_event_ids"], (chunk,)))
            return found

        return await self.read(run)

    async def replay_payloads(self, event_ids: Sequence[str]) -> list[ReplayPayload]:
        def run(conn: sqlite3.Connection) -> list[ReplayPayload]:
            rows = conn.execute(Q["replay_payloads"], (json.dumps(list(event_ids)),)).fetchall()
            return [replay_payload_from_row(row) for row in rows]

        return await self.read(run)

    async def create_replay_batch(self, batch: ReplayBatch) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(Q["insert_replay_batch"], replay_batch_row(batch))

        await self.run_in_writer(run)

    async def record_replay_results(
        self, batch_id: str, results: Sequence[ReplayResult], *, missing: int = 0, now_us: int
    ) -> None:
        dispatches = [replay_dispatch_row(r, batch_id, now_us) for r in results]
        attempts = [attempt_row(r.attempt) for r in results]
        keys = [(*r.processed_key, r.attempt.started_us) for r in results if r.processed_key]
        delivered, failed, skipped = replay_counts(results, missing)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(Q["insert_replay_dispatch"], dispatches)
            conn.executemany(Q["insert_attempt"], attempts)
            conn.executemany(Q["insert_processed_key"], keys)
            conn.execute(Q["count_replay_results"], (delivered, failed, skipped, now_us, batch_id))

        await self.run_in_writer(run)

    async def finish_replay_batch(
        self, batch_id: str, status: str, *, now_us: int, error: str | None = None
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(Q["finish_replay_batch"], (status, now_us, now_us, error, batch_id))

        await self.run_in_writer(run)

    async def get_replay_batch(self, batch_id: str) -> ReplayBatch | None:
        def run(conn: sqlite3.Connection) -> ReplayBatch | None:
            row = conn.execute(Q["get_replay_batch"], (batch_id,)).fetchone()
            return None if row is None else replay_batch_from_row(row)

        return await self.read(run)

    async def replay_batch_dispatches(
        self, batch_id: str, *, status: str, limit: int = 20
    ) -> list[DispatchRecord]:
        def run(conn: sqlite3.Connection) -> list[DispatchRecord]:
            rows = conn.execute(Q["replay_batch_dispatches"], (batch_id, status, limit))
            return with_attempts(conn, rows.fetchall())

        return await self.read(run)

    async def listen_for_dispatches(self, wake: Callable[[], None]) -> Unlisten:
        """Call ``wake`` after this store's own commits that made dispatches due
        (``on_dispatch``), and soon after another process commits (``serve --no-worker``
        beside ``hookyard worker``). SQLite has no notifications, but ``PRAGMA
        data_version`` changes whenever another connection has committed, and reading it
        costs a few microseconds: cheap enough for the event loop, 40 times a second."""
        conn = connect(self.path, readonly=True)
        conn.execute("PRAGMA busy_timeout = 0")  # on the loop: never wait on a lock
        task = asyncio.create_task(_watch_commits(conn, wake), name="hookyard-sqlite-watch")
        self.on_dispatch.append(wake)

        async def stop() -> None:
            with contextlib.suppress(ValueError):
                self.on_dispatch.remove(wake)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            conn.close()

        return stop


async def _watch_commits(conn: sqlite3.Connection, wake: Callable[[], None]) -> None:
    seen = None
    while True:
        with contextlib.suppress(sqlite3.Error):  # busy for a moment: look again next time
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if seen is not None and version != seen:
                wake()
            seen = version
        await asyncio.sleep(CHANGE_POLL_SECONDS)

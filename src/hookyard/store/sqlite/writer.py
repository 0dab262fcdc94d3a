"""SQLite group commit, pipelined: statements on the event loop, the fsync on a thread.

One connection does every write (two writers on one file fight over the lock). The
submissions of one event-loop turn go into one transaction, written on the loop; a
thread runs the ``COMMIT`` and a single ``call_soon_threadsafe`` then releases the
whole batch (see ``Writer``). Functions to run in the writer's transaction (claims,
attempts, replay records) are jobs of the same batches.

Also here: the watcher of other processes' commits (``PRAGMA data_version``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.exceptions import RowRefused, StoreError
from hookyard.ids import new_id
from hookyard.metrics import COMMIT_FAILURES, observe_commit
from hookyard.models import Submission, WriteResult
from hookyard.store.policy import follower_counts, group_duplicates_in_batch, resolve_followers
from hookyard.store.rows import event_row
from hookyard.store.sqlite.connection import connect
from hookyard.store.sqlite.queries import Q
from hookyard.supervision import Streak

log = logging.getLogger("hookyard.store")
MAX_BATCH = 512
#: How soon to try again for the write lock another process holds. Its transactions last
#: about a millisecond; retrying every 2 ms left the lock free much of the time, and cost
#: a worker beside `serve --no-worker` a tenth of its throughput.
LOCKED_RETRY_SECONDS = 0.0005
#: Errors from one submission's values: a constraint, a value SQLite cannot bind (a lone
#: surrogate cannot be UTF-8, an integer past 64 bits, an object).
ROW_FAULTS = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    UnicodeError,
    OverflowError,
)
#: How often a worker looks for commits made by other processes (``PRAGMA data_version``).
CHANGE_POLL_SECONDS = 0.025


@dataclass(slots=True)
class Job:
    """A submission to group-commit, or a function to run inside the writer's transaction."""

    future: asyncio.Future[Any]
    submission: Submission | None = None
    call: Callable[[sqlite3.Connection], Any] | None = None


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


class Writer:
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

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop, *, durable: bool = True) -> None:
        self.conn = connect(path, durable=durable)
        self.conn.execute("PRAGMA busy_timeout = 0")
        self.loop = loop
        self.committer = _Committer(self.conn, loop)
        self.committer.start()
        self.waiting: list[Job] = []
        self._busy = False  # a batch is between BEGIN and the end of its COMMIT
        self._scheduled = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.failures = Streak("store writes", log)

    def put(self, job: Job) -> None:
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
        started = time.perf_counter()
        try:
            outcomes = run_jobs(self.conn, jobs)
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self._busy = False
            self._fail(jobs, exc)
            return
        self.committer.requests.put(lambda error: self._committed(jobs, outcomes, error, started))

    def _take_batch(self) -> list[Job]:
        jobs, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
        return jobs

    def _committed(
        self,
        jobs: list[Job],
        outcomes: list[tuple[Any, BaseException | None]],
        error: BaseException | None,
        started: float,
    ) -> None:
        self._busy = False
        if error is not None:
            self._fail(jobs, error)
        else:
            observe_commit(len(jobs), time.perf_counter() - started)
            self.failures.succeeded()
            _resolve(jobs, outcomes)
        # After the futures' callbacks, so those answers leave before the next batch.
        self._schedule()

    def _fail(self, jobs: list[Job], exc: BaseException) -> None:
        # A full disk fails every batch until space returns: one line, not one a batch.
        self.failures.failed(exc)
        COMMIT_FAILURES.inc()
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


def run_jobs(conn: sqlite3.Connection, jobs: list[Job]) -> list[tuple[Any, BaseException | None]]:
    """Every job of a batch inside the open transaction; a failing job fails alone.

    Submissions are written together; if that raises (a constraint, say), they are
    written again one by one so only the submission at fault gets the error
    (``RowRefused`` when it was the submission's content). Calls each run in a savepoint.
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
    """A submission's own error as the store's: ``RowRefused`` when it was its content."""
    error = outcome[1]
    if error is None or isinstance(error, StoreError):
        return outcome
    if row_fault(error):
        return None, RowRefused(f"the database refused this request: {error}")
    log.error("store write failed: %s", error)
    return None, StoreError(f"store write failed: {error}")


def row_fault(exc: BaseException) -> bool:
    """Whether ``exc``, raised writing one submission alone, is about what it holds.

    An ``OperationalError`` (disk full, I/O, the lock) or a corrupt database is not: the
    request may well be stored on a later try.
    """
    return isinstance(exc, ROW_FAULTS)


def _resolve(jobs: list[Job], outcomes: list[tuple[Any, BaseException | None]]) -> None:
    for job, (value, error) in zip(jobs, outcomes, strict=True):
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)


async def watch_commits(conn: sqlite3.Connection, wake: Callable[[], None]) -> None:
    seen = None
    while True:
        with contextlib.suppress(sqlite3.Error):  # busy for a moment: look again next time
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if seen is not None and version != seen:
                wake()
            seen = version
        await asyncio.sleep(CHANGE_POLL_SECONDS)

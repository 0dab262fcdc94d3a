"""PostgreSQL group commit: ingest batches as one statement each, attempts in groups.

Two writer connections take turns (``IngestWriter``): while one batch commits, the
next one gathers, so batching happens without ever waiting on purpose. Dedup holds
across processes because it rests on the ``dedup_keys`` primary key, not on a read
before the write. A row the database refuses fails alone: the batch is written again
without it (``write_isolating``). Attempts finishing together are recorded in one call
(``AttemptRecorder``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from hookyard.exceptions import RowRefused, StoreError, StoreSaturated
from hookyard.ids import new_id
from hookyard.metrics import COMMIT_FAILURES, observe_commit
from hookyard.models import Submission, WriteResult
from hookyard.store.policy import follower_counts, group_duplicates_in_batch, resolve_followers
from hookyard.store.postgres.queries import DISPATCH_CHANNEL, EVENTS_CHANNEL, Q
from hookyard.store.progress import WriteProgress
from hookyard.store.rows import event_row
from hookyard.supervision import Streak

log = logging.getLogger("hookyard.store")
MAX_BATCH = 512
WRITERS = 2
#: Attempt groups recorded at once. Below this many finishing together, each attempt is
#: recorded as it finishes; above, the rest wait and go as one call, so a busy worker
#: pays one round trip per group instead of one per attempt.
RECORDERS = 4
MAX_RECORD_GROUP = 256
#: SQLSTATE classes of an error caused by what one row holds: a data exception (a NUL in
#: text, say), an integrity constraint, a program limit (an index entry too large).
ROW_FAULT_CLASSES = frozenset({"22", "23", "54"})
Settle = Callable[[int, WriteResult | RowRefused], None]


def batch_parameters(leaders: Sequence[Submission], extra: dict[str, int]) -> list[Any]:
    """Column arrays for ``write_batch``, one entry per submission (``key_ids`` go last,
    after the channel: ``$27``)."""
    columns: list[list[Any]] = [[] for _ in range(22)]
    key_ids: list[str | None] = []
    dispatch_ids: list[str] = []
    dispatch_events: list[str] = []
    dispatch_destinations: list[str] = []
    for sub in leaders:
        *row, key_id = event_row(sub, extra.get(sub.request.id, 0))
        for index, value in enumerate(row):
            columns[index].append(value)
        key_ids.append(key_id)
        columns[20].append(sub.dedup_key)
        columns[21].append(sub.request.received_us + sub.dedup_window_us)
        if sub.verdict.status != "invalid":
            for destination in sub.destinations:
                dispatch_ids.append(new_id())
                dispatch_events.append(sub.request.id)
                dispatch_destinations.append(destination)
    return [*columns, dispatch_ids, dispatch_events, dispatch_destinations, key_ids]


async def write_batch(conn: asyncpg.Connection, batch: Sequence[Submission]) -> list[WriteResult]:
    """Write one batch in one statement (``write_batch``); results in batch order."""
    leaders, follower_of = group_duplicates_in_batch(batch)
    extra = follower_counts(follower_of)
    *params, key_ids = batch_parameters(leaders, extra)
    rows = await conn.fetch(Q["write_batch"], *params, DISPATCH_CHANNEL, key_ids, EVENTS_CHANNEL)
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


def row_fault(exc: BaseException) -> bool:
    """Whether ``exc`` refuses what some row holds, so that the rest can still be written.

    Anything else (a lost connection, a shutdown, a deadlock) fails the whole batch.
    """
    if isinstance(exc, asyncpg.InterfaceError):
        # asyncpg raises a value it cannot encode (a lone surrogate) as its own DataError,
        # an InterfaceError and a ValueError; the connection is fine.
        return isinstance(exc, ValueError)
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "")[:2] in ROW_FAULT_CLASSES
    return False


async def write_isolating(
    conn: asyncpg.Connection, batch: Sequence[Submission], settle: Settle, offset: int = 0
) -> None:
    """``write_batch``, settling each submission by its index as soon as it is written.

    When the database refuses a row, each half is written again in order, until the
    refused rows stand alone and are settled with ``RowRefused``: k such rows among n
    cost about 2k·log2(n) statements and fail no other. Any other error propagates, with
    what was written so far already settled.
    """
    try:
        results = await write_batch(conn, batch)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if not row_fault(exc):
            raise
        if len(batch) == 1:
            settle(offset, RowRefused(f"the database refused this request: {exc}"))
            return
    else:
        for index, result in enumerate(results):
            settle(offset + index, result)
        return
    middle = len(batch) // 2
    await write_isolating(conn, batch[:middle], settle, offset)
    await write_isolating(conn, batch[middle:], settle, offset + middle)


class IngestWriter:
    """Submissions queue here; ``WRITERS`` connections each take what is waiting."""

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, queue_size: int
    ) -> None:
        self.connect = connect
        self.queue_size = queue_size
        self._queue: deque[tuple[Submission, asyncio.Future[WriteResult]]] = deque()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._in_flight = 0
        self.batches = 0
        self.progress = WriteProgress()
        self.failures = Streak("store writes", log)

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        for index in range(WRITERS):
            conn = await self.connect()
            self._tasks.append(
                asyncio.create_task(self._run(conn), name=f"hookyard-pg-writer-{index}")
            )

    async def close(self) -> None:
        """Stop taking submissions and write every one already taken."""
        self._closing = True
        self._wakeup.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    @property
    def pending(self) -> int:
        return len(self._queue) + self._in_flight

    async def submit(self, submission: Submission) -> WriteResult:
        if self._closing or not self._tasks:
            raise StoreSaturated("store is not accepting writes")
        if self.pending >= self.queue_size:
            raise StoreSaturated(f"{self.pending} writes waiting")
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._queue.append((submission, future))
        self._wakeup.set()
        self.progress.taken()
        try:
            return await future
        finally:
            self.progress.settled()

    async def _run(self, conn: asyncpg.Connection) -> None:
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
        def settle(index: int, outcome: WriteResult | RowRefused) -> None:
            future = batch[index][1]
            if future.done():  # its caller was cancelled; the write stands
                return
            if isinstance(outcome, RowRefused):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        started = time.perf_counter()
        try:
            await write_isolating(conn, [sub for sub, _ in batch], settle)
        except Exception as exc:
            # Whatever it was, this batch fails (503) and the writer goes on: an error
            # escaping here once ended the writer's task, and its callers waited for ever
            # (asyncpg raised InternalClientError on a connection the server had ended).
            # Logged once while the database stays away, not once a batch.
            self.failures.failed(exc)
            COMMIT_FAILURES.inc()
            error = StoreError(f"store write failed: {exc}")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if conn.is_closed() or not isinstance(exc, asyncpg.PostgresError):
                with contextlib.suppress(Exception):
                    await conn.close()
                with contextlib.suppress(StoreError):
                    conn = await self.connect()
            return conn
        observe_commit(len(batch), time.perf_counter() - started)
        self.failures.succeeded()
        self.batches += 1
        return conn


class AttemptRecorder:
    """Records attempts (``hookyard_record_attempt``), grouping those that finish together."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self.pool = pool
        self._records: deque[tuple[tuple[Any, ...], asyncio.Future[bool]]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0  # calls that recorded more than one attempt

    async def record(self, row: tuple[Any, ...]) -> bool:
        """``row`` is ``record_attempt``'s arguments; False when the lease was lost."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._records.append((row, future))
        if len(self._tasks) < RECORDERS:
            task = asyncio.create_task(self._record_waiting())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def close(self) -> None:
        """Wait for the groups being recorded."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
                return [await self.pool().fetchval(Q["record_attempt"], *rows[0])]
            columns = [list(column) for column in zip(*rows, strict=True)]
            self.groups += 1
            return list(await self.pool().fetchval(Q["record_attempts"], *columns))
        except Exception as exc:
            # Not only OSError, PostgresError and InterfaceError: on a connection the
            # server has just ended, asyncpg raises InternalClientError too, and an error
            # escaping here ended the recorder's task with a traceback.
            raise StoreError(f"recording attempts failed: {exc}") from exc


def _settle(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

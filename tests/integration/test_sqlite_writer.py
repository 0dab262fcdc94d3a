"""The SQLite group-commit writer: statements on the loop, the fsync on a thread.

These are the properties that design must keep, on a real database file: the loop
never blocks on another process's write lock, a submission that cannot be written
fails alone, and closing commits everything already accepted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from pathlib import Path

import pytest

from hookyard.exceptions import StoreError
from hookyard.store.sqlite import SqliteStore
from support.factories import submission


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path / 'writer.db'}")
    await store.start()
    return store


async def test_loop_keeps_running_while_another_process_holds_the_write_lock(
    sqlite_store: SqliteStore,
) -> None:
    other = sqlite3.connect(sqlite_store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # what a CLI command in another process may do
    try:
        pending = asyncio.ensure_future(sqlite_store.submit(submission(provider_id="evt_lock")))
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.3:
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 10, "the event loop stalled behind the lock"
        assert not pending.done(), "nothing can commit while the lock is held elsewhere"
    finally:
        other.execute("COMMIT")
        other.close()
    result = await asyncio.wait_for(pending, 5)
    assert (await sqlite_store.get_event(result.id)) is not None
    await sqlite_store.close()


async def test_a_submission_that_cannot_be_written_fails_alone(sqlite_store: SqliteStore) -> None:
    good = [submission(provider_id=f"evt_ok_{n}") for n in range(4)]
    # SQLite cannot bind an object: this row breaks the batch's statements.
    unbindable = dataclasses.replace(
        submission(provider_id="evt_bad"),
        event_type=object(),  # type: ignore[arg-type]  # ill-typed on purpose: nothing binds it
    )
    results = await asyncio.gather(
        *(sqlite_store.submit(s) for s in [good[0], good[1], unbindable, good[2], good[3]]),
        return_exceptions=True,
    )
    assert isinstance(results[2], StoreError)
    stored = [r for r in results if not isinstance(r, BaseException)]
    assert len(stored) == 4
    for result in stored:
        assert (await sqlite_store.get_event(result.id)) is not None
    assert await sqlite_store.count_events() == 4
    await sqlite_store.close()


async def test_close_commits_every_accepted_submission(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    store = SqliteStore(url)
    await store.start()
    tasks = [asyncio.ensure_future(store.submit(submission())) for _ in range(300)]
    await asyncio.sleep(0)  # every submission is queued; most are not committed yet
    await store.close()
    ids = [task.result().id for task in tasks]
    reopened = SqliteStore(url)
    await reopened.start()
    try:
        assert await reopened.count_events() == 300
        assert all([await reopened.get_event(i) is not None for i in ids[::37]])
    finally:
        await reopened.close()


async def test_a_call_that_raises_gets_its_error_and_the_batch_still_commits(
    sqlite_store: SqliteStore,
) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    outcomes = await asyncio.gather(
        sqlite_store.submit(submission()),
        sqlite_store.run_in_writer(broken),
        sqlite_store.submit(submission()),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], sqlite3.OperationalError)
    assert await sqlite_store.count_events() == 2
    await sqlite_store.close()

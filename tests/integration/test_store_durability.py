"""``open_store(durable=False)`` (the mirror lanes' store) on each real backend: its
commits do not wait for the disk, every other store's do, and both stay readable by
the other."""

from __future__ import annotations

import asyncpg

from hookyard.store import open_store
from hookyard.store.postgres import PostgresStore
from hookyard.store.sqlite import SqliteStore
from support.factories import submission

SQLITE_FULL, SQLITE_NORMAL = 2, 1


async def test_sqlite_writes_without_fsync_only_when_asked(sqlite_url: str) -> None:
    durable, relaxed = open_store(sqlite_url), open_store(sqlite_url, durable=False)
    assert isinstance(durable, SqliteStore) and isinstance(relaxed, SqliteStore)
    await durable.start()
    await relaxed.start()
    try:
        assert durable._writer is not None and relaxed._writer is not None
        [[full]] = durable._writer.conn.execute("PRAGMA synchronous").fetchall()
        [[normal]] = relaxed._writer.conn.execute("PRAGMA synchronous").fetchall()
        assert (full, normal) == (SQLITE_FULL, SQLITE_NORMAL)
        written = await relaxed.submit(submission())
        assert await durable.get_event(written.id) is not None
    finally:
        await relaxed.close()
        await durable.close()


async def test_postgres_commits_asynchronously_only_when_asked(pg_url: str) -> None:
    durable, relaxed = open_store(pg_url), open_store(pg_url, durable=False)
    assert isinstance(durable, PostgresStore) and isinstance(relaxed, PostgresStore)
    await durable.start()
    await relaxed.start()
    try:
        assert await durable.pool.fetchval("SHOW synchronous_commit") == "on"
        assert await relaxed.pool.fetchval("SHOW synchronous_commit") == "off"
        connection: asyncpg.Connection = await relaxed._connect()
        try:
            assert await connection.fetchval("SHOW synchronous_commit") == "off"
            assert await connection.fetchval("SHOW jit") == "off"
        finally:
            await connection.close()
        written = await relaxed.submit(submission())
        assert await durable.get_event(written.id) is not None
    finally:
        await relaxed.close()
        await durable.close()

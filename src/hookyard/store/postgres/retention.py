"""PostgreSQL purges: one process at a time, one short transaction a batch.

A run holds an advisory lock on a connection of its own (``purge_lock``), so purges
started by several ``serve`` processes and a ``hookyard purge`` never work side by
side. Each batch reads its candidates, locks their dispatches (skipping any a worker
holds), then deletes the eligible ones and what hangs off them in one statement.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from hookyard.exceptions import StoreError
from hookyard.models import PurgeCounts, PurgeSelector
from hookyard.store.filters import ID_TIME_MARGIN_MS, lowest_id_at
from hookyard.store.postgres.queries import Conn, Q

PURGE_LOCK = 0x68797267  # "hyrg"


def _scope(selector: PurgeSelector) -> tuple[str, list[str]]:
    """Which candidate statement (``_in`` or ``_except``) and its source list."""
    if selector.sources is not None:
        return "_in", [s for s in selector.sources if s not in selector.excluded]
    return "_except", list(selector.excluded)


def _high(selector: PurgeSelector) -> str:
    return lowest_id_at(selector.cutoff_us // 1000 + ID_TIME_MARGIN_MS + 1)


async def candidates(conn: Conn, selector: PurgeSelector, *, after: str, limit: int) -> list[str]:
    suffix, sources = _scope(selector)
    rows = await conn.fetch(
        Q[f"purge_candidates{suffix}"], sources, after, _high(selector), selector.cutoff_us, limit
    )
    return [row[0] for row in rows]


async def count_candidates(conn: Conn, selector: PurgeSelector) -> int:
    suffix, sources = _scope(selector)
    count: int = await conn.fetchval(
        Q[f"count_purge_candidates{suffix}"], sources, _high(selector), selector.cutoff_us
    )
    return count


async def purge(
    conn: Conn, selector: PurgeSelector, ids: list[str], *, now_us: int, dry_run: bool
) -> PurgeCounts:
    if not ids:
        return PurgeCounts()
    if dry_run:
        row = await conn.fetchrow(Q["purge_count"], ids, selector.dead, now_us)
        assert row is not None
        return PurgeCounts(*row)
    async with conn.transaction():
        locked = [r[0] for r in await conn.fetch(Q["purge_lock_dispatches"], ids)]
        row = await conn.fetchrow(Q["purge_events"], ids, locked, selector.dead, now_us)
    assert row is not None
    return PurgeCounts(*row[:5])


@contextlib.asynccontextmanager
async def purge_lock(connect: Callable[[], Awaitable[asyncpg.Connection]]) -> AsyncIterator[bool]:
    conn = await connect()
    try:
        try:
            held = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", PURGE_LOCK))
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"purge lock failed: {exc}") from None
        try:
            yield held
        finally:
            if held:
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await conn.execute("SELECT pg_advisory_unlock($1)", PURGE_LOCK)
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


def affected(status: str) -> int:
    """The row count of a command tag such as ``DELETE 12``."""
    return int(status.split()[-1])

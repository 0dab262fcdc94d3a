"""PostgreSQL helpers for tests."""

from __future__ import annotations

import asyncio

import asyncpg


def truncate_postgres(url: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            exists = await conn.fetchval("SELECT to_regclass('events') IS NOT NULL")
            if exists:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'schema_migrations'"
                )
                names = ", ".join(f'"{t[0]}"' for t in tables)
                await conn.execute(f"TRUNCATE {names}")
        finally:
            await conn.close()

    asyncio.run(run())


async def waits_for_a_lock(observer: asyncpg.Connection, waiter: asyncpg.Connection) -> bool:
    """Whether ``waiter``'s session comes to wait for a lock within two seconds, as seen
    from ``observer`` (``waiter`` itself is busy running the statement that waits)."""
    pid = waiter.get_server_pid()
    for _ in range(200):
        waiting: bool | None = await observer.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting:
            return True
        await asyncio.sleep(0.01)
    return False

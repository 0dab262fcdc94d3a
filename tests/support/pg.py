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

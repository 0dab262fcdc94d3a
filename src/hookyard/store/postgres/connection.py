"""Opening PostgreSQL connections and applying migrations (under an advisory lock, so
processes starting together apply each migration once)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import asyncpg

from hookyard.clock import now_us
from hookyard.exceptions import MigrationError, StoreError
from hookyard.store.sqlfiles import load_migrations

MIGRATION_LOCK = 0x686F6F6B  # "hook"

#: Every connection's session settings. JIT compilation is off: the store's queries are
#: short index walks, and a plan whose row estimate crosses ``jit_above_cost`` (a
#: recursive CTE's always does) spent 180 ms compiling a query that ran in 10.
SESSION_SETTINGS = {"jit": "off"}
#: A store opened with ``durable=False``: commits return before the WAL is flushed.
RELAXED_SETTINGS = {**SESSION_SETTINGS, "synchronous_commit": "off"}


def session_settings(durable: bool) -> dict[str, str]:
    return SESSION_SETTINGS if durable else RELAXED_SETTINGS


async def connect(url: str, *, durable: bool = True) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, server_settings=session_settings(durable))
    except OSError as exc:
        # "[Errno 111] Connect call failed (...)" says less than the errno's own words.
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise StoreError(f"cannot connect to PostgreSQL at {_where(url)}: {why}") from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreError(f"cannot connect to PostgreSQL at {_where(url)}: {exc}") from None


def _where(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    except ValueError:
        return "the configured address"


async def apply_migrations(conn: asyncpg.Connection) -> list[int]:
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)"
        )
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in load_migrations("postgres"):
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    now_us(),
                )
            applied.append(migration.version)
        return applied
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"migration failed: {exc}") from exc
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset that sends nothing.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; CLOSE ALL; ...`` each time a
    connection goes back to the pool: one more round trip per query. Pool connections
    carry no session state here (migrations' advisory lock and LISTEN use connections
    of their own), and an unfinished transaction is still rolled back by asyncpg.
    """

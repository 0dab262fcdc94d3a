"""Shared fixtures: real SQLite files, a real PostgreSQL database, real servers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from support.pg import truncate_postgres
from support.sink import ScriptedServer, running_sink

PG_ADMIN_URL = os.environ.get("HOOKYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("HOOKYARD_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not _pg_reachable():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"hookyard_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_database: str) -> str:
    truncate_postgres(pg_database)
    return pg_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hookyard.db'}"


REAL_BACKENDS = ("sqlite", "postgres")
EVERY_BACKEND = ("memory", *REAL_BACKENDS)


def backend_url(request: pytest.FixtureRequest, backend: str) -> str:
    """The URL of a fresh, empty store of ``backend``."""
    if backend == "memory":
        return f"memory://{uuid.uuid4().hex}"
    if backend == "sqlite":
        tmp_path: Path = request.getfixturevalue("tmp_path")
        return f"sqlite:///{tmp_path / 'hookyard.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=REAL_BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each real backend, for what the in-memory store has not: a reopen, other
    processes opening the database, SQL plans and locks."""
    return backend_url(request, request.param)


@pytest.fixture(params=EVERY_BACKEND)
def store_url(request: pytest.FixtureRequest) -> str:
    """Every backend, the in-memory one too: what runs in this process behaves the same
    on each (a test that cannot hold on memory says why in its parametrisation)."""
    return backend_url(request, request.param)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[object]:
    from hookyard.store import open_store

    instance = open_store(store_url)
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture
async def real_store(database_url: str) -> AsyncIterator[object]:
    """A started store on each real backend, for a test that also reads its database."""
    from hookyard.store import open_store

    instance = open_store(database_url)
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture
def sink() -> Iterator[ScriptedServer]:
    """A real HTTP receiver on 127.0.0.1 that answers as scripted (``sink.then(Reply(…))``)."""
    with running_sink() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A pooled client as the delivery worker makes it, ignoring proxies in the environment."""
    from hookyard.delivery.sender import make_client

    async with make_client(trust_env=False) as pooled:
        yield pooled

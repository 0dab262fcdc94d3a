"""The least a durable ingest can do, under hookyard's server settings: read the body,
insert it by group commit, answer 202. SQLite (WAL, ``synchronous=FULL``; statements and
commit on one thread) or PostgreSQL (asyncpg, two writer connections, one INSERT of
every waiting body per round trip).

No header list, id, hash, verification, parse, dedup, routing, log or metric: this
variant measures how close to the bare app any durable ingest can come on this machine
with this server, the ceiling for hookyard's own figures.

Usage: minimal.py PORT sqlite:///PATH | postgresql://...
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import uvicorn

from hookyard.server import server_config

Scope = MutableMapping[str, Any]
BODY = b'{"id":"01MINIMAL000000000000000000"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


class SqliteGroupCommit:
    """Bodies that arrive while a commit runs go into the next one (one thread, one file)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body BLOB)")
        self.waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self.busy = False
        self._task: asyncio.Task[None] | None = None

    async def write(self, body: bytes) -> None:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((body, future))
        if not self.busy:
            self.busy = True
            self._task = asyncio.get_running_loop().create_task(self._commit_all())
        await future

    async def _commit_all(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                await asyncio.to_thread(self._commit, [(body,) for body, _ in batch])
                for _, future in batch:
                    future.set_result(None)
        finally:
            self.busy = False

    def _commit(self, rows: list[tuple[bytes]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO bodies (body) VALUES (?)", rows)
        self.conn.execute("COMMIT")


class PostgresGroupCommit:
    """Two connections take turns: each writes everything waiting in one statement."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self.wakeup = asyncio.Event()
        self.writers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        conn = await asyncpg.connect(self.url)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bodies (id BIGSERIAL PRIMARY KEY, body BYTEA)"
        )
        await conn.close()
        for _ in range(2):
            conn = await asyncpg.connect(self.url)
            self.writers.append(asyncio.get_running_loop().create_task(self._writer(conn)))

    async def write(self, body: bytes) -> None:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((body, future))
        self.wakeup.set()
        await future

    async def _writer(self, conn: asyncpg.Connection) -> None:
        while True:
            if not self.waiting:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            batch, self.waiting = self.waiting, []
            await conn.execute(
                "INSERT INTO bodies (body) SELECT unnest($1::bytea[])", [b for b, _ in batch]
            )
            for _, future in batch:
                future.set_result(None)


def make_app(url: str) -> Callable[..., Awaitable[None]]:
    store: SqliteGroupCommit | PostgresGroupCommit
    if url.startswith("sqlite:///"):
        store = SqliteGroupCommit(url.removeprefix("sqlite:///"))
    else:
        store = PostgresGroupCommit(url)

    async def lifespan(
        receive: Callable[[], Awaitable[Scope]], send: Callable[[Scope], Awaitable[None]]
    ) -> None:
        while (await receive())["type"] != "lifespan.shutdown":
            if isinstance(store, PostgresGroupCommit):
                await store.start()
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    async def app(
        scope: Scope,
        receive: Callable[[], Awaitable[Scope]],
        send: Callable[[Scope], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        await store.write(b"".join(chunks))
        await send({"type": "http.response.start", "status": 202, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})

    return app


if __name__ == "__main__":
    config = server_config(make_app(sys.argv[2]), "127.0.0.1", int(sys.argv[1]))
    uvicorn.Server(config).run()

"""A row the database refuses fails alone: its batch is written without it, on each backend.

Ingest keeps unstorable text out of its submissions (``ingest/storable.py``); these
submissions bypass that check on purpose, so that the database itself refuses them, in
the middle of batches of good ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hookyard.exceptions import RowRefused, StoreError
from hookyard.ingest import IngestApp
from hookyard.models import Submission, WriteResult
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission
from support.ingest import Post, call, sources

Spoil = Callable[[Submission], Submission]


def with_type(value: str) -> Spoil:
    return lambda sub: dataclasses.replace(sub, event_type=value)


def with_content_type(value: str) -> Spoil:
    return lambda sub: dataclasses.replace(
        sub, request=dataclasses.replace(sub.request, content_type=value)
    )


def with_id(value: str) -> Spoil:
    return lambda sub: dataclasses.replace(sub, provider_event_id=value)


#: What each backend refuses: SQLite keeps NUL and long text, PostgreSQL neither.
REFUSED: dict[str, dict[str, Spoil]] = {
    "sqlite": {"lone surrogate": with_type("t\ud800")},
    "postgres": {
        "lone surrogate": with_type("t\ud800"),
        "NUL in text": with_content_type("text/pl\x00ain"),
        "id beyond a btree entry": with_id(secrets.token_urlsafe(6000)),
    },
}


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


@pytest.fixture
async def real(database_url: str) -> AsyncIterator[Store]:
    store = open_store(database_url)
    await store.start()
    yield store
    await store.close()


async def test_the_rest_of_a_batch_commits_around_refused_rows(
    real: Store, database_url: str
) -> None:
    spoilers = list(REFUSED[backend(database_url)].values())
    batch: list[Submission] = []
    refused: list[int] = []
    for n in range(40):
        # Two share a provider id: the repeat stays a duplicate however the batch is split.
        batch.append(submission(provider_id=f"evt_{min(n, 38)}"))
        if n % 10 == 4:
            refused.append(len(batch))
            batch.append(spoilers[len(refused) % len(spoilers)](submission(provider_id=None)))
    results = await asyncio.gather(*(real.submit(s) for s in batch), return_exceptions=True)

    for index, result in enumerate(results):
        if index in refused:
            assert isinstance(result, RowRefused), result
            assert await real.get_event(batch[index].request.id) is None
        else:
            assert isinstance(result, WriteResult), result
    written = [r for r in results if isinstance(r, WriteResult)]
    assert [r.duplicate_of for r in written].count(None) == 39
    assert written[-1].duplicate_of == written[-2].id  # evt_38 twice
    for result in written[:-1]:
        assert await real.get_event(result.id) is not None
    assert await real.count_events() == 39


REFUSE = "application/x-refuse-me"


async def refuse_content_type(database_url: str) -> Callable[[], Awaitable[None]]:
    """A trigger that makes the database refuse events of one content type; its undo."""
    if backend(database_url) == "sqlite":
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as lite:
            lite.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON events "
                f"WHEN NEW.content_type = '{REFUSE}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )

        async def nothing() -> None:  # the database file goes with the test
            pass

        return nothing
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.content_type = '{REFUSE}' THEN "
        "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF; "
        "RETURN NEW; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()"
    )

    async def undo() -> None:
        await conn.execute("DROP TRIGGER refuse ON events; DROP FUNCTION refuse()")
        await conn.close()

    return undo


async def test_ingest_answers_422_for_a_refused_request_alone(
    real: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    undo = await refuse_content_type(database_url)
    try:
        app = IngestApp(sources(), real, access_log=False)
        refused = Post("body", b'{"type": "x"}', ((b"content-type", REFUSE.encode()),))
        posts = [Post("body", b'{"n": %d}' % n) for n in range(30)]
        posts[7:7] = [refused]
        posts[21:21] = [refused]
        answers = await asyncio.gather(*(call(app, post) for post in posts))
    finally:
        await undo()
    for post, answer in zip(posts, answers, strict=True):
        if post is refused:
            assert answer.status == 422
            assert answer.payload["error"] == "unstorable"
        else:
            assert answer.status == 202, answer
    assert await real.count_events() == 30
    assert sum("not stored" in r.getMessage() for r in caplog.records) == 2


async def write_through_lost_connections(store: Store) -> list[BaseException]:
    """Submit small batches until one is written; the errors met on the way."""
    errors: list[BaseException] = []
    for _ in range(3):  # each of the two writers finds its connection gone, once
        batch = [submission(provider_id=None) for _ in range(5)]
        # Bounded: a writer whose task ended on an unexpected error (asyncpg's
        # InternalClientError, now and then, on a connection the server ended) left its
        # callers waiting for ever.
        results = await asyncio.wait_for(
            asyncio.gather(*map(store.submit, batch), return_exceptions=True), 15
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if not failed:
            return errors
        errors.extend(failed)
    raise AssertionError(f"the writers did not reconnect: {errors}")


async def test_a_lost_connection_fails_its_batch_and_the_writers_go_on(pg_url: str) -> None:
    store = open_store(pg_url)
    await store.start()
    admin = await asyncpg.connect(pg_url)
    try:
        for _ in range(5):  # the error that ended a writer came one time in four or so
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            errors = await write_through_lost_connections(store)
            assert errors, "no write met the terminated connections"
            assert all(type(e) is StoreError for e in errors), errors  # 503 for all, no 422
    finally:
        await admin.close()
        await store.close()

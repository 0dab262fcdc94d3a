"""Encryption at rest, on every backend: sealed on write, opened on every read path,
re-sealed by rotation beside live traffic, refused at start with the wrong keys, and a
value that does not decrypt reported on its own (never a crash, never other bytes sent).

"At rest" is read from the database itself (SQLite file, PostgreSQL table); the
in-memory store is checked through the stored form it keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.delivery.destinations import parse_destinations
from hookyard.delivery.worker import DeliveryService
from hookyard.exceptions import EncryptionKeyError, UnreadablePayload
from hookyard.keyring import PLAIN, Key, Keyring
from hookyard.models import EventFilter, StoredPayload
from hookyard.replay import Replayer, ReplayPlan, resolve_target
from hookyard.store import open_store
from hookyard.store.base import Store
from hookyard.store.memory import MemoryStore
from hookyard.store.payloads import stored_form
from support.factories import submission
from support.netguard import LOOPBACK
from support.sink import ScriptedServer
from support.waiting import eventually_async

KEY_A = Key("a", bytes(range(32)))
KEY_B = Key("b", bytes(range(64, 96)))
RING_A = Keyring((KEY_A,))
RING_BA = Keyring((KEY_B, KEY_A))
RING_B = Keyring((KEY_B,))
MARK = b"CARDHOLDER-4242"
BODY = b'{"type": "charge.succeeded", "card": "' + MARK + b'", "raw": "\xff\xfe"}'
HEADERS = (
    (b"Content-Type", b"application/json"),
    (b"Authorization", b"Bearer " + MARK),
    (b"x-dup", b"1"),
    (b"X-Dup", b"2"),
)


def event(n: int = 0, *, destinations: tuple[str, ...] = ()) -> Any:
    body = BODY.replace(b"charge", f"charge{n}".encode()) if n else BODY
    return submission(
        body, headers=HEADERS, event_type="charge.succeeded", destinations=destinations
    )


async def opened(url: str, keyring: Keyring) -> Store:
    store = open_store(url, keyring=keyring)
    await store.start()
    return store


@pytest.fixture
async def sealed(store_url: str) -> AsyncIterator[Store]:
    store = await opened(store_url, RING_A)
    yield store
    await store.close()


# -- what is at rest, read from the database itself ----------------------------------------


async def stored_rows(store: Store) -> dict[str, StoredPayload]:
    if isinstance(store, MemoryStore):
        return {i: stored_form(e.submission) for i, e in store.tables.events.items()}
    sql = "SELECT id, key_id, headers, body FROM events"
    rows: list[Any]
    if store.url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(store.url.removeprefix("sqlite:///"))) as lite:
            rows = lite.execute(sql).fetchall()
    else:
        pg = await asyncpg.connect(store.url)
        try:
            rows = await pg.fetch(sql)
        finally:
            await pg.close()
    return {r[0]: StoredPayload(r[1], bytes(r[2]), bytes(r[3])) for r in rows}


async def overwrite(store: Store, event_id: str, stored: StoredPayload) -> None:
    """Write a row's stored form behind the store's back (a copied or damaged value)."""
    if isinstance(store, MemoryStore):
        row = store.tables.events[event_id]
        row.submission = dataclasses.replace(row.submission, stored=stored)
        return
    if store.url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(store.url.removeprefix("sqlite:///"))) as lite:
            lite.execute(
                "UPDATE events SET key_id = ?, headers = ?, body = ? WHERE id = ?",
                (stored.key_id, stored.headers, stored.body, event_id),
            )
            lite.commit()
        return
    pg = await asyncpg.connect(store.url)
    try:
        await pg.execute(
            "UPDATE events SET key_id = $1, headers = $2, body = $3 WHERE id = $4",
            stored.key_id,
            stored.headers,
            stored.body,
            event_id,
        )
    finally:
        await pg.close()


async def test_bodies_and_header_lists_are_sealed_at_rest_and_filters_stay_clear(
    sealed: Store,
) -> None:
    event_id = (await sealed.submit(event())).id
    rows = await stored_rows(sealed)
    stored = rows[event_id]
    assert stored.key_id == "a"
    assert MARK not in stored.body and MARK not in stored.headers
    assert b"charge" not in stored.body and b"Authorization" not in stored.headers
    # The columns a filter reads are clear, so the list filters find it as before.
    found = await sealed.list_events(EventFilter(source="demo", event_type="charge.*"))
    assert [e.id for e in found] == [event_id]
    assert found[0].body_size == len(BODY)


async def test_every_read_path_gets_the_exact_bytes_back(sealed: Store) -> None:
    event_id = (await sealed.submit(event(destinations=("app",)))).id
    record = await sealed.get_event(event_id)
    assert record is not None and record.headers == HEADERS
    assert await sealed.get_body(event_id) == (BODY, "application/json")
    (payload,) = await sealed.replay_payloads([event_id])
    assert (payload.headers, payload.body) == (HEADERS, BODY)
    (claimed,) = await sealed.claim_due(
        "w", now_us=2**62, lease_us=1_000_000, limit=5, destinations=("app",)
    )
    assert claimed.unreadable is None
    assert (claimed.event.headers, claimed.event.body) == (HEADERS, BODY)


# A store opened after another on the same database: the first stays open until the end,
# since an in-memory store's tables last only while some store has them open.


async def test_events_stored_in_clear_stay_readable_once_a_key_is_set(store_url: str) -> None:
    plain = await opened(store_url, PLAIN)
    clear_id = (await plain.submit(event())).id
    store = await opened(store_url, RING_A)
    try:
        sealed_id = (await store.submit(event(1))).id
        assert (await store.get_body(clear_id)) == (BODY, "application/json")
        assert await store.key_usage() == {None: 1, "a": 1}
        assert (await stored_rows(store))[sealed_id].key_id == "a"
    finally:
        await store.close()
        await plain.close()


async def test_rotation_reseals_every_event_in_batches_and_the_old_key_can_go(
    store_url: str,
) -> None:
    plain = await opened(store_url, PLAIN)
    ids = [(await plain.submit(event(n))).id for n in range(3)]
    old = await opened(store_url, RING_A)
    ids += [(await old.submit(event(n))).id for n in range(3, 7)]
    await old.close()

    store = await opened(store_url, RING_BA)
    try:
        assert await store.key_usage() == {None: 3, "a": 4}
        after, resealed, calls = None, 0, 0
        while (batch := await store.reseal_events(after=after, limit=3)).last_id is not None:
            after, resealed, calls = batch.last_id, resealed + batch.resealed, calls + 1
            assert batch.unreadable == ()
        assert (resealed, calls) == (7, 3)
        assert await store.key_usage() == {"b": 7}
        assert await store.forget_keys(["a"]) == 1
        again = await store.reseal_events(after=None, limit=100)
        assert (again.resealed, again.last_id) == (0, None)  # nothing left to do
    finally:
        await store.close()

    only_new = await opened(store_url, RING_B)  # no longer refused: no event needs "a"
    try:
        for n, event_id in enumerate(ids):
            body = BODY.replace(b"charge", f"charge{n}".encode()) if n else BODY
            assert await only_new.get_body(event_id) == (body, "application/json")
    finally:
        await only_new.close()
        await plain.close()


async def test_a_store_refuses_at_start_keys_that_cannot_read_it(sealed: Store) -> None:
    await sealed.submit(event())
    url = sealed.url
    cases = [
        (PLAIN, "holds events sealed with key 'a'; set server.encryption_key"),
        (RING_B, "sealed with key 'a', which server.encryption_key does not list"),
        (Keyring((Key("a", bytes(range(64, 96))),)), "'a' is not the key that sealed"),
    ]
    for ring, message in cases:
        with pytest.raises(EncryptionKeyError, match=message):
            await opened(url, ring)
    # The store that was refused left nothing half-open: the right keys still start.
    again = await opened(url, RING_BA)
    await again.close()


async def test_a_value_that_does_not_decrypt_is_reported_on_each_read(sealed: Store) -> None:
    first = (await sealed.submit(event(1, destinations=("app",)))).id
    second = (await sealed.submit(event(2))).id
    rows = await stored_rows(sealed)
    # The second event's sealed body copied into the first: bound to its event, it fails.
    await overwrite(sealed, first, dataclasses.replace(rows[first], body=rows[second].body))
    with pytest.raises(UnreadablePayload, match=f"event {first}: cannot decrypt its body"):
        await sealed.get_body(first)
    with pytest.raises(UnreadablePayload):
        await sealed.replay_payloads([first, second])
    record = await sealed.get_event(first)  # its header list is intact
    assert record is not None and record.headers == HEADERS
    (claimed,) = await sealed.claim_due(
        "w", now_us=2**62, lease_us=1_000_000, limit=5, destinations=("app",)
    )
    assert claimed.unreadable is not None and "cannot decrypt its body" in claimed.unreadable
    assert claimed.event.body == b""

    rotating = await opened(sealed.url, RING_BA)
    try:
        batch = await rotating.reseal_events(after=None, limit=10)
        assert batch.resealed == 1
        assert [event_id for event_id, _ in batch.unreadable] == [first]
        assert await rotating.key_usage() == {"a": 1, "b": 1}  # left as it was
    finally:
        await rotating.close()


async def test_a_damaged_header_list_is_reported_by_the_api_as_409_never_500(
    sealed: Store,
) -> None:
    event_id = (await sealed.submit(event())).id
    stored = (await stored_rows(sealed))[event_id]
    flipped = stored.headers[:-1] + bytes([stored.headers[-1] ^ 1])
    await overwrite(sealed, event_id, dataclasses.replace(stored, headers=flipped))
    app = create_admin_app(sealed, admin_token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in (f"/api/events/{event_id}", f"/api/diff?a={event_id}&b={event_id}"):
            response = await client.get(path)
            assert response.status_code == 409, (path, response.text)
            assert response.json()["error"] == "unreadable_payload"
            assert f"event {event_id}: cannot decrypt its headers" in response.json()["detail"]
        body = await client.get(f"/api/events/{event_id}/body")  # the body itself is intact
        assert body.status_code == 200 and body.content == BODY


async def test_the_worker_dead_letters_what_does_not_decrypt_and_sends_the_rest(
    sealed: Store, sink: ScriptedServer
) -> None:
    bad = (await sealed.submit(event(1, destinations=("app",)))).id
    good = (await sealed.submit(event(2, destinations=("app",)))).id
    rows = await stored_rows(sealed)
    await overwrite(sealed, bad, dataclasses.replace(rows[bad], body=b"\x00" * 40))
    dests = parse_destinations({"app": {"url": sink.url()}})
    service = DeliveryService(sealed, dests, poll_interval=0.05, policy=LOOPBACK)
    await service.start()
    try:

        async def both_settled() -> bool:
            statuses = [await sealed.get_event(i) for i in (bad, good)]
            return all(
                r is not None and r.summary.status in ("dead", "delivered") for r in statuses
            )

        await eventually_async(both_settled, timeout=10, message="both dispatches settled")
    finally:
        await service.stop(grace=2)
    record = await sealed.get_event(bad)
    assert record is not None and record.summary.status == "dead"
    (attempt,) = record.dispatches[0].attempt_log
    assert attempt.error_class == "UnreadablePayload"
    assert attempt.error_message is not None and f"event {bad}" in attempt.error_message
    assert [r.body for r in sink.received] == [BODY.replace(b"charge", b"charge2")]


async def test_rotation_beside_ingest_and_another_rotation_loses_nothing(
    database_url: str,
) -> None:
    """Two rotations and an ingest stream at once, on one database: every event ends up
    under the new key with its own bytes (each batch is read and written in one
    transaction, so neither rotation writes over what the other or ingest wrote)."""
    old = await opened(database_url, RING_A)
    bodies = {}
    for n in range(300):
        sub = event(n)
        bodies[(await old.submit(sub)).id] = sub.request.body
    await old.close()
    ingest, first, second = [await opened(database_url, RING_BA) for _ in range(3)]
    try:

        async def rotate(store: Store) -> int:
            after, total = None, 0
            while (batch := await store.reseal_events(after=after, limit=40)).last_id:
                after, total = batch.last_id, total + batch.resealed
                assert batch.unreadable == ()
            return total

        async def keep_ingesting() -> None:
            for n in range(300, 500):
                sub = event(n)
                bodies[(await ingest.submit(sub)).id] = sub.request.body
                if n % 20 == 0:
                    await asyncio.sleep(0)

        done = await asyncio.gather(rotate(first), rotate(second), keep_ingesting())
        assert done[0] + done[1] == 300  # each old event resealed exactly once
        assert await ingest.key_usage() == {"b": 500}
        for event_id, body in bodies.items():
            assert (await ingest.get_body(event_id)) == (body, "application/json")
    finally:
        for store in (ingest, first, second):
            await store.close()


async def test_replay_sends_sealed_events_as_received_and_fails_its_batch_on_one_that_does_not_open(
    sealed: Store, sink: ScriptedServer
) -> None:
    ids = [(await sealed.submit(event(n))).id for n in range(1, 4)]
    target = resolve_target({}, url=sink.url())
    replayer = Replayer(sealed, policy=LOOPBACK)
    plan = ReplayPlan(target=target, ids=tuple(ids), selection={"ids": ids})
    batch = await replayer.run(await replayer.begin(plan, ids), plan, ids)
    assert (batch.status, batch.delivered) == ("done", 3)
    assert sorted(r.body for r in sink.received) == sorted(
        BODY.replace(b"charge", f"charge{n}".encode()) for n in range(1, 4)
    )

    rows = await stored_rows(sealed)
    await overwrite(sealed, ids[1], dataclasses.replace(rows[ids[1]], body=rows[ids[0]].body))
    failing = await replayer.begin(plan, ids)
    with pytest.raises(UnreadablePayload, match=f"event {ids[1]}: cannot decrypt its body"):
        await replayer.run(failing, plan, ids)
    recorded = await sealed.get_replay_batch(failing.id)
    assert recorded is not None and recorded.status == "failed"
    assert recorded.error is not None and f"event {ids[1]}" in recorded.error


# -- the other readers and writers of stored bodies ----------------------------------------


async def test_redaction_opens_and_reseals_under_the_rows_key(sealed: Store) -> None:
    from hookyard.redaction.fields import FieldRedaction
    from hookyard.redaction.runner import run_redaction

    now = time.time_ns() // 1000
    body = b'{"id": "o1", "email": "ada@example.com", "card": "' + MARK + b'"}'
    old = submission(body, source="shop", received_us=now - 10 * 86_400_000_000)
    event_id = (await sealed.submit(old)).id
    plan = FieldRedaction("shop", ("email",), 7 * 86400.0)
    counts = await run_redaction(sealed, [plan], now_us=now)
    assert counts.redacted == 1
    redacted, _ = await sealed.get_body(event_id) or (b"", "")
    assert b"ada@example.com" not in redacted and MARK in redacted
    at_rest = (await stored_rows(sealed))[event_id]
    if not isinstance(sealed, MemoryStore):  # memory holds nothing at rest
        assert (
            at_rest.key_id == "a" and MARK not in at_rest.body and b"[redacted]" not in at_rest.body
        )
    [payload] = await sealed.replay_payloads([event_id])
    assert payload.body == redacted


async def test_the_mirror_lane_reads_sealed_events_in_clear(sealed: Store) -> None:
    event_id = (await sealed.submit(event())).id
    found = await sealed.mirror_candidates(
        sources=["demo"], after=None, until_us=time.time_ns() // 1000 + 1, limit=10
    )
    assert [e.id for e in found] == [event_id]
    assert found[0].body == BODY and found[0].headers == HEADERS

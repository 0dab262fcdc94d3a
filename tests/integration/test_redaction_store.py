"""Redaction on every backend (``store``: memory, SQLite, PostgreSQL): bodies past
``redact_after`` get their fields replaced, never under a delivery, and the event says
so while ``body_sha256`` keeps describing the bytes that arrived."""

from __future__ import annotations

import hashlib
import json
import time

from hookyard.models import AttemptRecord, PurgeSelector
from hookyard.redaction.fields import FieldRedaction
from hookyard.redaction.runner import run_redaction
from hookyard.store.base import Store
from support.factories import submission

DAY_US = 86_400 * 1_000_000
NOW = time.time_ns() // 1000
OLD = NOW - 10 * DAY_US
PLAN = FieldRedaction("shop", ("email", "/card/number"), 7 * 86400.0)
BODY = b'{"id": "o1", "email": "ada@example.com", "card": {"number": "4242", "exp": "12/30"}}'


async def stored(
    store: Store,
    body: bytes = BODY,
    *,
    source: str = "shop",
    at: int = OLD,
    destinations: tuple[str, ...] = (),
) -> str:
    sub = submission(body, source=source, received_us=at, destinations=destinations)
    return (await store.submit(sub)).id


async def test_old_bodies_get_their_fields_replaced(store: Store) -> None:
    event_id = await stored(store)
    recent = await stored(store, at=NOW - DAY_US)
    other = await stored(store, source="other")
    not_json = await stored(store, b"email=ada@example.com")
    counts = await run_redaction(store, [PLAN], now_us=NOW)
    assert (counts.examined, counts.redacted) == (2, 1)
    body, _ = await store.get_body(event_id) or (b"", "")
    assert json.loads(body) == {
        "id": "o1",
        "email": "[redacted]",
        "card": {"number": "[redacted]", "exp": "12/30"},
    }
    record = await store.get_event(event_id)
    assert record is not None and record.redaction is not None
    assert record.summary.body_sha256 == hashlib.sha256(BODY).hexdigest()
    assert record.summary.body_size == len(BODY)
    assert record.redaction.body_sha256 == hashlib.sha256(body).hexdigest()
    assert record.redaction.body_size == len(body)
    assert (record.redaction.replaced, record.redaction.fields) == (2, PLAN.fields)
    for untouched in (recent, other, not_json):
        found = await store.get_event(untouched)
        assert found is not None and found.redaction is None
    assert await store.get_body(recent) == (BODY, "application/json")
    # Replays and deliveries read the stored bytes, the redacted ones.
    [payload] = await store.replay_payloads([event_id])
    assert payload.body == body


async def test_a_run_goes_on_from_its_mark(store: Store) -> None:
    first = await stored(store)
    await run_redaction(store, [PLAN], now_us=NOW)
    assert await store.redaction_mark("shop") == first
    second = await stored(store, at=OLD + 1_000_000)
    counts = await run_redaction(store, [PLAN], now_us=NOW)
    assert (counts.examined, counts.redacted) == (1, 1)
    assert await store.redaction_mark("shop") == second


async def test_a_body_waiting_for_delivery_is_left_until_it_is_delivered(store: Store) -> None:
    waiting = await stored(store, destinations=("d",))
    later = await stored(store, at=OLD + 1_000_000)
    counts = await run_redaction(store, [PLAN], now_us=NOW)
    assert counts.redacted == 1
    assert await store.get_body(waiting) == (BODY, "application/json")
    assert await store.redaction_mark("shop") == ""  # stopped before the busy one
    claimed = await store.claim_due(
        "w", now_us=NOW, lease_us=60_000_000, limit=10, destinations=["d"]
    )
    attempt = AttemptRecord(
        claimed[0].dispatch_id, 1, NOW, 1.0, 200, (), b"", None, None, "ok", None
    )
    assert await store.record_attempt("w", attempt, status="delivered")
    counts = await run_redaction(store, [PLAN], now_us=NOW)
    assert (counts.examined, counts.redacted) == (1, 1)
    assert await store.redaction_mark("shop") >= waiting  # done up to it, at least
    assert later > waiting
    record = await store.get_event(waiting)
    assert record is not None and record.redaction is not None


async def test_a_delivery_that_starts_before_the_write_keeps_the_body(store: Store) -> None:
    event_id = await stored(store, destinations=("d",))
    claimed = await store.claim_due(
        "w", now_us=NOW, lease_us=60_000_000, limit=10, destinations=["d"]
    )
    attempt = AttemptRecord(
        claimed[0].dispatch_id, 1, NOW, 1.0, 500, (), b"", None, None, "x", None
    )
    assert await store.record_attempt("w", attempt, status="dead")
    [candidate] = await store.redaction_candidates("shop", cutoff_us=NOW, after="", limit=10)
    assert not candidate.busy
    await store.retry_dead([claimed[0].dispatch_id], now_us=NOW)  # busy again
    from hookyard.redaction.fields import redact_body

    redacted = redact_body(PLAN, candidate, now_us=NOW)
    assert redacted is not None
    assert await store.apply_redactions("shop", [redacted], mark=event_id) == 0
    assert await store.get_body(event_id) == (BODY, "application/json")
    assert await store.redaction_mark("shop") == ""


async def test_a_dry_run_changes_nothing(store: Store) -> None:
    event_id = await stored(store)
    counts = await run_redaction(store, [PLAN], now_us=NOW, dry_run=True)
    assert counts.redacted == 1
    assert await store.get_body(event_id) == (BODY, "application/json")
    assert await store.redaction_mark("shop") == ""


async def test_a_purge_takes_the_redaction_with_its_event(store: Store) -> None:
    event_id = await stored(store)
    await run_redaction(store, [PLAN], now_us=NOW)
    step = await store.purge_events(
        PurgeSelector(cutoff_us=NOW), now_us=NOW, after="", limit=10, dry_run=False
    )
    assert step.counts.events == 1
    assert await store.get_event(event_id) is None
    assert await store.redaction_candidates("shop", cutoff_us=NOW, after="", limit=10) == []

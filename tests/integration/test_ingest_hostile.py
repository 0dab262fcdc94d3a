"""One hostile request must never fail the valid ones beside it (issue 15, batch poisoning).

The real ingest app over each real store: valid and hostile requests arrive together, so
that they share group-commit batches. A value PostgreSQL cannot keep as text (NUL, a lone
surrogate, an id longer than its index allows) once made the whole batch fail with 503.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import pytest

from hookyard.ingest import IngestApp
from hookyard.store import open_store
from hookyard.store.base import Store
from support.ingest import JSON, Post, call, sources


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[tuple[IngestApp, Store]]:
    store = open_store(database_url)
    await store.start()
    yield IngestApp(sources(), store, access_log=False), store
    await store.close()


def valid(n: int) -> Post:
    if n % 2:
        body = json.dumps({"id": f"evt_{n}", "type": "order.created", "n": n}).encode()
        return Post("body", body)
    headers = (JSON, (b"X-Event-Id", f"hdr_{n}".encode()), (b"X-Event-Type", b"order.paid"))
    return Post("header", json.dumps({"n": n}).encode(), headers)


#: Incompressible, so that no btree entry (the dedup key, the type index) can hold it.
LONG = secrets.token_urlsafe(6000)


def hostile(n: int) -> tuple[Post, str | None, str | None]:
    """The ``n``-th hostile request and the id and type it may keep (None: not storable)."""
    raw_nul = (JSON, (b"X-Event-Id", b"evt\x00raw"), (b"X-Event-Type", b"t\x00raw"))
    bad_signature = (JSON, (b"X-Signature", b"ab\x00cd"))
    kinds: list[tuple[Post, str | None, str | None]] = [
        (Post("body", b'{"id": "evt\\u0000x", "type": "a\\u0000b", "n": %d}' % n), None, None),
        (Post("body", b'{"id": "evt\\ud800", "type": "t\\udfff", "n": %d}' % n), None, None),
        (Post("body", b'{"id": "ok_%d", "type": "a\\u0000b"}' % n), f"ok_{n}", None),
        (Post("body", json.dumps({"id": LONG, "type": LONG, "n": n}).encode()), None, None),
        (Post("header", b"{}", raw_nul), None, None),
        (Post("header", b"{}", (JSON, (b"X-Event-Id", LONG.encode()))), None, None),
        (Post("body", b"{}", ((b"content-type", b"text/pl\x00ain"),)), None, None),
        (Post("body", b"{}", raw_path=b"/in/body\x00"), None, None),
        (Post("body", b"{}", client="10.0.0.1\x00"), None, None),
        # Refused (401), and stored: the reason and detail quote the signature received.
        (Post("signed", b'{"id": "e\\u0000", "n": %d}' % n, bad_signature), None, None),
    ]
    return kinds[n % len(kinds)]


async def test_hostile_requests_fail_no_valid_one_beside_them(
    ingest: tuple[IngestApp, Store],
) -> None:
    app, store = ingest
    posts: list[Post] = []
    expected: dict[int, tuple[str | None, str | None]] = {}
    for n in range(60):  # a hostile request after every third valid one
        posts.append(valid(n))
        expected[len(posts) - 1] = (
            (f"evt_{n}", "order.created") if n % 2 else (f"hdr_{n}", "order.paid")
        )
        if n % 3 == 2:
            post, event_id, event_type = hostile(n // 3)
            posts.append(post)
            expected[len(posts) - 1] = (event_id, event_type)
    answers = await asyncio.gather(*(call(app, post) for post in posts))

    statuses = [401 if p.source == "signed" else 202 for p in posts]
    assert [a.status for a in answers] == statuses, [
        (p, a) for p, a in zip(posts, answers, strict=True) if a.status not in (202, 401)
    ]
    for index, (post, answer) in enumerate(zip(posts, answers, strict=True)):
        record = await store.get_event(str(answer.payload["id"]))
        assert record is not None, post
        assert record.headers == post.headers  # byte for byte, NUL and all
        body = await store.get_body(record.summary.id)
        assert body is not None and body[0] == post.body
        event_id, event_type = expected[index]
        assert record.summary.provider_event_id == event_id, post
        assert record.summary.event_type == event_type, post
        if post.source == "signed":
            assert record.summary.verdict == "invalid"
            assert record.verdict_detail["received"] == "ab\x00cd"
    assert await store.count_events() == len(posts)

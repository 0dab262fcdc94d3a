"""The dashboard's state-changing pages over the real admin app on every backend: replay
(preview first, then a confirmed POST with its CSRF token, to a real sink on 127.0.0.1)
and the dead letters (list, retry picked, retry a filter); bad input is a 4xx page."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.models import AttemptRecord
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store
from support.factories import submission
from support.sink import ScriptedServer
from support.waiting import eventually_async


@pytest.fixture
async def ui(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    policy = NetPolicy.allowing("127.0.0.1/32")
    replays = ReplayManager(store, {}, policy)
    app = create_admin_app(store, admin_token=None, replays=replays)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c
    await replays.stop()


async def csrf(ui: httpx.AsyncClient) -> str:
    page = await ui.get("/ui/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if found is None:  # the open dashboard has no logout form: take a form that has one
        page = await ui.get("/ui/dead-letters")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def dead_dispatch(store: Store) -> tuple[str, str]:
    event_id = (await store.submit(submission(destinations=("app",)))).id
    now = time.time_ns() // 1000
    (claimed,) = await store.claim_due(
        "w", now_us=now, lease_us=60_000_000, limit=1, destinations=("app",)
    )
    attempt = AttemptRecord(
        claimed.dispatch_id, 1, now, 1.0, 410, (), b"gone", None, None, "dead", None
    )
    assert await store.record_attempt("w", attempt, status="dead")
    return event_id, claimed.dispatch_id


async def test_replay_previews_then_sends_the_exact_bytes(
    ui: httpx.AsyncClient, store: Store, sink: ScriptedServer
) -> None:
    body = b'{"exact":  "bytes"}'
    event_id = (await store.submit(submission(body))).id
    target = {"ids": event_id, "target": "url", "url": sink.url("/r")}
    preview = await ui.get("/ui/replay", params={**target, "preview": "1"})
    assert preview.status_code == 200 and "Dry run: 1 event(s)" in preview.text
    assert sink.received == []
    token = re.search(r'name="csrf" value="([^"]+)"', preview.text)
    assert token is not None
    forged = await ui.post("/ui/replay", data={**target, "csrf": "forged"})
    assert forged.status_code == 403
    started = await ui.post("/ui/replay", data={**target, "csrf": token.group(1)})
    assert started.status_code == 303
    batch_url = started.headers["location"]

    async def done() -> bool:
        return 'id="batch-status" class="status-done">done<' in (await ui.get(batch_url)).text

    await eventually_async(done)
    assert [r.body for r in sink.received] == [body]


@pytest.mark.parametrize(
    "query",
    [
        {"ids": "X", "preview": "1"},  # no target
        {"ids": "X", "preview": "1", "target": "destination", "to": "nope"},
        {"ids": "X", "preview": "1", "target": "url", "url": "ftp://x/"},
        {"preview": "1", "target": "url", "url": "http://127.0.0.1:9/"},  # nothing selected
        {"since": "soon", "preview": "1", "target": "url", "url": "http://127.0.0.1:9/"},
        {"ids": "X", "preview": "1", "target": "url", "url": "http://10.1.2.3/"},  # guard
    ],
)
async def test_a_bad_replay_is_a_400_page(ui: httpx.AsyncClient, query: dict[str, str]) -> None:
    response = await ui.get("/ui/replay", params=query)
    assert response.status_code == 400 and 'role="alert"' in response.text


async def test_unknown_batch_is_a_404(ui: httpx.AsyncClient) -> None:
    assert (await ui.get("/ui/replays/01ABCDEF")).status_code == 404
    assert (await ui.get("/ui/replays/x%00y")).status_code == 404


async def test_dead_letters_list_and_retry(ui: httpx.AsyncClient, store: Store) -> None:
    _, dispatch_id = await dead_dispatch(store)
    listing = await ui.get("/ui/dead-letters", params={"destination": "app"})
    assert listing.status_code == 200
    assert f'data-id="{dispatch_id}"' in listing.text and "HTTP 410" in listing.text
    assert "/ui/replay?status=dead&amp;destination=app" in listing.text
    token = await csrf(ui)
    nothing = await ui.post("/ui/dead-letters/retry", data={"csrf": token})
    assert nothing.status_code == 400
    retried = await ui.post("/ui/dead-letters/retry", data={"csrf": token, "ids": dispatch_id})
    assert retried.status_code == 303 and "retried=1" in retried.headers["location"]
    assert (await store.list_dispatches(status="dead")) == []
    again = await ui.get(retried.headers["location"])
    assert "1 dispatch(es) queued" in again.text


async def test_retry_every_dead_letter_of_a_filter(ui: httpx.AsyncClient, store: Store) -> None:
    await dead_dispatch(store)
    await dead_dispatch(store)
    token = await csrf(ui)
    retried = await ui.post("/ui/dead-letters/retry", data={"csrf": token, "destination": "app"})
    assert "retried=2" in retried.headers["location"]
    bad = await ui.post("/ui/dead-letters/retry", data={"csrf": token, "since": "later"})
    assert bad.status_code == 400
    assert (await ui.get("/ui/dead-letters", params={"since": "later"})).status_code == 400

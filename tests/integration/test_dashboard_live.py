"""``/ui/events/stream`` over the real admin app on every backend: behind the dashboard's
sign-in (not a bearer token), the stream's own answers to a bad query, and a 404 page
when no stream is served. Its messages are followed in a browser (tests/browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from hookyard.api.app import create_admin_app
from hookyard.api.guard import GuardPolicy
from hookyard.dashboard.app import DashboardServices, dashboard_routes
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.replay.batches import ReplayManager
from hookyard.store.base import Store

BASE = "http://127.0.0.1:8000"


@pytest.fixture
async def guarded(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token="s3cret-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def test_the_stream_wants_a_signed_in_session(guarded: httpx.AsyncClient) -> None:
    anonymous = await guarded.get("/ui/events/stream")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/ui/login?next=/ui/events/stream")
    # A bearer token is the API's way in, not the dashboard's.
    bearer = await guarded.get(
        "/ui/events/stream", headers={"authorization": "Bearer s3cret-token"}
    )
    assert bearer.status_code == 303


async def test_a_bad_stream_query_is_the_streams_400(guarded: httpx.AsyncClient) -> None:
    page = await guarded.get("/ui/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = await guarded.post("/ui/login", data={"csrf": token, "token": "s3cret-token"})
    assert signed.status_code == 303
    bad = await guarded.get("/ui/events/stream", params={"since": "soon"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_query"
    wrong = await guarded.get("/ui/events/stream", params={"after": "nope"})
    assert wrong.status_code == 400 and "after" in wrong.json()["detail"]


async def test_without_a_stream_the_route_is_a_404_page(store: Store) -> None:
    replays = ReplayManager(store, {}, NetPolicy.allowing("127.0.0.1/32"))
    app = Starlette(
        routes=dashboard_routes(
            DashboardServices(store, replays), admin_token=None, guard=GuardPolicy()
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.get("/ui/events/stream")
    assert response.status_code == 404 and "the live tail polls instead" in response.text
    await replays.stop()

"""The Overview and Mirrors pages over the real admin app on every backend: the last
hour's counts from the store, and a mirror's discrepancy report."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.config import settings_from_mapping
from hookyard.mirror.records import MirrorCopyRecord
from hookyard.store.base import Store
from support.factories import submission

CONFIG = {
    "sources": {"demo": {}},
    "mirrors": {"staging": {"sources": ["demo"], "url": "https://staging.example/in?key=s3cr3t"}},
}


@pytest.fixture
async def ui(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_from_mapping(CONFIG, "cfg.toml")
    app = create_admin_app(store, admin_token=None, mirrors=settings.mirrors)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


def figure(html: str, card: str) -> str:
    found = re.search(rf'id="card-{card}">.*?<div class="figure">(?:<a [^>]*>)?(\d+)', html, re.S)
    assert found is not None, card
    return found.group(1)


async def test_overview_counts_the_last_hour(ui: httpx.AsyncClient, store: Store) -> None:
    now = time.time_ns() // 1000
    for _ in range(3):
        await store.submit(submission(destinations=("app",)))
    await store.submit(submission(received_us=now - 2 * 3600 * 1_000_000))  # too old to count
    page = await ui.get("/ui/")
    assert page.status_code == 200
    assert figure(page.text, "received") == "3"
    assert figure(page.text, "backlog") == "3"
    assert figure(page.text, "dead") == "0"
    assert page.text.count("<rect ") >= 1  # the received chart has a bar


async def test_mirrors_page_shows_the_report(ui: httpx.AsyncClient, store: Store) -> None:
    event_id = (await store.submit(submission())).id
    now = time.time_ns() // 1000
    copy = MirrorCopyRecord(
        "staging", event_id, "demo", "thing.happened", now, now, status_code=500
    )
    await store.record_mirror_copies("staging", [copy], cursor=None, now_us=now)
    page = await ui.get("/ui/mirrors", params={"since": "1h"})
    assert page.status_code == 200
    assert 'id="mirror-staging"' in page.text
    assert "s3cr3t" not in page.text
    assert "Logged</dt><dd>1 · sent 1" in page.text
    assert (await ui.get("/ui/mirrors", params={"since": "whenever"})).status_code == 400
    assert (await ui.get("/ui/mirrors", params={"since": "1h\x00"})).status_code == 400

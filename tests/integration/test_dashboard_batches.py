"""The Replay batches page over the real admin app on every backend: newest first, a
page at a time by cursor, each linking its batch page; a bad query is a 400 page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.models import ReplayBatch
from hookyard.store.base import Store


@pytest.fixture
async def ui(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)">', page)


async def test_batches_list_newest_first_by_cursor_pages(
    ui: httpx.AsyncClient, store: Store
) -> None:
    empty = await ui.get("/ui/replays")
    assert empty.status_code == 200 and "No replay batches." in empty.text
    assert 'href="/ui/replays"' in empty.text  # in the navigation
    for n in range(3):
        await store.create_replay_batch(
            ReplayBatch(
                id=f"01BATCH{n}",
                created_us=1_700_000_000_000_000 + n * 1_000_000,
                selection={"ids": [f"e{n}"]},
                target="http://127.0.0.1:9/r?token=secret" if n == 1 else "app",
                total=2,
                status="done",
                options={"rate": None},
                delivered=2,
            )
        )
    first = await ui.get("/ui/replays", params={"limit": "2"})
    assert first.status_code == 200
    assert listed(first.text) == ["01BATCH2", "01BATCH1"]
    assert 'href="/ui/replays/01BATCH2"' in first.text and "2 / 2" in first.text
    assert "token=secret" not in first.text  # a target URL's credentials are masked
    found = re.search(r'href="(/ui/replays\?[^"]+)" rel="next"', first.text)
    assert found is not None
    second = await ui.get(found.group(1).replace("&amp;", "&"))
    assert listed(second.text) == ["01BATCH0"] and 'rel="next"' not in second.text
    assert (await ui.get("/ui/replays/01BATCH0")).status_code == 200


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "many"}, {"cursor": "a\x00b"}])
async def test_a_bad_batches_query_is_a_400_page(
    ui: httpx.AsyncClient, query: dict[str, str]
) -> None:
    response = await ui.get("/ui/replays", params=query)
    assert response.status_code == 400 and 'role="alert"' in response.text

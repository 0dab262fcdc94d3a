"""The dashboard's read pages over the real admin app on every backend: the events list
reads the filter language and pages by cursor, the event page masks credentials and
serves the exact bytes, the diff page compares two stored events; bad input is a 4xx page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.store.base import Store
from support.factories import submission

SECRET_HEADER = b"Bearer sk_live_do_not_show_me"


@pytest.fixture
async def ui(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', html)


async def test_filters_and_cursor_pages(ui: httpx.AsyncClient, store: Store) -> None:
    ids = []
    for n in range(5):
        kind = "order.created" if n % 2 == 0 else "refund.done"
        sub = submission(
            f'{{"n": {n}}}'.encode(),
            event_type=kind,
            received_us=1_700_000_000_000_000 + n * 1_000_000,
        )
        ids.append((await store.submit(sub)).id)
    orders = [ids[4], ids[2], ids[0]]
    first = await ui.get("/ui/events", params={"type": "order.*", "limit": "2"})
    assert first.status_code == 200
    assert row_ids(first.text) == orders[:2]
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following is not None
    second = await ui.get(following.group(1).replace("&amp;", "&"))
    assert row_ids(second.text) == orders[2:]
    assert 'value="order.*"' in second.text  # the filter stays in the form
    assert row_ids((await ui.get("/ui/events", params={"source": "nope"})).text) == []


@pytest.mark.parametrize(
    "query", [{"since": "yesterday-ish"}, {"verdict": "maybe"}, {"limit": "0"}, {"type": "a\x00"}]
)
async def test_a_bad_filter_is_a_400_page(ui: httpx.AsyncClient, query: dict[str, str]) -> None:
    response = await ui.get("/ui/events", params=query)
    assert response.status_code == 400
    assert 'role="alert"' in response.text


async def test_event_page_masks_credentials_and_raw_is_exact(
    ui: httpx.AsyncClient, store: Store
) -> None:
    body = b'{"amount":  12.50, "note": "caf\xc3\xa9"}\n'
    headers = (
        (b"Content-Type", b"application/json"),
        (b"Authorization", SECRET_HEADER),
        (b"X-Zeta", b"1"),
        (b"X-Alpha", b"2"),
    )
    event_id = (await store.submit(submission(body, headers=headers))).id
    page = await ui.get(f"/ui/events/{event_id}")
    assert page.status_code == 200
    assert "sk_live_do_not_show_me" not in page.text
    names = re.findall(
        r'<td class="mono">(Content-Type|Authorization|X-Zeta|X-Alpha)</td>', page.text
    )
    assert names == ["Content-Type", "Authorization", "X-Zeta", "X-Alpha"]
    assert "&#34;amount&#34;: 12.50" in page.text  # pretty JSON keeps the number as sent
    raw = await ui.get(f"/ui/events/{event_id}/raw")
    assert raw.status_code == 200 and raw.content == body
    assert raw.headers["content-disposition"].startswith("attachment")
    assert raw.headers["content-type"] == "application/octet-stream"
    assert (await ui.get("/ui/events/NOPE")).status_code == 404
    assert (await ui.get("/ui/events/NOPE/raw")).status_code == 404


async def test_diff_of_two_events_and_the_previous_of_a_type(
    ui: httpx.AsyncClient, store: Store
) -> None:
    old = (
        await store.submit(
            submission(b'{"total": 10, "items": [1]}', received_us=1_700_000_000_000_000)
        )
    ).id
    new = (
        await store.submit(
            submission(b'{"total": 12, "items": [1]}', received_us=1_700_000_001_000_000)
        )
    ).id
    page = await ui.get(f"/ui/events/{new}")
    assert f'href="/ui/diff?a={old}&amp;b={new}"' in page.text
    result = await ui.get("/ui/diff", params={"a": old, "b": new})
    assert result.status_code == 200
    assert re.search(
        r'<td class="mono">/total</td><td>changed</td>\s*<td class="mono">10</td>\s*<td class="mono">12</td>',
        result.text,
    )
    picked = await ui.get("/ui/diff", params=[("pick", new), ("pick", old)])
    assert picked.status_code == 200 and "/total" in picked.text
    assert (await ui.get("/ui/diff", params=[("pick", new)])).status_code == 400
    assert (await ui.get("/ui/diff", params={"a": old})).status_code == 400
    assert (await ui.get("/ui/diff", params={"a": old, "b": "NOPE"})).status_code == 404
    assert (await ui.get("/ui/diff", params={"a": old, "b": "x\x00"})).status_code == 404


async def test_the_live_tail_rows_follow_the_filter(ui: httpx.AsyncClient, store: Store) -> None:
    wanted = (await store.submit(submission(event_type="tail.me"))).id
    await store.submit(submission(event_type="not.me"))
    page = await ui.get("/ui/events", params={"type": "tail.*", "live": "1"})
    assert 'hx-get="/ui/events/rows?type=tail.%2A"' in page.text and 'id="live-off"' in page.text
    rows = await ui.get("/ui/events/rows", params={"type": "tail.*"})
    assert rows.status_code == 200 and "<html" not in rows.text
    assert row_ids(rows.text) == [wanted]
    assert (await ui.get("/ui/events/rows", params={"status": "zzz"})).status_code == 400
    paged = await ui.get("/ui/events", params={"cursor": wanted})
    assert 'id="live-on"' not in paged.text  # a later page has no tail to follow

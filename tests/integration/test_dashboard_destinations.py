"""The Destinations page over the real admin app on every backend: state, backlog and
last outcomes shown; pause, resume and enable as CSRF-protected forms that go through the
control functions, each recorded in the audit trail as the dashboard's; bad input is a
4xx page."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.models import AttemptRecord, DestinationActivity
from hookyard.store.base import Store
from support.factories import submission


@pytest.fixture
async def ui(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token=None, destinations=("app", "crm"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c


def row(page: str, name: str) -> str:
    found = re.search(rf'<tr data-name="{name}">(.*?)</tr>', page, re.S)
    assert found is not None, f"no row for {name}"
    return found.group(1)


async def csrf(ui: httpx.AsyncClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await ui.get("/ui/destinations")).text)
    assert found is not None
    return found.group(1)


async def test_pause_then_resume_holds_and_releases_and_is_audited(
    ui: httpx.AsyncClient, store: Store
) -> None:
    await store.submit(submission(destinations=("app",)))
    page = await ui.get("/ui/destinations")
    assert page.status_code == 200 and 'href="/ui/destinations"' in page.text
    assert ">active<" in row(page.text, "app") and "/ui/destinations/app/pause" in page.text
    assert "/ui/destinations/crm/pause" in page.text
    token = await csrf(ui)

    forged = await ui.post("/ui/destinations/app/pause", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert (await store.destination_states()).get("app") is None  # nothing changed

    paused = await ui.post("/ui/destinations/app/pause", data={"csrf": token})
    assert paused.status_code == 303
    shown = (await ui.get(paused.headers["location"])).text
    assert "app is now paused." in shown
    cells = row(shown, "app")
    assert "paused" in cells and "paused by dashboard" in cells
    assert "/ui/destinations/app/resume" in cells and "(paused 1)" in cells
    assert (await store.destination_states())["app"].state == "paused"

    resumed = await ui.post("/ui/destinations/app/resume", data={"csrf": token})
    assert resumed.status_code == 303
    assert (await store.destination_states())["app"].state == "active"
    assert "(pending 1)" in row((await ui.get("/ui/destinations")).text, "app")

    entries = await store.list_audit()
    assert [(e.actor, e.action, e.target, e.count) for e in entries] == [
        ("dashboard", "destination.resume", "app", 1),
        ("dashboard", "destination.pause", "app", 1),
    ]


async def test_a_410_disabled_destination_is_shown_and_only_enable_brings_it_back(
    ui: httpx.AsyncClient, store: Store
) -> None:
    now = time.time_ns() // 1000
    await store.set_destination_mode("crm", "disabled", reason="HTTP 410 Gone", now_us=now)
    page = (await ui.get("/ui/destinations")).text
    cells = row(page, "crm")
    assert "disabled by 410" in cells and "/ui/destinations/crm/enable" in cells
    token = await csrf(ui)
    refused = await ui.post("/ui/destinations/crm/resume", data={"csrf": token})
    assert refused.status_code == 409 and "is disabled" in refused.text
    enabled = await ui.post("/ui/destinations/crm/enable", data={"csrf": token})
    assert enabled.status_code == 303
    assert (await store.destination_states())["crm"].state == "active"
    [entry] = await store.list_audit(action="destination.enable")
    assert entry.actor == "dashboard" and entry.detail == {"before": "disabled", "after": "active"}


async def test_circuit_and_last_success_and_error_are_shown(
    ui: httpx.AsyncClient, store: Store
) -> None:
    success = 1_700_000_000_000_000
    error = success + 60_000_000
    await store.note_destination_activity(
        [
            DestinationActivity(
                "app", last_success_us=success, last_error_us=error, last_error="HTTP 503"
            ),
            DestinationActivity("app", circuit="open", circuit_until_us=error + 30_000_000),
        ],
        now_us=error,
    )
    cells = row((await ui.get("/ui/destinations")).text, "app")
    assert "2023-11-14 22:13:20" in cells and "2023-11-14 22:14:20" in cells
    assert "HTTP 503" in cells and "open" in cells and "until 2023-11-14 22:14:50" in cells
    assert "closed" in row((await ui.get("/ui/destinations")).text, "crm")


async def test_the_last_hour_counts_delivered_and_failed_attempts(
    ui: httpx.AsyncClient, store: Store
) -> None:
    for _ in range(2):
        await store.submit(submission(destinations=("app",)))
    now = time.time_ns() // 1000
    claimed = await store.claim_due(
        "w", now_us=now + 1, lease_us=60_000_000, limit=2, destinations=("app",)
    )
    for dispatch, code, status, retry_at in zip(
        claimed, (200, 503), ("delivered", "retrying"), (None, now + 60_000_000), strict=True
    ):
        attempt = AttemptRecord(
            dispatch.dispatch_id, 1, now, 2.0, code, (), b"", None, None, status, retry_at
        )
        assert await store.record_attempt("w", attempt, status=status)
    page = (await ui.get("/ui/destinations")).text
    assert "1 delivered, " in row(page, "app") and ">1 failed<" in row(page, "app")
    assert "0 delivered, 0 failed" in row(page, "crm")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/destinations/nope/pause", 404),  # unknown destination
        ("/ui/destinations/app/explode", 404),  # unknown action
        ("/ui/destinations/a%00b/pause", 400),  # not plain text
    ],
)
async def test_bad_destination_posts_are_4xx_pages(
    ui: httpx.AsyncClient, store: Store, path: str, status: int
) -> None:
    response = await ui.post(path, data={"csrf": await csrf(ui)})
    assert response.status_code == status and "<html" in response.text
    assert await store.list_audit() == []

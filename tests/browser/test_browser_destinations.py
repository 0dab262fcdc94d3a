"""Destination controls from the dashboard in a real headless Chromium: Pause holds what
arrives for the destination (shown as its backlog, nothing sent), Resume sends it."""

from __future__ import annotations

import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from support.browser import TOKEN, follow, ingest, sign_in
from support.server import RunningServer
from support.sink import Received, ScriptedServer


def test_pause_then_resume_a_destination(
    page: Page, dashboard: RunningServer, sink_server: ScriptedServer
) -> None:
    marker = uuid.uuid4().hex
    body = f'{{"held": "{marker}"}}'.encode()

    def arrived() -> list[Received]:
        return [r for r in sink_server.received if r.body == body]

    sign_in(page, dashboard, "/ui/events")
    follow(page, "header nav >> text=Destinations")
    row = page.locator('#destinations tr[data-name="sink"]')
    try:
        expect(row.locator("td").nth(1)).to_have_text("active")
        follow(page, '#destinations tr[data-name="sink"] button:has-text("Pause")')
        assert page.inner_text("#changed") == "sink is now paused."
        expect(row.locator("td").nth(1)).to_contain_text("paused by dashboard")

        ingest(dashboard, "shop", body, headers={"content-type": "application/json"})
        # Ingest queues it pending; the next worker to look holds it (within a second).
        deadline = time.monotonic() + 10
        while "paused 1" not in row.locator("td.backlog").inner_text():
            assert time.monotonic() < deadline, "the new dispatch was never held"
            time.sleep(0.2)
            page.reload()
        assert arrived() == []

        follow(page, '#destinations tr[data-name="sink"] button:has-text("Resume")')
        assert page.inner_text("#changed") == "sink is now active."
        deadline = time.monotonic() + 10
        while not arrived() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(arrived()) == 1
    finally:
        # The server is shared by the browser tests: never leave the destination paused.
        httpx.post(
            f"{dashboard.url}/api/destinations/sink/resume",
            headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
        )

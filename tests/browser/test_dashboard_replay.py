"""Replay from the dashboard in a real headless Chromium: the dry run sends nothing, the
confirmed replay reaches a sink on 127.0.0.1 with the exact stored bytes, and the batch
page follows it live (htmx) to its end."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from support.browser import follow, ingest, keep_screenshot, sign_in
from support.server import RunningServer
from support.sink import Received, Reply, ScriptedServer


def test_replay_dry_run_then_for_real(
    page: Page, dashboard: RunningServer, sink_server: ScriptedServer
) -> None:
    body = b'{"type":"replay.me",\t"price": 1.10, "raw": "\xe2\x82\xac"}'
    event_id = ingest(dashboard, "demo", body, headers={"content-type": "application/json"})
    path = f"/replayed-{uuid.uuid4().hex[:8]}"

    def arrived() -> list[Received]:
        return [r for r in sink_server.received if r.path == path]

    sign_in(page, dashboard, f"/ui/events/{event_id}")
    follow(page, "text=Replay…")
    page.check("input[name=target][value=url]")
    page.fill("input[name=url]", sink_server.url(path))
    follow(page, "#choose button[type=submit]")
    assert page.inner_text("#preview h2").startswith("Dry run: 1 event(s)")
    assert event_id in page.inner_text("#preview table")
    keep_screenshot(page, "replay")
    assert arrived() == []  # the dry run sent nothing

    sink_server.then(Reply(delay=2.0))  # slow enough to see the batch running
    follow(page, "#confirm button[type=submit]")
    assert "/ui/replays/" in page.url
    assert page.inner_text("#batch-status") == "running"
    # No reload: htmx polls the batch until it is done.
    expect(page.locator("#batch-status")).to_have_text("done", timeout=10_000)
    assert page.inner_text("#batch-delivered") == "1"
    (received,) = arrived()
    assert received.body == body
    link = page.locator("#batch-dispatches a").first
    href = link.get_attribute("href", timeout=1000) or ""
    assert href.startswith(f"/ui/events/{event_id}#dispatch-")

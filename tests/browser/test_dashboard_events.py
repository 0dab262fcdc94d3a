"""Events, Event and Diff pages in a real headless Chromium: filter and paginate, download
the raw body (the exact bytes), compare two events."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.browser import follow, ingest, keep_screenshot, sign_in
from support.server import RunningServer


def test_filter_then_page_through(page: Page, dashboard: RunningServer) -> None:
    kind = f"page.{uuid.uuid4().hex[:8]}"
    ids = [
        ingest(
            dashboard,
            "demo",
            f'{{"type": "{kind}", "n": {n}}}'.encode(),
            headers={"content-type": "application/json"},
        )
        for n in range(3)
    ]
    ingest(
        dashboard, "demo", b'{"type": "other.kind"}', headers={"content-type": "application/json"}
    )
    sign_in(page, dashboard)
    page.fill("input[name=type]", kind)
    page.fill("input[name=limit]", "2")
    follow(page, "form.filters button[type=submit]")
    assert f"type={kind}" in page.url
    shown = page.eval_on_selector_all(
        "#events tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
    )
    assert shown == [ids[2], ids[1]]
    follow(page, "a[rel=next]")
    shown = page.eval_on_selector_all(
        "#events tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
    )
    assert shown == [ids[0]]
    assert page.input_value("input[name=type]") == kind
    keep_screenshot(page, "events")
    page.reload()  # a page URL is bookmarkable: the same rows again
    assert page.eval_on_selector_all("#events tbody tr[data-id]", "rows => rows.length") == 1


def test_download_the_exact_raw_body(page: Page, dashboard: RunningServer, tmp_path: Path) -> None:
    body = b'{"type":"raw.check",  "odd": "\\u00e9\xc3\xa9",\r\n "n": 1.000}'
    event_id = ingest(dashboard, "demo", body, headers={"content-type": "application/json"})
    sign_in(page, dashboard, f"/ui/events/{event_id}")
    assert page.is_visible("#body")
    keep_screenshot(page, "event")
    with page.expect_download() as download:
        page.click("a#raw")
    saved = tmp_path / "raw.body"
    download.value.save_as(saved)
    assert saved.read_bytes() == body


def test_diff_two_events(page: Page, dashboard: RunningServer) -> None:
    kind = f"diff.{uuid.uuid4().hex[:8]}"
    old = ingest(
        dashboard,
        "demo",
        f'{{"type": "{kind}", "total": 10}}'.encode(),
        headers={"content-type": "application/json", "x-shop": "a"},
    )
    new = ingest(
        dashboard,
        "demo",
        f'{{"type": "{kind}", "total": 12}}'.encode(),
        headers={"content-type": "application/json", "x-shop": "b"},
    )
    sign_in(page, dashboard, f"/ui/events?type={kind}")
    page.check(f"input[name=pick][value='{old}']")
    page.check(f"input[name=pick][value='{new}']")
    follow(page, "#compare button[type=submit]")
    assert "/ui/diff" in page.url
    row = page.locator("#json-diff tbody tr").first
    assert row.locator("td").all_inner_texts() == ["/total", "changed", "10", "12"]
    keep_screenshot(page, "diff")
    header_rows = page.locator("#header-diff tbody tr", has_text="x-shop")
    assert header_rows.locator("td").all_inner_texts()[2:] == ["a", "b"]
    # The same comparison from the newer event's page.
    page.goto(f"{dashboard.url}/ui/events/{new}")
    follow(page, "#compare-previous")
    assert page.locator("#json-diff tbody tr").first.locator("td").all_inner_texts()[0] == "/total"


@pytest.mark.parametrize("mode", ["stream", "poll"])
def test_live_tail_shows_a_new_event_without_a_reload(
    page: Page, dashboard: RunningServer, mode: str
) -> None:
    """With EventSource the rows are fetched when the stream says an event arrived (the
    poll is off, so only the stream can bring the row); without it they are polled."""
    if mode == "poll":
        page.add_init_script("delete window.EventSource")
    kind = f"live.{uuid.uuid4().hex[:8]}"
    first = ingest(
        dashboard,
        "demo",
        f'{{"type": "{kind}"}}'.encode(),
        headers={"content-type": "application/json"},
    )
    sign_in(page, dashboard, f"/ui/events?type={kind}")
    follow(page, "#live-on")
    expect(page.locator(f"#events tr[data-id='{first}']")).to_be_visible()
    tail = page.locator("#events-body")
    expect(tail).to_have_attribute("data-live", mode)
    expected_trigger = "hookyard-new" if mode == "stream" else "every 2s"
    expect(tail).to_have_attribute("hx-trigger", expected_trigger)
    page.evaluate("window.hookyardKept = 1")  # gone if the page reloads
    later = ingest(
        dashboard,
        "demo",
        f'{{"type": "{kind}"}}'.encode(),
        headers={"content-type": "application/json"},
    )
    expect(page.locator("#events tbody tr").first).to_have_attribute("data-id", later, timeout=8000)
    assert page.evaluate("window.hookyardKept") == 1
    follow(page, "#live-off")
    assert "live=1" not in page.url

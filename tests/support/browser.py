"""Helpers of the browser tests: the admin token they log in with, ingest, sign-in."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from playwright.sync_api import Page

from support.server import RunningServer

TOKEN = "browser-admin-token-0123456789abcdef"


def ingest(server: RunningServer, source: str, body: bytes, *, headers: dict[str, str]) -> str:
    response = httpx.post(f"{server.url}/in/{source}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["id"]
    return event_id


def sign_in(page: Page, server: RunningServer, next_path: str = "/ui/events") -> None:
    page.goto(f"{server.url}{next_path}")
    page.fill("input[name=token]", TOKEN)
    follow(page, "form.login button[type=submit]")


def follow(page: Page, selector: str) -> None:
    """Click what loads another page, and wait until it has loaded (a click alone returns
    before the new page is there, and reading it then reads the old one)."""
    with page.expect_navigation():
        page.click(selector)


ARTIFACTS = Path(os.environ.get("HOOKYARD_ARTIFACTS", "test-artifacts"))


def keep_screenshot(page: Page, name: str) -> Path:
    """A picture of the page for the docs: ``test-artifacts/pages/NAME.png``."""
    path = ARTIFACTS / "pages" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path

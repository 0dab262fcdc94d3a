"""Helpers of the browser tests: the admin token they log in with, ingest, sign-in."""

from __future__ import annotations

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
    page.click("form.login button[type=submit]")

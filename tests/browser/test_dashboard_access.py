"""Login, logout and a forged form post, in a real headless Chromium."""

from __future__ import annotations

from playwright.sync_api import Page

from support.browser import TOKEN, follow, keep_screenshot, sign_in
from support.server import RunningServer


def test_login_then_logout(page: Page, dashboard: RunningServer) -> None:
    page.goto(f"{dashboard.url}/")
    assert page.url.startswith(f"{dashboard.url}/ui/login")
    page.fill("input[name=token]", "wrong-token")
    follow(page, "form.login button[type=submit]")
    assert "not the admin token" in page.inner_text("main")
    sign_in(page, dashboard, "/ui/")
    assert page.url == f"{dashboard.url}/ui/"
    assert page.is_visible("form.logout")
    assert page.is_visible("#card-received svg")
    keep_screenshot(page, "overview")
    assert TOKEN not in page.content()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["hookyard_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    follow(page, "form.logout button")
    assert page.url == f"{dashboard.url}/ui/login"
    page.goto(f"{dashboard.url}/ui/")
    assert page.url.startswith(f"{dashboard.url}/ui/login")


def test_a_forged_form_post_is_refused(page: Page, dashboard: RunningServer) -> None:
    sign_in(page, dashboard, "/ui/")
    # The same form with another CSRF token: what a page that cannot read ours would send.
    page.eval_on_selector("form.logout input[name=csrf]", "e => e.value = 'forged'")
    follow(page, "form.logout button")
    assert "CSRF" in page.inner_text("main")
    page.goto(f"{dashboard.url}/ui/")
    assert page.is_visible("form.logout")  # still signed in: the forged logout did nothing

"""Login, logout and a forged form post, in a real headless Chromium."""

from __future__ import annotations

import http.server
import threading

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


def test_a_form_on_another_site_cannot_post(page: Page, dashboard: RunningServer) -> None:
    """A page of another origin (here another port) posts a copy of the logout form: the
    browser sends the session cookie along (same site), the dashboard refuses the Origin."""
    forged = (
        f'<form method="post" action="{dashboard.url}/ui/logout">'
        '<input type="hidden" name="csrf" value="guess">'
        '<button type="submit">Win a prize</button></form>'
    ).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(forged)))
            self.end_headers()
            self.wfile.write(forged)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sign_in(page, dashboard, "/ui/")
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        follow(page, "button")
        assert "Forbidden origin" in page.inner_text("main")
        page.goto(f"{dashboard.url}/ui/")
        assert page.is_visible("form.logout")  # still signed in
    finally:
        server.shutdown()
        server.server_close()

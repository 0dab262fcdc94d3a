"""The dashboard's gate over the real admin app and store: login, session cookie, logout,
CSRF, Host and Origin checks, the open banner, and no secret in any page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.store import open_store

TOKEN = "dashboard-admin-token-0123456789"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def _client(token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    store = open_store("memory://dashboard-auth")
    await store.start()
    app = create_admin_app(store, admin_token=token)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c
    await store.close()


@pytest.fixture
async def guarded() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(TOKEN):
        yield c


@pytest.fixture
async def opened() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(None):
        yield c


async def login(c: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    page = await c.get("/ui/login", params={"next": "/ui/events"})
    return await c.post(
        "/ui/login", data={"csrf": csrf_of(page.text), "token": token, "next": "/ui/events"}
    )


async def test_root_redirects_to_the_dashboard(guarded: httpx.AsyncClient) -> None:
    response = await guarded.get("/")
    assert response.status_code == 307 and response.headers["location"] == "/ui/"


async def test_pages_need_the_token_then_set_a_strict_httponly_cookie(
    guarded: httpx.AsyncClient,
) -> None:
    first = await guarded.get("/ui/", params={"source": "a"})
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/login?next=/ui/%3Fsource%3Da"
    wrong = await login(guarded, "not-the-token")
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    right = await login(guarded)
    assert right.status_code == 303 and right.headers["location"] == "/ui/events"
    cookie = right.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=strict", "path=/ui"):
        assert flag in cookie
    home = await guarded.get("/ui/")
    assert home.status_code == 200 and "Log out" in home.text
    assert "Open dashboard" not in home.text
    assert TOKEN not in home.text and TOKEN not in right.text


async def test_logout_takes_a_csrf_token_and_ends_the_session(guarded: httpx.AsyncClient) -> None:
    await login(guarded)
    home = await guarded.get("/ui/")
    forged = await guarded.post("/ui/logout", data={"csrf": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert (await guarded.get("/ui/")).status_code == 200  # still signed in
    out = await guarded.post("/ui/logout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert (await guarded.get("/ui/")).status_code == 303


async def test_an_unknown_page_is_an_html_404(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/ui/nowhere")).status_code == 303  # sign in first
    await login(guarded)
    missing = await guarded.get("/ui/nowhere/at/all")
    assert missing.status_code == 404 and "no dashboard page" in missing.text
    assert (await guarded.get("/ui/static/nothing.js")).status_code == 404


async def test_a_forged_cookie_is_not_a_session(guarded: httpx.AsyncClient) -> None:
    guarded.cookies.set("hookyard_session", "1.2.1.forged", path="/ui")
    assert (await guarded.get("/ui/")).status_code == 303


async def test_other_hosts_and_origins_are_refused(guarded: httpx.AsyncClient) -> None:
    rebound = await guarded.get("/ui/login", headers={"host": "evil.example"})
    assert rebound.status_code == 421
    await login(guarded)
    home = await guarded.get("/ui/")
    cross = await guarded.post(
        "/ui/logout",
        data={"csrf": csrf_of(home.text)},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and "origin" in cross.text.lower()


async def test_bad_forms_get_a_status_not_a_trace(guarded: httpx.AsyncClient) -> None:
    as_json = await guarded.post("/ui/login", json={"token": TOKEN})
    assert as_json.status_code == 415
    huge = await guarded.post(
        "/ui/login",
        content=b"a=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    not_utf8 = await guarded.post(
        "/ui/login",
        content=b"token=\xff",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400


async def test_open_dashboard_says_so(opened: httpx.AsyncClient) -> None:
    home = await opened.get("/ui/")
    assert home.status_code == 200 and "Open dashboard" in home.text
    assert "Log out" not in home.text
    assert (await opened.get("/ui/login")).status_code == 303
    # Open, but a form still needs its token.
    assert (await opened.post("/ui/logout", data={"csrf": "x"})).status_code == 403


async def test_htmx_is_served_from_the_package(opened: httpx.AsyncClient) -> None:
    home = await opened.get("/ui/")
    assert '<script src="/ui/static/htmx-2.0.11.min.js"' in home.text
    assert "script-src 'self'" in home.headers["content-security-policy"]
    script = await opened.get("/ui/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and b"htmx" in script.content[:200]

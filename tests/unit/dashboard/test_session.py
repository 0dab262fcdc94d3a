"""Session cookies and CSRF tokens: signed, expiring, bound to one nonce and one token."""

from __future__ import annotations

from hookyard.dashboard.auth import safe_next
from hookyard.dashboard.session import MAX_AGE_SECONDS, SessionKeys

NOW = 1_800_000_000


def test_a_cookie_reads_back_as_its_session() -> None:
    keys = SessionKeys("a-long-admin-token")
    session, cookie = keys.new(NOW, authenticated=True)
    assert keys.read(cookie, NOW + 5) == session
    assert session.authenticated


def test_a_changed_cookie_is_refused() -> None:
    keys = SessionKeys("a-long-admin-token")
    _, cookie = keys.new(NOW, authenticated=False)
    issued, nonce, auth, mac = cookie.split(".")
    assert keys.read(f"{issued}.{nonce}.1.{mac}", NOW) is None  # promoting itself
    assert keys.read(f"{int(issued) + 1}.{nonce}.{auth}.{mac}", NOW) is None
    assert keys.read(cookie + "x", NOW) is None
    for junk in ("", "a.b.c", "é.b.c.d", "1.2.3.4.5", "x" * 500):
        assert keys.read(junk, NOW) is None


def test_a_cookie_expires_and_dies_with_its_token() -> None:
    keys = SessionKeys("a-long-admin-token")
    _, cookie = keys.new(NOW, authenticated=True)
    assert keys.read(cookie, NOW + MAX_AGE_SECONDS) is not None
    assert keys.read(cookie, NOW + MAX_AGE_SECONDS + 1) is None
    assert SessionKeys("another-admin-token").read(cookie, NOW) is None


def test_csrf_token_belongs_to_one_session() -> None:
    keys = SessionKeys("a-long-admin-token")
    one, _ = keys.new(NOW, authenticated=True)
    two, _ = keys.new(NOW, authenticated=True)
    assert keys.csrf_matches(one, keys.csrf(one))
    assert not keys.csrf_matches(one, keys.csrf(two))
    assert not keys.csrf_matches(one, None)
    assert not keys.csrf_matches(one, "")
    assert not keys.csrf_matches(one, "é")


def test_open_keys_take_any_token_and_sign_per_process() -> None:
    keys = SessionKeys(None)
    assert keys.open and keys.token_matches("anything")
    _, cookie = keys.new(NOW, authenticated=True)
    assert SessionKeys(None).read(cookie, NOW) is None


def test_token_comparison() -> None:
    keys = SessionKeys("a-long-admin-token")
    assert keys.token_matches("a-long-admin-token")
    assert not keys.token_matches("a-long-admin-toke")
    assert not keys.token_matches("\udcff")


def test_after_login_only_dashboard_paths() -> None:
    assert safe_next("/ui/events?source=a") == "/ui/events?source=a"
    for elsewhere in (
        None,
        "",
        "https://evil.example/",
        "//evil.example",
        "/api/events",
        "/ui\\x",
        "/ui/\n",
    ):
        assert safe_next(elsewhere) == "/ui/"


def test_named_operate_tokens_sign_in_and_close_the_dashboard() -> None:
    from hookyard.dashboard.session import SessionKeys

    keys = SessionKeys(None, more_tokens=["alice-token", "bob-token"])
    assert not keys.open
    assert keys.token_matches("alice-token") and keys.token_matches("bob-token")
    assert not keys.token_matches("mallory") and not keys.token_matches("")
    other = SessionKeys(None, more_tokens=["alice-token"])
    _, cookie = keys.new(1_000, authenticated=True)
    assert keys.read(cookie, 1_001) is not None
    assert other.read(cookie, 1_001) is None  # a changed token list ends the sessions

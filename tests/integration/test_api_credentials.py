"""Every admin API answer masks credentials: headers, response headers, query parameters.

A real store (every backend) behind the real admin app; each credential carries a
``SEKRET`` marker, so one search of every answer's text proves none leaves in clear.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.config import settings_from_mapping
from hookyard.models import AttemptRecord, HeaderList
from hookyard.store.base import Store
from support.factories import submission

MARK = "SEKRET"
CREDENTIAL_HEADERS: HeaderList = (
    (b"Authorization", f"Bearer {MARK}-authorization".encode()),
    (b"Cookie", f"session={MARK}-cookie; theme=dark".encode()),
    (b"X-Api-Key", f"{MARK}-x-api-key".encode()),
    (b"X-Auth-Token", f"{MARK}-x-auth-token".encode()),
    (b"Proxy-Authorization", f"Basic {MARK}-proxy".encode()),
)
PLAIN_HEADERS: HeaderList = (
    (b"Content-Type", b"application/json"),
    (b"X-Twilio-Signature", b"not-a-credential"),
)
CREDENTIAL_PARAMS = ("api_key", "token", "access_token", "key", "client_secret")
QUERY = "&".join(f"{name}={MARK}-{name}" for name in CREDENTIAL_PARAMS) + "&page=2"
RESPONSE_HEADERS = (("Set-Cookie", f"sid={MARK}-set-cookie; Path=/"), ("X-Trace", "t-1"))
CONFIG = {"sources": {"demo": {"scheme": "twilio", "secrets": ["twilio-auth-token-0123456789"]}}}


async def stored_event(store: Store, *, authorization: bytes, dead: bool = False) -> str:
    headers = tuple(
        (n, authorization) if n == b"Authorization" else (n, v) for n, v in CREDENTIAL_HEADERS
    )
    sub = submission(headers=(*headers, *PLAIN_HEADERS), destinations=("app",))
    sub = dataclasses.replace(
        sub, request=dataclasses.replace(sub.request, query_string=QUERY.encode())
    )
    event_id = (await store.submit(sub)).id
    now = time.time_ns() // 1000
    (claimed,) = await store.claim_due(
        "w", now_us=now, lease_us=60_000_000, limit=1, destinations=("app",)
    )
    attempt = AttemptRecord(
        claimed.dispatch_id, 1, now, 1.0, 500, RESPONSE_HEADERS, b"", None, None, "dead", None
    )
    assert await store.record_attempt("w", attempt, status="dead" if dead else "retrying")
    return event_id


@pytest.fixture
async def api(store: Store) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    first = await stored_event(store, authorization=f"Bearer {MARK}-aaaa".encode(), dead=True)
    second = await stored_event(store, authorization=f"Bearer {MARK}-bbbb".encode())
    sources = settings_from_mapping(CONFIG).sources
    app = create_admin_app(store, admin_token=None, sources=sources)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, first, second


async def get(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert MARK not in response.text, f"{path} leaks a credential:\n{response.text}"
    return response.json()


async def test_event_detail_masks_every_credential_header_and_keeps_the_others(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, _ = api
    data = await get(client, f"/api/events/{first}")
    shown = dict(map(tuple, data["headers"]))
    assert shown["Authorization"] == "Bearer **** (11 chars)"
    assert shown["Cookie"] == "session=****; theme=**** (33 chars)"
    assert shown["X-Api-Key"] == "**** (16 chars)"
    assert shown["X-Auth-Token"] == "**** (19 chars)"
    assert shown["Proxy-Authorization"] == "Basic **** (12 chars)"
    assert shown["Content-Type"] == "application/json"
    assert shown["X-Twilio-Signature"] == "not-a-credential"


async def test_event_detail_masks_credential_query_parameters_in_order(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, _ = api
    data = await get(client, f"/api/events/{first}")
    masked = "&".join(f"{name}=****" for name in CREDENTIAL_PARAMS)
    assert data["query_string"] == f"{masked}&page=2"


async def test_attempt_response_headers_are_masked_in_detail_and_dlq(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, _ = api
    detail = await get(client, f"/api/events/{first}")
    dlq = await get(client, "/api/dlq")
    for dispatch in (detail["dispatches"][0], dlq["dispatches"][0]):
        (attempt,) = dispatch["attempt_log"]
        assert attempt["response_headers"] == [
            ["Set-Cookie", "sid=****; Path=/ (29 chars)"],
            ["X-Trace", "t-1"],
        ]


async def test_diff_masks_credentials_but_still_says_one_changed(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, second = api
    data = await get(client, f"/api/diff?a={first}&b={second}")
    (change,) = data["headers"]
    assert change["name"] == "authorization"
    assert change["kind"] == "changed" and change["masked"] is True
    assert change["old"] == change["new"] == ["Bearer **** (11 chars)"]


async def test_signature_explain_masks_the_rebuilt_url_query(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, _ = api
    data = await get(client, f"/api/events/{first}/signature")
    assert data["url"].endswith(
        "/in/demo?api_key=****&token=****&access_token=****&key=****&client_secret=****&page=2"
    )


async def test_no_api_answer_holds_a_credential_but_the_body_stays_exact(
    api: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, first, second = api
    for path in (
        "/api/events",
        f"/api/events/{first}",
        f"/api/events/{second}",
        "/api/dlq",
        f"/api/diff?a={first}&b={second}",
        f"/api/events/{first}/signature",
    ):
        await get(client, path)
    body = await client.get(f"/api/events/{first}/body")
    assert body.content == b'{"type": "thing.happened"}'

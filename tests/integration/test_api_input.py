"""Hostile input to every ``/api`` route, on SQLite and PostgreSQL: a 400 (or a 404 for an
id that cannot exist) with ``{"error", "detail"}``, never a 5xx.

The API app is the real one over a real store with one stored event and a destination; the
requests go in-process through ``httpx.ASGITransport``. A property-based test feeds
arbitrary text to every parameter of every route and requires an answer below 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookyard.api.app import create_admin_app
from hookyard.delivery.destinations import parse_destinations
from hookyard.filtering import FILTER_NAMES
from hookyard.replay.batches import ReplayManager
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission

HOSTILE = (
    "9" * 5000,
    "99999999999w",
    "99999999999d",
    "1e308",
    "-1",
    "inf",
    "nan",
    "²",
    "²h",
    "٣",
    "٣h",
    "\x00",
    "order\x00.*",
    "x" * 20_000,
    "0",
    str(10**100),
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "\udcff",
    "%",
)
#: The listings and their parameters (the filter language and the dead-letter filter).
LISTINGS = {
    "/api/events": FILTER_NAMES,
    "/api/dlq": ("destination", "since", "until", "limit", "cursor"),
    "/api/diff": ("a", "b"),
}
ID_ROUTES = (
    "/api/events/{}",
    "/api/events/{}/body",
    "/api/events/{}/signature",
    "/api/replays/{}",
)
HOSTILE_IDS = ("\x00", "a\x00b", "x" * 20_000, "²", "٣", "\udcff", "..", "%2F")


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    store: Store = open_store(database_url)
    await store.start()
    written = await store.submit(submission(b'{"type": "order.created"}'))
    dests = parse_destinations({"app": {"url": "http://127.0.0.1:9/app"}})
    manager = ReplayManager(store, dests)
    app = create_admin_app(store, admin_token=None, replays=manager)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, written.id
    await manager.stop()
    await store.close()


def assert_refused(response: httpx.Response, *allowed: int) -> None:
    assert response.status_code in (allowed or (400,)), (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert isinstance(body["detail"], str) and body["detail"]


def query(name: str, value: str) -> str:
    return f"{name}={quote(value, safe='', errors='surrogatepass')}"


async def test_hostile_filter_values_are_a_400_never_a_500(
    api: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = api
    failures = []
    for route, names in LISTINGS.items():
        for name in names:
            for value in HOSTILE:
                response = await client.get(f"{route}?{query(name, value)}")
                if response.status_code >= 500:
                    failures.append((route, name, value[:20], response.status_code))
    assert not failures, failures


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "9" * 5000),
        ("since", "99999999999w"),
        ("until", "1e308"),
        ("since", "²"),
        ("until", "٣h"),
        ("since", "0001-01-01T00:00:00+14:00"),
        ("limit", "0"),
        ("limit", str(10**100)),
        ("limit", "9" * 5000),
        ("source", "a\x00b"),
        ("type", "order\x00.*"),
        ("destination", "\x00"),
        ("cursor", "\x00"),
    ],
)
async def test_a_hostile_filter_is_a_400_naming_it(
    api: tuple[httpx.AsyncClient, str], name: str, value: str
) -> None:
    client, _ = api
    routes = ["/api/events"] + (["/api/dlq"] if name in LISTINGS["/api/dlq"] else [])
    for route in routes:
        response = await client.get(f"{route}?{query(name, value)}")
        assert_refused(response)
        assert response.json()["detail"].startswith(f"{name}: "), response.text


async def test_cursor_garbage_is_harmless(api: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = api
    for cursor in ("garbage", "x" * 500, "' OR 1=1 --", "٣٣٣"):
        for route in ("/api/events", "/api/dlq"):
            response = await client.get(f"{route}?{query('cursor', cursor)}")
            assert response.status_code in (200, 400), response.text


async def test_hostile_ids_are_a_404_or_400(api: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = api
    for route in ID_ROUTES:
        for value in HOSTILE_IDS:
            path = route.format(quote(value, safe="", errors="surrogatepass"))
            assert_refused(await client.get(path), 400, 404)
    for a, b in (("\x00", "x"), ("x", "a\x00b"), ("x" * 20_000, "y")):
        assert_refused(await client.get(f"/api/diff?{query('a', a)}&{query('b', b)}"), 400, 404)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


REPLAY_BODIES: tuple[bytes, ...] = (
    b"",
    b"not json",
    b"\xff\xfe",
    b"null",
    b"[]",
    b'"ids"',
    deep(100_000),
    b'{"filter": ' + deep(100_000) + b', "to": "app"}',
    b'{"ids": ["x"], "to": "app", "rate": 1e999}',
    b'{"ids": ["x"], "to": "app", "rate": NaN}',
    b'{"ids": ["x"], "to": "app", "rate": Infinity}',
    b'{"ids": ["x"], "to": "app", "rate": ' + b"9" * 400 + b"}",
    b'{"ids": ["x"], "to": "app", "rate": ' + b"9" * 5000 + b"}",
    b'{"ids": ["x"], "to": "app", "concurrency": ' + b"9" * 400 + b"}",
    b'{"ids": ["x"], "to": "app", "concurrency": 1.5}',
    b'{"ids": "x", "to": "app"}',
    b'{"ids": [1], "to": "app"}',
    b'{"ids": ["a\\u0000b"], "to": "app"}',
    b'{"ids": ["\\udcff"], "to": "app"}',
    b'{"ids": ["x"], "to": 5}',
    b'{"ids": ["x"], "to": "a\\u0000"}',
    b'{"ids": ["x"], "url": "http://h\\u0000/"}',
    b'{"ids": ["x"], "url": "http://[::1"}',
    b'{"ids": ["x"], "url": "http://h:99999/"}',
    b'{"filter": {"since": "99999999999w"}, "to": "app"}',
    b'{"filter": {"since": 1e308}, "to": "app"}',
    b'{"filter": {"since": "\\u00b2"}, "to": "app"}',
    b'{"filter": {"source": "a\\u0000"}, "to": "app"}',
    b'{"filter": {"type": "\\u0000"}, "to": "app"}',
    b'{"filter": {"status": "dead", "limit": "' + str(10**100).encode() + b'"}, "to": "app"}',
    b'{"filter": {"status": "dead", "limit": ' + str(10**100).encode() + b'}, "to": "app"}',
    b'{"filter": {"status": "dead", "limit": 0}, "to": "app"}',
    b'{"filter": {"status": "dead", "limit": 1e300}, "to": "app"}',
    b'{"filter": {"status": ["dead"]}, "to": "app"}',
    b'{"filter": [], "to": "app"}',
)


@pytest.mark.parametrize("body", REPLAY_BODIES, ids=lambda b: repr(b[:40]))
async def test_hostile_replay_bodies_are_a_400(
    api: tuple[httpx.AsyncClient, str], body: bytes
) -> None:
    client, _ = api
    response = await client.post(
        "/api/replays", content=body, headers={"content-type": "application/json"}
    )
    assert_refused(response)


async def test_a_valid_replay_dry_run_still_works(api: tuple[httpx.AsyncClient, str]) -> None:
    client, event_id = api
    response = await client.post(
        "/api/replays", json={"ids": [event_id], "to": "app", "dry_run": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 1


# -- property-based: arbitrary text for every parameter of every route ------------------------

TEXT = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(list("0123456789.:-+TZsmhdw*?%\x00²٣")),
    max_size=40,
)
LISTING_QUERIES = st.sampled_from(sorted(LISTINGS)).flatmap(
    lambda route: st.tuples(
        st.just(route),
        st.dictionaries(st.sampled_from(LISTINGS[route]), TEXT, max_size=len(LISTINGS[route])),
    )
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
REPLAY_FIELDS = ("ids", "filter", "to", "url", "rate", "concurrency", "force", "dry_run")
REPLAY_PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "ids": st.lists(TEXT, max_size=3) | JSON_VALUES,
        "filter": st.dictionaries(st.sampled_from(FILTER_NAMES), TEXT | JSON_VALUES, max_size=4),
        "to": st.sampled_from(["app", "nope"]) | JSON_VALUES,
        "url": TEXT,
        "rate": JSON_VALUES,
        "concurrency": JSON_VALUES,
        "dry_run": st.just(True),
    },
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(case=LISTING_QUERIES)
async def test_fuzz_listings_never_answer_5xx(
    api: tuple[httpx.AsyncClient, str], case: tuple[str, dict[str, str]]
) -> None:
    client, _ = api
    route, params = case
    encoded = "&".join(query(name, value) for name, value in params.items())
    response = await client.get(f"{route}?{encoded}")
    assert response.status_code < 500, (route, params, response.text)
    if response.status_code == 400:
        assert set(response.json()) == {"error", "detail"}


@FUZZ
@given(route=st.sampled_from(ID_ROUTES), value=TEXT.filter(bool))
async def test_fuzz_ids_never_answer_5xx(
    api: tuple[httpx.AsyncClient, str], route: str, value: str
) -> None:
    client, _ = api
    response = await client.get(route.format(quote(value, safe="")))
    assert response.status_code < 500, (route, value, response.text)


@FUZZ
@given(payload=REPLAY_PAYLOADS)
async def test_fuzz_replay_bodies_never_answer_5xx(
    api: tuple[httpx.AsyncClient, str], payload: dict[str, object]
) -> None:
    client, _ = api
    payload["dry_run"] = True  # a fuzzed replay must never send anything
    body = json.dumps(payload, allow_nan=True).encode()
    response = await client.post(
        "/api/replays", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, (payload, response.text)

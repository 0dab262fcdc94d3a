"""``/api/listeners``: sessions, results recorded as local replays with the cursor, and a
deliberate 400 or 404 for every bad input (issue 19)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hookyard.api.app import create_admin_app
from hookyard.clock import now_us
from hookyard.store.base import Store
from support.factories import submission


@pytest.fixture
async def api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def result(event_id: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "status": "failed",
        "started_us": now_us(),
        "latency_ms": 2.5,
        "status_code": 500,
        "response_headers": [["content-type", "text/plain"]],
        "response_excerpt": base64.b64encode(b"boom").decode(),
        "error_class": None,
        "error_message": None,
        "decision": "failed: HTTP 500 (local, not retried)",
        **(changes or {}),
    }


async def test_a_session_records_results_and_moves_the_cursor(
    store: Store, api: httpx.AsyncClient
) -> None:
    event = await store.submit(submission())
    name = "http://127.0.0.1:3000/hook"  # the default name: a URL, slashes and all
    path = "/api/listeners/" + name.replace("/", "%2F")
    started = await api.post(path, json={"forward_to": name, "filter": {"source": "demo"}})
    assert started.status_code == 201, started.text
    session = started.json()
    assert session["cursor"] is None
    answer = await api.post(
        path + "/results",
        json={"batch_id": session["batch_id"], "cursor": event.id, "results": [result(event.id)]},
    )
    assert answer.json() == {"recorded": 1, "cursor": event.id}
    assert (await api.get(path)).json() == {"name": name, "cursor": event.id}
    [local] = (await api.get(f"/api/events/{event.id}")).json()["dispatches"]
    assert local["destination"] == f"local:{name}" and local["replay_of"] == event.id
    assert local["attempt_log"][0]["response_excerpt"] == "boom"
    again = await api.post(path, json={})
    assert again.json()["cursor"] == event.id  # a restarted listener starts after it
    finished = await api.post(path + "/finish", json={"batch_id": session["batch_id"]})
    assert finished.json()["status"] == "done"
    batch = (await api.get(f"/api/replays/{session['batch_id']}")).json()
    assert batch["status"] == "done" and batch["failed"] == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"status": "maybe"}, "status: must be one of"),
        ({"event_id": "not-an-id"}, "event_id: must be an event id"),
        ({"started_us": "soon"}, "started_us: must be a whole number"),
        ({"latency_ms": -1}, "latency_ms:"),
        ({"response_headers": [["a"]]}, "response_headers:"),
        ({"response_excerpt": "%%%"}, "response_excerpt: must be base64"),
        ({"error_message": "nul\x00byte"}, "error_message:"),
        ({"event_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "no event with id"),
    ],
)
async def test_bad_results_are_400(
    store: Store, api: httpx.AsyncClient, change: dict[str, Any], problem: str
) -> None:
    event = await store.submit(submission())
    session = (await api.post("/api/listeners/dev", json={})).json()
    answer = await api.post(
        "/api/listeners/dev/results",
        json={"batch_id": session["batch_id"], "results": [result(event.id, change)]},
    )
    assert answer.status_code == 400 and problem in answer.json()["detail"], answer.text
    assert await store.listener_cursor("dev") is None


async def test_bad_sessions_and_bodies(api: httpx.AsyncClient) -> None:
    session = (await api.post("/api/listeners/dev", json={})).json()
    other = await api.post(
        "/api/listeners/someone-else/results", json={"batch_id": session["batch_id"], "results": []}
    )
    assert other.status_code == 404
    for body, status in (
        (b"[]", 400),
        (b"{", 400),
        (b'{"batch_id": 3, "results": []}', 400),
        (b'{"batch_id": "%s", "results": {}}' % session["batch_id"].encode(), 400),
        (b'{"batch_id": "%s", "results": [], "cursor": "x"}' % session["batch_id"].encode(), 400),
    ):
        answer = await api.post(
            "/api/listeners/dev/results",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == status, (body, answer.text)
    assert (await api.post("/api/listeners/dev", json={"filter": {"a": 1}})).status_code == 400
    assert (await api.post("/api/listeners/dev", json={"forward_to": 5})).status_code == 400
    assert (await api.post("/api/listeners/" + "x" * 300, json={})).status_code == 400

"""The operator routes of the admin API on every backend: named tokens and their roles,
destination controls, the audit trail (the real admin app over a real store)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from hookyard.admin_tokens import AdminToken
from hookyard.api.app import create_admin_app
from hookyard.store.base import Store
from support.factories import submission

TOKENS = (AdminToken("ci", "read-t0ken", "read"), AdminToken("ops", "op-t0ken", "operate"))
READ = {"authorization": "Bearer read-t0ken", "content-type": "application/json"}
OPERATE = {"authorization": "Bearer op-t0ken", "content-type": "application/json"}


@pytest.fixture
async def api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    app = create_admin_app(store, admin_token=None, admin_tokens=TOKENS, destinations=["app"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_a_read_token_reads_but_changes_nothing(api: httpx.AsyncClient, store: Store) -> None:
    await store.submit(submission(destinations=("app",)))
    listed = await api.get("/api/destinations", headers=READ)
    assert listed.status_code == 200
    [view] = listed.json()["destinations"]
    assert (view["name"], view["state"], view["backlog"]) == ("app", "active", 1)
    for path in ("/api/destinations/app/pause", "/api/replays"):
        refused = await api.post(path, headers=READ, json={})
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "forbidden",
            "detail": "token 'ci' has role read; this request changes state",
        }
    assert (await store.destination_states()) == {}
    assert await store.list_audit() == []


async def test_an_operate_token_pauses_and_is_named_in_the_audit_trail(
    api: httpx.AsyncClient, store: Store
) -> None:
    await store.submit(submission(destinations=("app",)))
    paused = await api.post("/api/destinations/app/pause", headers=OPERATE)
    assert paused.status_code == 200
    assert paused.json() == {"name": "app", "before": "active", "state": "paused", "moved": 1}
    [view] = (await api.get("/api/destinations", headers=READ)).json()["destinations"]
    assert (view["state"], view["reason"], view["backlog_by_status"]) == (
        "paused",
        "paused by ops",
        {"paused": 1},
    )
    trail = (await api.get("/api/audit", headers=READ)).json()
    [entry] = trail["entries"]
    assert (entry["actor"], entry["action"], entry["target"], entry["count"]) == (
        "ops",
        "destination.pause",
        "app",
        1,
    )
    assert entry["detail"] == {"before": "active", "after": "paused"} and entry["at"]
    assert trail["next_cursor"] is None
    resumed = await api.post("/api/destinations/app/resume", headers=OPERATE)
    assert resumed.json()["moved"] == 1
    page = (await api.get("/api/audit?limit=1", headers=READ)).json()
    assert [e["action"] for e in page["entries"]] == ["destination.resume"]
    rest = (await api.get(f"/api/audit?cursor={page['next_cursor']}", headers=READ)).json()
    assert [e["action"] for e in rest["entries"]] == ["destination.pause"]
    only = (await api.get("/api/audit?action=destination.pause", headers=READ)).json()
    assert [e["action"] for e in only["entries"]] == ["destination.pause"]


async def test_no_token_or_a_wrong_one_is_401_and_bad_queries_are_400(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/api/audit")).status_code == 401
    wrong = {"authorization": "Bearer op-t0kem", "content-type": "application/json"}
    assert (await api.post("/api/destinations/app/pause", headers=wrong)).status_code == 401
    for query in ("limit=0", "limit=x", "since=whenever"):
        answer = await api.get(f"/api/audit?{query}", headers=READ)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_query"
    missing = await api.post("/api/destinations/nope/pause", headers=OPERATE)
    assert missing.status_code == 404 and "no destination 'nope'" in missing.json()["detail"]


async def test_without_tokens_the_actor_is_the_open_api(store: Store) -> None:
    app = create_admin_app(store, admin_token=None, destinations=["app"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post(
            "/api/destinations/app/pause", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 200
    [entry] = await store.list_audit()
    assert entry.actor == "api"


async def test_the_legacy_admin_token_operates_as_admin(store: Store) -> None:
    app = create_admin_app(store, admin_token="legacy-t0ken", destinations=["app"])
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": "Bearer legacy-t0ken", "content-type": "application/json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (
            await client.post("/api/destinations/app/pause", headers=headers)
        ).status_code == 200
    [entry] = await store.list_audit()
    assert entry.actor == "admin"


async def test_replay_batches_are_listed_newest_first(api: httpx.AsyncClient, store: Store) -> None:
    from hookyard.models import ReplayBatch

    for n in range(2):
        batch = ReplayBatch(f"01B{n}", 1_000 + n, {"ids": []}, "app", 0, "done")
        await store.create_replay_batch(batch)
    page = (await api.get("/api/replays?limit=1", headers=READ)).json()
    assert [b["id"] for b in page["batches"]] == ["01B1"] and page["next_cursor"] == "01B1"
    rest = (await api.get("/api/replays?cursor=01B1", headers=READ)).json()
    assert [b["id"] for b in rest["batches"]] == ["01B0"] and rest["next_cursor"] is None
    assert (await api.get("/api/replays?limit=-1", headers=READ)).status_code == 400

"""``GET /api/mirrors`` and ``/api/mirrors/{name}/report`` in process: answers and 4xx."""

from __future__ import annotations

import httpx

from hookyard.api.app import create_admin_app
from hookyard.config import settings_from_mapping
from hookyard.mirror.records import MirrorCopyRecord
from hookyard.store.base import Store

DATA = {
    "sources": {"shop": {}},
    "mirrors": {"staging": {"sources": ["shop"], "url": "https://staging.example/hooks"}},
}


def client(store: Store) -> httpx.AsyncClient:
    mirrors = settings_from_mapping(DATA, "cfg.toml").mirrors
    app = create_admin_app(store, admin_token=None, mirrors=mirrors)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_mirrors_and_their_report(store: Store) -> None:
    row = MirrorCopyRecord("staging", "01A", "shop", "a", 10**15 * 2, 1, status_code=500)
    await store.record_mirror_copies("staging", [row], cursor=None, now_us=10**15 * 2)
    async with client(store) as api:
        listed = (await api.get("/api/mirrors")).json()["mirrors"]
        assert [m["name"] for m in listed] == ["staging"] and listed[0]["lane"]["counts"] == {
            "5xx": 1
        }
        report = await api.get("/api/mirrors/staging/report", params={"since": "2033-05-18"})
        assert report.status_code == 200
        assert (report.json()["compared"], report.json()["discrepancies"]) == (1, 1)


async def test_bad_report_queries_are_4xx(store: Store) -> None:
    async with client(store) as api:
        assert (await api.get("/api/mirrors/nope/report")).status_code == 404
        since = await api.get("/api/mirrors/staging/report", params={"since": "soon"})
        assert since.status_code == 400 and since.json()["detail"].startswith("since: ")
        diff = await api.get("/api/mirrors/staging/report", params={"diff": "maybe"})
        assert diff.status_code == 400 and diff.json()["detail"] == "diff: must be true or false"

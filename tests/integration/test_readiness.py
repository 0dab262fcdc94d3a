"""``/readyz`` against real stores: a database cut away, a writer held by a lock."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from hookyard.app import create_app
from hookyard.config import settings_from_mapping
from hookyard.exceptions import StoreError
from hookyard.health import check_readiness
from hookyard.store import open_store
from support.factories import submission
from support.netguard import LOOPBACK_NETWORKS
from support.sink import ScriptedServer
from support.tcpproxy import proxied_url
from support.waiting import eventually_async


@pytest.mark.postgres
async def test_readyz_says_not_ready_while_postgres_is_away_and_ready_after(
    pg_url: str, sink: ScriptedServer
) -> None:
    with proxied_url(pg_url) as (url, proxy):
        settings = settings_from_mapping(
            {
                "server": {"database": url, "allow_networks": list(LOOPBACK_NETWORKS)},
                "sources": {"demo": {"scheme": "none"}},
                "destinations": {"app": {"url": sink.url(), "sources": ["demo"]}},
            }
        )
        app = create_app(settings)
        await app.startup()
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
                ready = await api.get("/readyz")
                assert ready.status_code == 200, ready.text
                names = {loop["name"] for loop in ready.json()["checks"]["loops"]["loops"]}
                assert {"claim-loop", "dispatch-listener-0"} <= names

                proxy.cut()

                async def not_ready() -> httpx.Response | None:
                    answer = await api.get("/readyz")
                    return answer if answer.status_code == 503 else None

                answer = await eventually_async(not_ready, message="still ready while cut")
                checks = answer.json()["checks"]
                assert answer.json()["status"] == "not ready"
                assert checks["database"]["ok"] is False
                assert (await api.get("/healthz")).status_code == 200  # the process is up

                proxy.restore()

                async def ready_again() -> bool:
                    return (await api.get("/readyz")).status_code == 200

                await eventually_async(ready_again, message="not ready after the blip")
        finally:
            proxy.restore()
            await app.shutdown()


async def test_a_writer_held_by_a_lock_is_reported_stalled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hookyard.db'}"
    store = open_store(url)
    await store.start()
    holder = sqlite3.connect(tmp_path / "hookyard.db", isolation_level=None)
    try:
        assert (await check_readiness(store, stall_limit=0.3)).ready
        holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
        waiting = asyncio.ensure_future(store.submit(submission()))
        await asyncio.sleep(0.5)
        readiness = await check_readiness(store, stall_limit=0.3)
        assert not readiness.ready
        assert readiness.checks["writer"]["ok"] is False
        assert readiness.checks["writer"]["stalled_seconds"] >= 0.3
        holder.execute("ROLLBACK")
        written = await asyncio.wait_for(waiting, timeout=10)
        assert written.id
        assert (await check_readiness(store, stall_limit=0.3)).ready
    finally:
        holder.close()
        await store.close()


async def test_readiness_reports_a_store_that_is_not_started(tmp_path: Path) -> None:
    store = open_store(f"memory://{tmp_path.name}")
    readiness = await check_readiness(store)
    assert not readiness.ready
    assert "not started" in readiness.checks["database"]["error"]
    with pytest.raises(StoreError):
        await store.ping()

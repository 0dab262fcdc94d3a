"""Dashboard benchmark: server time of every page at 1,000,000 stored events.

Usage: ./run bench dashboard [--rows 1000000] [--repeat 20] [--no-postgres] [--no-sqlite]

The data is the query benchmark's (``bench/query``: 30 days of a busy gateway, 6 sources,
~50 types, 1-3 dispatches per event, an incident in the last 40 minutes), bulk-loaded the
same way, plus the last attempt of every attempted dispatch. Each page is then requested
through the real admin app (``create_admin_app`` over ``open_store(url)``), in-process
with ``httpx.ASGITransport``, so the time is the server's: routing, the gate, the store
queries and the template, without a network. Each page runs ``--repeat`` times after one
warm-up; the table shows p50 and p95 per backend against the target (<= 100 ms, issue
18). The baseline in the same run is ``/healthz``
through the same app and client: what any request costs before a page does its work.
PostgreSQL is vacuumed after the load, as autovacuum does after a bulk insert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from common import percentile, pg_database, pg_reachable
from query.run import Dataset, load_postgres, load_sqlite

from hookyard.api.app import create_admin_app
from hookyard.clock import now_us
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.replay.batches import ReplayManager
from hookyard.store import open_store

PG_DATABASE = "hookyard_bench_dashboard"
TARGET_MS = 100.0


def pages(dataset: Dataset) -> list[tuple[str, str]]:
    """(label, path) of every page, with ids from the loaded data."""
    newest, older = dataset.sample_ids[-1], dataset.sample_ids[len(dataset.sample_ids) // 2]
    replay = "target=url&url=http://127.0.0.1:9/hooks&preview=1"
    return [
        ("baseline /healthz", "/healthz"),
        ("overview", "/ui/"),
        ("events", "/ui/events"),
        ("events page 2", f"/ui/events?cursor={older}"),
        ("events type glob", "/ui/events?type=order.*"),
        ("events source+status", "/ui/events?source=stripe&status=dead"),
        ("events 5xx last hour", "/ui/events?response_status=5xx&since=1h"),
        ("events destination", "/ui/events?destination=billing&status=retrying"),
        ("events live rows", "/ui/events/rows?type=invoice.*"),
        ("event", f"/ui/events/{newest}"),
        ("event raw body", f"/ui/events/{newest}/raw"),
        ("diff", f"/ui/diff?a={older}&b={newest}"),
        ("dead letters", "/ui/dead-letters"),
        ("dead letters billing", "/ui/dead-letters?destination=billing"),
        ("replay preview (1 id)", f"/ui/replay?ids={newest}&{replay}"),
        ("replay preview (filter)", f"/ui/replay?status=dead&since=1h&{replay}"),
        ("mirrors", "/ui/mirrors"),
        ("destinations", "/ui/destinations"),
        ("replay batches", "/ui/replays"),
    ]


async def time_pages(url: str, dataset: Dataset, repeat: int) -> dict[str, tuple[float, float]]:
    store = open_store(url)
    await store.start()
    replays = ReplayManager(store, {}, NetPolicy.allowing("127.0.0.1/32"))
    app = create_admin_app(store, admin_token=None, replays=replays)
    results: dict[str, tuple[float, float]] = {}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for label, path in pages(dataset):
                first = await client.get(path)  # warm-up, and the session cookie
                if first.status_code != 200:
                    raise SystemExit(f"{label}: {path} answered {first.status_code}")
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    response = await client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                times.sort()
                results[label] = (percentile(times, 50), percentile(times, 95))
    finally:
        await replays.stop()
        await store.close()
    return results


def report(rows: int, backends: dict[str, dict[str, tuple[float, float]]]) -> None:
    names = list(backends)
    labels = list(next(iter(backends.values())))
    header = f"{'page':26}" + "".join(f"{n + ' p50':>14}{n + ' p95':>14}" for n in names)
    print(f"\ndashboard pages at {rows:,} events (ms, in-process; target p95 <= {TARGET_MS:g})")
    print(header)
    print("-" * len(header))
    for label in labels:
        line = f"{label:26}"
        for name in names:
            p50, p95 = backends[name][label]
            mark = "" if p95 <= TARGET_MS or label.startswith("baseline") else " !"
            line += f"{p50:14.1f}{p95:12.1f}{mark:2}"
        print(line)


async def vacuum(url: str) -> None:
    """What autovacuum does soon after a bulk insert (PostgreSQL 13+ vacuums tables that
    only grew): the visibility map lets the Overview's counts stay in the indexes."""
    conn = await asyncpg.connect(url)
    try:
        for table in ("events", "event_status", "dispatches", "attempts"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()


#: The query bench's data has no attempt rows (its queries read the dispatches); the
#: Overview and Destinations pages count attempts of the last hour, so each attempted
#: dispatch gets its last attempt, at its last update, with its last status code.
ATTEMPTS_SQL = """
INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code,
                      response_headers, response_excerpt, error_class, error_message,
                      decision, next_attempt_us)
SELECT id, attempts, updated_us, 12.5, last_status_code, '[]', {empty}, NULL, NULL, status,
       next_attempt_us
FROM dispatches WHERE attempts > 0
"""


def add_attempts_sqlite(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(ATTEMPTS_SQL.format(empty="x''")).rowcount


async def add_attempts_postgres(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        status = await conn.execute(ATTEMPTS_SQL.format(empty="''::bytea"))
        return int(status.split()[-1])
    finally:
        await conn.close()


def loaded(what: str, seconds: float) -> None:
    print(f"\n{what} loaded in {seconds:.0f} s", file=sys.stderr)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    backends: dict[str, dict[str, tuple[float, float]]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="hookyard-bench-dashboard-"))
    try:
        if not args.no_sqlite:
            dataset = Dataset(args.rows, now_us())
            path = workdir / "hookyard.db"
            seconds = load_sqlite(path, dataset, analyze=False)
            print(f"sqlite: {add_attempts_sqlite(path):,} attempts", file=sys.stderr)
            print(
                f"\nsqlite: loaded {dataset.event_count:,} events in {seconds:.0f} s",
                file=sys.stderr,
            )
            backends["sqlite"] = await time_pages(f"sqlite:///{path}", dataset, args.repeat)
        if not args.no_postgres and await asyncio.to_thread(pg_reachable):
            url = await pg_database(PG_DATABASE)
            try:
                dataset = Dataset(args.rows, now_us())
                seconds = await load_postgres(url, dataset)
                print(f"postgres: {await add_attempts_postgres(url):,} attempts", file=sys.stderr)
                await vacuum(url)
                print(
                    f"\npostgres: loaded {dataset.event_count:,} events in {seconds:.0f} s",
                    file=sys.stderr,
                )
                backends["postgres"] = await time_pages(url, dataset, args.repeat)
            finally:
                await pg_database(PG_DATABASE, drop=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if backends:
        report(args.rows, backends)


if __name__ == "__main__":
    asyncio.run(main())

"""Query benchmark: the event log's common filters over 1,000,000 stored events.

Usage: ./run bench query [--rows 1000000] [--repeat 20] [--budget 10] [--no-postgres]
           [--no-sqlite] [--analyze] [--keep DIR]

For each backend: the schema comes from hookyard's own migrations (``hookyard migrate
--db URL``); then ``--rows`` events and their dispatches are bulk-loaded straight into the
tables (SQLite: ``executemany`` in one transaction; PostgreSQL: ``COPY`` through asyncpg's
``copy_records_to_table``, into a throwaway database ``hookyard_bench_query`` dropped
afterwards). The data is reproducible (fixed seed) and shaped like a busy gateway's month:
6 sources of unequal volume, ~50 event types with a long tail (``order.created.v1`` is
the most common), a few percent rejected signatures, statuses from delivered to dead,
1-3 dispatches per accepted event to 4 destinations, ``last_status_code`` 2xx, 4xx and 5xx,
ids minted from the receipt time as hookyard mints them, bodies of 0.3-3 KB, and a
recent incident (the last 40 minutes, ``billing`` answering 503 to ~30% of deliveries).

Then every query goes through the real store API, as ``GET /api/events`` does:
``open_store(url)``, ``await store.start()``, ``await store.list_events(EventFilter(...))``,
a page of 50. Each query runs ``--repeat`` times (fewer if it exceeds ``--budget``
seconds) after one warm-up; the table shows p50 and p95 per backend against the target
(<= 50 ms at 1,000,000 events, issue 6). Filters on the dispatches (``response_status``,
``destination``) are measured when ``EventFilter`` has those fields. The product does not
run ``ANALYZE`` on SQLite, so neither does this script unless ``--analyze`` is given;
PostgreSQL is analysed after the load, as autovacuum would within a minute or so.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from common import pg_database

from hookyard.clock import now_us
from hookyard.ids import UlidFactory
from hookyard.models import EventFilter, encode_headers
from hookyard.store import open_store

PG_DATABASE = "hookyard_bench_query"
TARGET_MS = 50.0
PAGE = 50
SPAN_DAYS = 30
CHUNK = 50_000
SEED = 20_240_601

# -- the data ------------------------------------------------------------------------------

SOURCES = (  # name, share of traffic, scheme-ish verdict when valid
    ("stripe", 40, "valid"),
    ("github", 20, "valid"),
    ("shopify", 15, "valid"),
    ("slack", 10, "valid"),
    ("internal", 10, "unsigned"),
    ("legacy", 5, "valid"),
)
DESTINATIONS = ("billing", "warehouse", "analytics", "crm")
ENTITIES = (
    "order",
    "invoice",
    "customer",
    "payment_intent",
    "charge",
    "subscription",
    "refund",
    "shipment",
    "product",
    "cart",
)
ACTIONS = ("created", "updated", "paid", "failed", "deleted")
#: Event status → (share of accepted events, dispatch last status codes to draw from).
STATUSES = (
    ("delivered", 9500, (200, 200, 200, 200, 201, 202, 204)),
    ("retrying", 150, (500, 502, 503, 503, 504, 429, None)),
    ("dead", 100, (500, 500, 502, 503, 404, 400, 410)),
    ("pending", 100, (None,)),
    ("disabled", 50, (410, None)),
    ("stored", 100, ()),
)
INVALID_SHARE = 0.035
#: The last 40 minutes: billing answers 503 to ~30% of its deliveries (an incident to find).
INCIDENT_US = 40 * 60 * 1_000_000
INVALID_REASONS = ("signature mismatch", "timestamp outside tolerance", "no signature header")

EVENT_COLUMNS = (
    "id",
    "source",
    "received_us",
    "remote_addr",
    "method",
    "path",
    "query_string",
    "headers",
    "body",
    "body_sha256",
    "body_size",
    "content_type",
    "verdict",
    "verdict_reason",
    "verdict_detail",
    "secret_index",
    "provider_event_id",
    "event_type",
    "status",
    "duplicate_count",
    "last_duplicate_us",
)
DISPATCH_COLUMNS = (
    "id",
    "event_id",
    "destination",
    "status",
    "attempts",
    "next_attempt_us",
    "lease_owner",
    "lease_expires_us",
    "created_us",
    "updated_us",
    "replay_of",
    "batch_id",
    "last_status_code",
)


def event_types() -> list[tuple[str, float]]:
    """~50 types with Zipf-like weights; ``order.created.v1`` first and most common."""
    names = [f"{e}.{a}.v1" for e in ENTITIES for a in ACTIONS]
    names.remove("order.created.v1")
    rng = random.Random(SEED)
    rng.shuffle(names)
    names = ["order.created.v1", *names[:48], "order.created.v2"]
    return [(name, 1.0 / (rank + 1) ** 0.9) for rank, name in enumerate(names)]


@dataclass
class Bodies:
    """Pre-built request bodies (0.3-3 KB JSON) and header lists, reused across rows."""

    items: list[tuple[bytes, str, bytes]] = field(default_factory=list)  # body, sha, headers

    @classmethod
    def make(cls, rng: random.Random, count: int = 256) -> Bodies:
        bodies = cls()
        for k in range(count):
            size = int(rng.lognormvariate(7.0, 0.55))  # median ~1.1 KB
            size = max(300, min(3000, size))
            pad = base64.b64encode(rng.randbytes(size * 3 // 4)).decode()[: max(0, size - 120)]
            body = json.dumps({"object": "event", "n": k, "data": {"note": pad}}).encode()
            headers = encode_headers(
                (
                    (b"Host", b"hooks.example.com"),
                    (b"User-Agent", b"Provider-Webhooks/1.0"),
                    (b"Content-Type", b"application/json"),
                    (b"Content-Length", str(len(body)).encode()),
                    (b"Webhook-Signature", b"v1," + base64.b64encode(rng.randbytes(32))),
                )
            )
            bodies.items.append((body, hashlib.sha256(body).hexdigest(), headers))
        return bodies


@dataclass
class Dataset:
    rows: int
    now_us: int
    sample_ids: list[str] = field(default_factory=list)  # every 1000th id, oldest first
    event_count: int = 0
    dispatch_count: int = 0


def generate(
    rows: int, now_us: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (event rows, dispatch rows), oldest first, ids ascending."""
    rng = random.Random(SEED)
    bodies = Bodies.make(rng)
    types = event_types()
    type_names = [t for t, _ in types]
    type_cum = list(itertools.accumulate(w for _, w in types))
    source_cum = list(itertools.accumulate(s[1] for s in SOURCES))
    status_cum = list(itertools.accumulate(s[1] for s in STATUSES))
    span_us = SPAN_DAYS * 86_400 * 1_000_000
    # Arrival times: uniform over the span, newest a second ago, sorted (ids follow time).
    offsets = sorted(rng.random() for _ in range(rows))
    event_ids = UlidFactory()
    dispatch_ids = UlidFactory()
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        sources = rng.choices(SOURCES, cum_weights=source_cum, k=count)
        kinds = rng.choices(type_names, cum_weights=type_cum, k=count)
        statuses = rng.choices(STATUSES, cum_weights=status_cum, k=count)
        events: list[tuple[Any, ...]] = []
        dispatches: list[tuple[Any, ...]] = []
        for i in range(count):
            received_us = now_us - 1_000_000 - span_us + int(offsets[start + i] * span_us)
            event_id = event_ids.new(received_us // 1000)
            source, _, signed = sources[i]
            body, sha, headers = bodies.items[rng.randrange(len(bodies.items))]
            invalid = signed == "valid" and rng.random() < INVALID_SHARE
            status_name, _, codes = statuses[i]
            if invalid:
                verdict, reason, status = "invalid", rng.choice(INVALID_REASONS), "rejected"
            else:
                verdict = signed
                reason = "signature matched" if signed == "valid" else "source is not signed"
                status = status_name
            duplicates = 1 if rng.random() < 0.01 else 0
            events.append(
                (
                    event_id,
                    source,
                    received_us,
                    f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                    "POST",
                    f"/in/{source}",
                    b"",
                    headers,
                    body,
                    sha,
                    len(body),
                    "application/json",
                    verdict,
                    reason,
                    "{}",
                    0 if signed == "valid" and not invalid else None,
                    f"evt_{start + i:09d}",
                    kinds[i],
                    status,
                    duplicates,
                    received_us + 30_000_000 if duplicates else None,
                )
            )
            if invalid or status == "stored":
                continue
            targets = rng.sample(DESTINATIONS, k=rng.choice((1, 1, 2, 2, 3)))
            incident = received_us >= now_us - INCIDENT_US
            for n, destination in enumerate(targets):
                # The first dispatch carries the event's status; the others were delivered.
                d_status, code = (status, rng.choice(codes)) if n == 0 else ("delivered", 200)
                if incident and destination == "billing" and rng.random() < 0.3:
                    d_status, code = "retrying", 503  # billing has been failing lately
                attempts = 0 if d_status == "pending" else rng.randint(1, 6)
                if d_status == "delivered":
                    attempts = 1 if n else rng.choice((1, 1, 1, 1, 2))
                next_at = received_us + 300_000_000 if d_status in ("retrying", "pending") else None
                dispatches.append(
                    (
                        dispatch_ids.new(received_us // 1000),
                        event_id,
                        destination,
                        d_status,
                        attempts,
                        next_at,
                        None,
                        None,
                        received_us,
                        received_us + rng.randrange(5_000, 90_000_000),
                        None,
                        None,
                        code if attempts else None,
                    )
                )
        yield events, dispatches


# -- loading -------------------------------------------------------------------------------


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "hookyard", "migrate", "--db", url],
        check=True,
        capture_output=True,
        timeout=300,
    )


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_sqlite(path: Path, dataset: Dataset, analyze: bool) -> float:
    migrate(f"sqlite:///{path}")
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MB for the load only
        conn.execute("BEGIN")
        for events, dispatches in generate(dataset.rows, dataset.now_us):
            conn.executemany(insert_sql("events", EVENT_COLUMNS), events)
            conn.executemany(insert_sql("dispatches", DISPATCH_COLUMNS), dispatches)
            note_progress(dataset, events, dispatches)
        conn.execute("COMMIT")
        if analyze:
            conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


async def load_postgres(url: str, dataset: Dataset) -> float:
    await asyncio.to_thread(migrate, url)
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        # The status and the repeat counts have a narrow table of their own on PostgreSQL
        # (migrations 0007 and 0010).
        narrow = ("status", "duplicate_count", "last_duplicate_us")
        moved = [EVENT_COLUMNS.index(c) for c in narrow]
        kept = [i for i in range(len(EVENT_COLUMNS)) if i not in moved]
        event_columns = [EVENT_COLUMNS[i] for i in kept]
        for events, dispatches in generate(dataset.rows, dataset.now_us):
            await conn.copy_records_to_table(
                "events",
                records=[tuple(row[i] for i in kept) for row in events],
                columns=event_columns,
            )
            await conn.copy_records_to_table(
                "event_status",
                records=[(row[0], *(row[i] for i in moved)) for row in events],
                columns=("event_id", *narrow),
            )
            await conn.copy_records_to_table(
                "dispatches", records=dispatches, columns=DISPATCH_COLUMNS
            )
            note_progress(dataset, events, dispatches)
        for table in ("events", "event_status", "dispatches"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return time.perf_counter() - started


def note_progress(dataset: Dataset, events: list[tuple[Any, ...]], dispatches: list[Any]) -> None:
    dataset.sample_ids.extend(row[0] for row in events[::1000])
    dataset.event_count += len(events)
    dataset.dispatch_count += len(dispatches)
    print(f"\r  {dataset.event_count:,} events", end="", file=sys.stderr, flush=True)


async def pg_size(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        size: int = await conn.fetchval("SELECT pg_database_size(current_database())")
        return size
    finally:
        await conn.close()


# -- the queries ---------------------------------------------------------------------------

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


def has_fields(*names: str) -> bool:
    known = {f.name for f in dataclasses.fields(EventFilter)}
    return all(name in known for name in names)


def queries(dataset: Dataset) -> list[tuple[str, list[EventFilter]]]:
    """(label, filters): a query's runs cycle through its filters (varied parameters)."""
    now = dataset.now_us
    ids = dataset.sample_ids
    deep = ids[len(ids) // 2]  # half way down the list
    deeper = ids[len(ids) // 10]  # 90% of the way down
    sources = [s[0] for s in SOURCES]
    rare = event_types()[-2][0]  # among the least common of the ~50 types
    found: list[tuple[str, list[EventFilter]]] = [
        ("newest page", [EventFilter(limit=PAGE)]),
        ("by source (each of 6)", [EventFilter(source=s, limit=PAGE) for s in sources]),
        ("by source legacy (5%)", [EventFilter(source="legacy", limit=PAGE)]),
        ("type order.created.v1", [EventFilter(event_type="order.created.v1", limit=PAGE)]),
        (f"type rare ({rare})", [EventFilter(event_type=rare, limit=PAGE)]),
        ("type glob order.*", [EventFilter(event_type="order.*", limit=PAGE)]),
        ("type glob rare (refund.*)", [EventFilter(event_type="refund.*", limit=PAGE)]),
        ("type glob no match", [EventFilter(event_type="nothing.*", limit=PAGE)]),
        ("type glob suffix (*.deleted.v1)", [EventFilter(event_type="*.deleted.v1", limit=PAGE)]),
        ("type glob suffix no match", [EventFilter(event_type="*.nothing", limit=PAGE)]),
        ("verdict invalid", [EventFilter(verdict="invalid", limit=PAGE)]),
        ("status dead", [EventFilter(status="dead", limit=PAGE)]),
        ("status retrying", [EventFilter(status="retrying", limit=PAGE)]),
        ("source stripe + status dead", [EventFilter(source="stripe", status="dead", limit=PAGE)]),
        ("last hour", [EventFilter(since_us=now - HOUR_US, limit=PAGE)]),
        (
            "window 2h..1h ago",
            [EventFilter(since_us=now - 2 * HOUR_US, until_us=now - HOUR_US, limit=PAGE)],
        ),
        (
            "window 1 day, a week ago",
            [EventFilter(since_us=now - 8 * DAY_US, until_us=now - 7 * DAY_US, limit=PAGE)],
        ),
        (
            "window 1 day, 25 days ago",
            [EventFilter(since_us=now - 26 * DAY_US, until_us=now - 25 * DAY_US, limit=PAGE)],
        ),
        (
            "type order.created.v1, last 24h",
            [EventFilter(event_type="order.created.v1", since_us=now - DAY_US, limit=PAGE)],
        ),
        ("cursor page, middle", [EventFilter(cursor=deep, limit=PAGE)]),
        ("cursor page, 90% deep", [EventFilter(cursor=deeper, limit=PAGE)]),
        (
            "cursor page, middle, source slack",
            [EventFilter(source="slack", cursor=deep, limit=PAGE)],
        ),
    ]
    if has_fields("response_status"):
        found += [
            (
                "order.created.v1 + 5xx, last hour",
                [
                    EventFilter(
                        event_type="order.created.v1",
                        since_us=now - HOUR_US,
                        limit=PAGE,
                        response_status="5xx",
                    )
                ],
            ),
            (
                "order.created.v1 + 5xx, last 24h",
                [
                    EventFilter(
                        event_type="order.created.v1",
                        since_us=now - DAY_US,
                        limit=PAGE,
                        response_status="5xx",
                    )
                ],
            ),
            ("5xx, any time", [EventFilter(limit=PAGE, response_status="5xx")]),
            ("404, any time", [EventFilter(limit=PAGE, response_status="404")]),
        ]
    if has_fields("destination"):
        found.append(("destination crm", [EventFilter(destination="crm", limit=PAGE)]))
    if has_fields("destination", "response_status"):
        found.append(
            (
                "destination billing + 5xx, last 24h",
                [
                    EventFilter(
                        destination="billing",
                        response_status="5xx",
                        since_us=now - DAY_US,
                        limit=PAGE,
                    )
                ],
            )
        )
    return found


@dataclass
class Timing:
    label: str
    runs: list[float] = field(default_factory=list)  # ms
    rows: int = 0

    def pct(self, p: float) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def time_queries(url: str, dataset: Dataset, repeat: int, budget: float) -> list[Timing]:
    store = open_store(url)
    await store.start()
    results = []
    try:
        total = await timed_count(store)
        results.append(total)
        for label, filters in queries(dataset):
            timing = Timing(label)
            rows = await store.list_events(filters[0])  # warm-up, and the row count
            timing.rows = len(rows)
            spent = time.perf_counter()
            for n in range(repeat):
                query = filters[n % len(filters)]
                started = time.perf_counter()
                await store.list_events(query)
                timing.runs.append((time.perf_counter() - started) * 1000)
                if time.perf_counter() - spent > budget and len(timing.runs) >= 3:
                    break
            results.append(timing)
            print(f"\r  {label}: p50 {timing.pct(50):.1f} ms" + " " * 20, file=sys.stderr)
    finally:
        await store.close()
    return results


async def timed_count(store: Any) -> Timing:
    timing = Timing("count all events (not a page)")
    timing.rows = await store.count_events()
    for _ in range(3):
        started = time.perf_counter()
        await store.count_events()
        timing.runs.append((time.perf_counter() - started) * 1000)
    return timing


# -- main ----------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    load_s: float
    size_bytes: int
    timings: list[Timing]
    dataset: Dataset


def run_sqlite(args: argparse.Namespace, workdir: Path) -> Backend:
    print("SQLite: loading", file=sys.stderr)
    path = workdir / "query.db"
    dataset = Dataset(args.rows, now_us())
    load_s = load_sqlite(path, dataset, args.analyze)
    size = sum(p.stat().st_size for p in workdir.glob("query.db*"))
    print(f"\n  loaded in {load_s:.1f} s; querying", file=sys.stderr)
    timings = asyncio.run(time_queries(f"sqlite:///{path}", dataset, args.repeat, args.budget))
    return Backend("SQLite", load_s, size, timings, dataset)


def run_postgres(args: argparse.Namespace) -> Backend:
    print("PostgreSQL: loading", file=sys.stderr)
    url = asyncio.run(pg_database(PG_DATABASE))
    try:
        dataset = Dataset(args.rows, now_us())
        load_s = asyncio.run(load_postgres(url, dataset))
        size = asyncio.run(pg_size(url))
        print(f"\n  loaded in {load_s:.1f} s; querying", file=sys.stderr)
        timings = asyncio.run(time_queries(url, dataset, args.repeat, args.budget))
    finally:
        if not args.keep:
            asyncio.run(pg_database(PG_DATABASE, drop=True))
    return Backend("PostgreSQL", load_s, size, timings, dataset)


def report(backends: list[Backend], args: argparse.Namespace, load: tuple[float, ...]) -> None:
    first = backends[0].dataset
    print(
        f"\nquery benchmark: {first.event_count:,} events, {first.dispatch_count:,} dispatches "
        f"over {SPAN_DAYS} days, pages of {PAGE}, through store.list_events; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at start"
    )
    if not has_fields("response_status"):
        print("EventFilter has no response_status field: the 5xx queries are not measured")
    for b in backends:
        print(
            f"  {b.name}: loaded in {b.load_s:.1f} s "
            f"({b.dataset.event_count / b.load_s:,.0f} events/s incl. generation and indexes), "
            f"{b.size_bytes / 1e9:.2f} GB on disk"
        )
    header = f"{'query':38} {'rows':>5}"
    for b in backends:
        header += f" {b.name + ' p50':>15} {'p95':>8} {'n':>3}"
    print("\n" + header + "  target <= 50 ms (p95)")
    labels = [t.label for t in backends[0].timings]
    for index, label in enumerate(labels):
        line = f"{label:38} {backends[0].timings[index].rows:5d}"
        verdicts = []
        for b in backends:
            t = b.timings[index]
            line += f" {t.pct(50):15.1f} {t.pct(95):8.1f} {len(t.runs):3d}"
            verdicts.append(t.pct(95) <= TARGET_MS)
        if index == 0:
            line += "  (informational)"
        else:
            line += "  " + (
                "ok"
                if all(verdicts)
                else "SLOW: "
                + ", ".join(b.name for b, ok in zip(backends, verdicts, strict=True) if not ok)
            )
        if len({b.timings[index].rows for b in backends}) > 1:
            line += "  !! backends returned different row counts"
        print(line)
    print(
        "\nrows: rows returned by the first run (a page holds at most 50); n: runs timed. "
        "Figures are noisy (2 shared cores, other work running)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    parser.add_argument("--budget", type=float, default=10.0, help="max seconds per query")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE on SQLite too")
    parser.add_argument("--keep", type=Path, help="keep the SQLite file (and the PG database)")
    args = parser.parse_args()
    load = os.getloadavg()
    backends: list[Backend] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.no_sqlite:
            backends.append(run_sqlite(args, workdir))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for part in workdir.glob("query.db*"):
                    shutil.copy2(part, args.keep / part.name)
        if not args.no_postgres:
            backends.append(run_postgres(args))
    if backends:
        report(backends, args, load)


if __name__ == "__main__":
    main()

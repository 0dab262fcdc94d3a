"""``hookyard replay`` and ``POST /api/replays`` through the real processes, on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookyard.signatures.base import SignedMessage
from hookyard.signatures.standard_webhooks import StandardWebhooks
from hookyard.store import open_store
from hookyard.urls import mask_url
from support.factories import submission
from support.netguard import LOOPBACK_SERVER_TABLE
from support.server import hookyard_command, start_server
from support.sink import Reply, ScriptedServer
from support.waiting import eventually

pytestmark = pytest.mark.slow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODIES = [bytes(range(256)), b'{"type": "order.created" }', b"", b"\xc3\x28 not utf-8"]


def seed(database: str, bodies: list[bytes], **kwargs: object) -> list[str]:
    async def run() -> list[str]:
        store = open_store(database)
        await store.start()
        try:
            return [
                (await store.submit(submission(body, **kwargs))).id  # type: ignore[arg-type]
                for body in bodies
            ]
        finally:
            await store.close()

    return asyncio.run(run())


def event_dispatches(database: str, event_id: str) -> list[dict[str, object]]:
    async def run() -> list[dict[str, object]]:
        store = open_store(database)
        await store.start()
        try:
            record = await store.get_event(event_id)
            assert record is not None
            return [
                {"replay_of": d.replay_of, "batch_id": d.batch_id, "status": d.status}
                for d in record.dispatches
            ]
        finally:
            await store.close()

    return asyncio.run(run())


def hookyard(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_replay_ids_to_a_url_sends_the_exact_bytes_and_records_a_batch(
    database_url: str, sink: ScriptedServer
) -> None:
    ids = seed(database_url, BODIES)
    done = hookyard("replay", *ids, "--db", database_url, "--url", sink.url(), "--json")
    assert done.returncode == 0, done.stderr
    batch = json.loads(done.stdout)
    assert (batch["status"], batch["total"], batch["delivered"], batch["failed"]) == (
        "done",
        4,
        4,
        0,
    )
    arrived = {r.header("X-Hookyard-Replay-Of"): r for r in sink.received}
    for event_id, body in zip(ids, BODIES, strict=True):
        got = arrived[event_id]
        assert hashlib.sha256(got.body).hexdigest() == hashlib.sha256(body).hexdigest()
        assert got.header("Idempotency-Key") == event_id
    assert event_dispatches(database_url, ids[0]) == [
        {"replay_of": ids[0], "batch_id": batch["id"], "status": "delivered"}
    ]


def test_a_filtered_replay_with_a_failure_exits_1_and_names_it(
    database_url: str, sink: ScriptedServer
) -> None:
    seed(database_url, [b"a", b"b"], source="other")
    ids = seed(database_url, [b"1", b"2", b"3"], source="demo")
    sink.then(Reply(200), Reply(502), Reply(200))
    done = hookyard(
        "replay", "--db", database_url, "--source", "demo", "--since", "1h",
        "--url", sink.url(), "--concurrency", "1",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "3 of 3 replayed" in done.stdout and "2 delivered, 1 failed" in done.stdout
    assert f"{ids[1]}  HTTP 502" in done.stdout
    assert sorted(r.body for r in sink.received) == [b"1", b"2", b"3"]


def test_dry_run_shows_the_count_and_a_preview_and_sends_nothing(
    database_url: str, sink: ScriptedServer
) -> None:
    ids = seed(database_url, [b"x"] * 7)
    done = hookyard(
        "replay", "--db", database_url, "--status", "stored", "--url", sink.url(), "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: 7 event(s) would be replayed" in done.stdout
    assert ids[0] in done.stdout and ids[6] not in done.stdout  # the first five only
    as_json = hookyard(
        "replay", *ids[:2], "--db", database_url, "--url", sink.url(), "--dry-run", "--json"
    )
    preview = json.loads(as_json.stdout)
    assert preview["total"] == 2 and [p["id"] for p in preview["preview"]] == ids[:2]
    assert sink.received == []
    assert event_dispatches(database_url, ids[0]) == []


def test_replay_to_a_configured_destination_is_re_signed(
    tmp_path: Path, database_url: str, sink: ScriptedServer
) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text(
        f"""
[sources.demo]
scheme = "none"

[destinations.app]
url = "{sink.url()}"
signing = {{ scheme = "standard-webhooks", secret = "env:REPLAY_TEST_SECRET" }}
"""
    )
    ids = seed(database_url, [b'{"signed": true}'], provider_id="evt_s")
    done = subprocess.run(
        hookyard_command(
            "replay", ids[0], "--config", str(config), "--db", database_url, "--to", "app"
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "REPLAY_TEST_SECRET": SECRET},
    )
    assert done.returncode == 0, done.stderr
    [got] = sink.received
    assert got.header("Idempotency-Key") == "evt_s" and got.header("webhook-id") == "evt_s"
    message = SignedMessage.from_text_headers(got.headers, got.body)
    assert StandardWebhooks().verify(message, [SECRET], now=time.time()).status == "valid"


def test_an_unknown_id_is_a_usage_error_on_every_backend(
    database_url: str, sink: ScriptedServer
) -> None:
    ids = seed(database_url, [b"x"])
    done = hookyard("replay", ids[0], "NOPE", "--db", database_url, "--url", sink.url())
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"hookyard: error: no event with id 'NOPE' in {mask_url(database_url)}"
    )
    assert sink.received == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ID"], "give exactly one of --to NAME or --url URL"),
        (["ID", "--to", "a", "--url", "http://x/"], "give exactly one of --to NAME or --url URL"),
        (["ID", "--to", "nowhere"], "--to: unknown destination 'nowhere'"),
        (["ID", "--url", "localhost:8000/hook"], "--url: must start with http:// or https://"),
        (["ID", "--url", "http://x/", "--sign-secret", "s"], "--sign-secret needs --sign-scheme"),
        (["ID", "--url", "http://x/", "--sign-scheme", "nope", "--sign-secret", "s"], "nope"),
        (["ID", "--url", "http://x/", "--sign-scheme", "stripe"], "--sign-secret: required"),
        (["ID", "--source", "demo", "--url", "http://x/"], "event ids or filter options, not"),
        (["--url", "http://x/"], "give event ids, or filter options"),
        (["--since", "last tuesday", "--url", "http://x/"], "--since: expected an ISO time"),
        (["--response-status", "9xx", "--url", "http://x/"], "--response-status: expected"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    done = hookyard("replay", *args, "--db", database)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_serve_runs_replays_started_through_the_api(
    tmp_path: Path, database_url: str, sink: ScriptedServer
) -> None:
    server = start_server(
        tmp_path,
        database=database_url,
        config=f'{LOOPBACK_SERVER_TABLE}[sources.demo]\nscheme = "none"\n\n'
        f'[destinations.app]\nurl = "{sink.url()}"\nevents = ["never.*"]\n',
    )
    try:
        ids = [httpx.post(f"{server.url}/in/demo", content=body).json()["id"] for body in BODIES]
        started = httpx.post(
            f"{server.url}/api/replays", json={"filter": {"source": "demo"}, "to": "app"}
        )
        assert started.status_code == 202, started.text
        batch_id = started.json()["id"]

        def finished() -> dict[str, Any] | None:
            data: dict[str, Any] = httpx.get(f"{server.url}/api/replays/{batch_id}").json()
            return data if data["status"] != "running" else None

        data = eventually(finished, message="the replay batch did not finish")
        assert (data["status"], data["delivered"]) == ("done", 4)
        shown = httpx.get(f"{server.url}/api/events/{ids[0]}").json()
        assert [d["replay_of"] for d in shown["dispatches"]] == [ids[0]]
        bodies = sorted(r.body for r in sink.received)
        assert bodies == sorted(BODIES)
        assert httpx.get(f"{server.url}/api/replays/NOPE").status_code == 404
        assert httpx.post(f"{server.url}/api/replays", json={"ids": ids}).status_code == 400
    finally:
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_replay_is_recorded_as_cancelled(
    tmp_path: Path, sink: ScriptedServer, sig: signal.Signals
) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    ids = seed(database, [b"slow"] * 20)
    sink.then(*[Reply(200, delay=0.3)] * 20)
    process = subprocess.Popen(
        hookyard_command(
            "replay", *ids, "--db", database, "--url", sink.url(), "--concurrency", "1"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell runs background jobs with SIGINT ignored, and a child inherits that;
        # Ctrl-C reaches a CLI with the default disposition, so give it that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def two_received() -> bool:
        assert process.poll() is None, "the replay ended before it was interrupted"
        return len(sink.received) >= 2

    eventually(two_received, timeout=20)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=20)
    # SIGINT is Ctrl-C: the CLI's usual "aborted", exit 1.
    assert process.returncode == (143 if sig == signal.SIGTERM else 1), stderr
    assert "is recorded as cancelled" in stderr and "Traceback" not in stderr
    batches = asyncio.run(batch_statuses(database))
    [(status, done)] = batches
    assert status == "cancelled" and 1 <= done < 20


async def batch_statuses(database: str) -> list[tuple[str, int]]:
    import sqlite3

    conn = sqlite3.connect(database.removeprefix("sqlite:///"))
    try:
        rows = conn.execute(
            "SELECT status, delivered + failed + skipped FROM replay_batches"
        ).fetchall()
    finally:
        conn.close()
    return [(str(s), int(d)) for s, d in rows]

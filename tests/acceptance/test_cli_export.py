"""``hookyard export`` and ``hookyard replay-corpus``, through real processes.

Traffic captured by one running hookyard (SQLite and PostgreSQL) is exported, then
replayed into a second running hookyard with a different secret: every body arrives
byte for byte and verifies, because each fixture is signed afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookyard.signatures.registry import create_scheme
from hookyard.store import open_store
from support.databases import fresh_database
from support.server import RunningServer, free_port, hookyard_command, start_server
from support.sink import Reply, running_sink

pytestmark = pytest.mark.slow

SECRET_A = "whsec_production_secret"
SECRET_B = "whsec_staging_secret"
QUERY = "access_token=tok_query_1&api_key=tok_query_2&page=2"
FORM = b"name=Jenny+Rosen&email=jenny%40example.com&amount=20"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def stripe_body(n: int) -> bytes:
    # Spacing and key order as a provider sends them: they must survive unmasked export.
    return (
        f'{{\n  "id": "evt_{n}",\n  "type": "charge.succeeded",\n  "data": {{"object": '
        f'{{"amount": {n}00, "billing_details": {{"email": "c{n}@example.com"}}}}}}\n}}'
    ).encode()


def config(secret: str) -> str:
    return f"""
[sources.stripe]
scheme = "stripe"
secrets = ["{secret}"]
# Credentials kept in the store (not redacted at ingest), so export's masking is tested.
redact_headers = []

[sources.shop]
scheme = "none"
redact_headers = []
"""


@dataclass
class Captured:
    server: RunningServer
    database: str
    stripe_ids: list[str]
    form_id: str
    binary_id: str

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(*args, "--db", self.database)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), capture_output=True, text=True, timeout=120, check=False
    )


def post(
    server: RunningServer, source: str, body: bytes, headers: dict[str, str], query: str = ""
) -> str:
    url = f"{server.url}/in/{source}" + (f"?{query}" if query else "")
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["id"]
    return event_id


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def captured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    workdir: Path = tmp_path_factory.mktemp("capture")
    database = fresh_database(request, workdir)
    server = start_server(workdir, config=config(SECRET_A), database=database)
    try:
        stripe = create_scheme("stripe")
        stripe_ids = []
        for n in (1, 2, 3):
            body = stripe_body(n)
            headers = {
                "Content-Type": "application/json",
                "Authorization": "Bearer tok_live_secret",
                **dict(stripe.sign(body, SECRET_A)),
            }
            stripe_ids.append(post(server, "stripe", body, headers, QUERY if n == 1 else ""))
        form_id = post(server, "shop", FORM, {"Content-Type": "application/x-www-form-urlencoded"})
        binary_id = post(server, "shop", BINARY, {"Content-Type": "image/png"})
        yield Captured(server, database, stripe_ids, form_id, binary_id)
    finally:
        server.stop()


def fixtures(directory: Path) -> dict[str, tuple[bytes, Any]]:
    found = {}
    for body_path in sorted(directory.glob("*.body")):
        meta = json.loads(body_path.with_suffix(".json").read_text())
        found[meta["id"]] = (body_path.read_bytes(), meta)
    return found


def test_export_writes_exact_bytes_and_metadata(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    done = captured.cli("export", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 5 request(s)" in done.stdout
    written = fixtures(out)
    assert set(written) == {*captured.stripe_ids, captured.form_id, captured.binary_id}
    for event_id, (body, meta) in written.items():
        api = captured.server.url + f"/api/events/{event_id}"
        assert body == httpx.get(f"{api}/body").content  # byte for byte
        record = httpx.get(api).json()
        assert meta["headers"] == record["headers"]  # order, case and repeats as received
        assert meta["source"] == record["source"]
        assert meta["event_type"] == record["event_type"]
        assert meta["verdict"]["status"] == record["verdict"]
        assert meta["received_at"] == record["received_at"]
        assert meta["body_sha256"] == hashlib.sha256(body).hexdigest()
    first = written[captured.stripe_ids[0]]
    assert first[0] == stripe_body(1)
    names = sorted(p.name for p in out.glob("*.body"))
    assert names[0] == f"{captured.stripe_ids[0]}_charge.succeeded.body"  # receipt order


def test_export_filters_and_limit(captured: Captured, tmp_path: Path) -> None:
    done = captured.cli("export", "--source", "shop", "--type", "*", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert "exported 0 request(s)" in done.stdout  # shop events carry no type
    done = captured.cli("export", "--source", "stripe", "--limit", "2", str(tmp_path / "b"))
    assert set(fixtures(tmp_path / "b")) == set(captured.stripe_ids[1:])  # newest two


def test_export_masks_json_drops_headers_and_warns_on_the_rest(
    captured: Captured, tmp_path: Path
) -> None:
    out = tmp_path / "masked"
    done = captured.cli(
        "export", "--mask-key", "email", "--mask-pointer", "/data/object/amount",
        "--mask-pointer", "/not/there", "--drop-header", "authorization", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6 value(s) masked" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2  # the form body and the PNG
    assert all("not masked" in w for w in warnings)
    written = fixtures(out)
    body, meta = written[captured.stripe_ids[0]]
    data = json.loads(body)
    assert data["data"]["object"] == {"amount": "***", "billing_details": {"email": "***"}}
    assert b"example.com" not in body
    assert not any(name.lower() == "authorization" for name, _ in meta["headers"])
    assert meta["sanitised"]["unmatched_pointers"] == ["/not/there"]
    assert meta["sanitised"]["original_sha256"] != meta["body_sha256"]
    form_body, form_meta = written[captured.form_id]
    assert form_body == FORM  # never half-masked
    assert form_meta["sanitised"]["is_json"] is False


def test_export_masks_credentials_by_default_and_keeps_them_on_request(
    captured: Captured, tmp_path: Path
) -> None:
    done = captured.cli("export", "--source", "stripe", str(tmp_path / "masked"))
    assert done.returncode == 0, done.stderr
    body, meta = fixtures(tmp_path / "masked")[captured.stripe_ids[0]]
    text = (tmp_path / "masked").joinpath(f"{captured.stripe_ids[0]}_charge.succeeded.json")
    assert "tok_live_secret" not in text.read_text() and "tok_query" not in text.read_text()
    headers = {name.lower(): value for name, value in meta["headers"]}
    assert headers["authorization"] == "Bearer **** (15 chars)"
    assert headers["stripe-signature"].startswith("t=")  # a MAC, not a credential
    assert meta["query_string"] == "access_token=****&api_key=****&page=2"
    assert meta["credentials_masked"] is True
    assert body == stripe_body(1)  # the body stays exact

    done = captured.cli("export", "--source", "stripe", "--keep-credentials", str(tmp_path / "k"))
    assert done.returncode == 0, done.stderr
    _, kept = fixtures(tmp_path / "k")[captured.stripe_ids[0]]
    kept_headers = {name.lower(): value for name, value in kept["headers"]}
    assert kept_headers["authorization"] == "Bearer tok_live_secret"
    assert kept["query_string"] == QUERY
    assert kept["credentials_masked"] is False


async def stored_headers(database: str, event_id: str) -> list[tuple[bytes, bytes]]:
    store = open_store(database)
    await store.start()
    try:
        record = await store.get_event(event_id)
    finally:
        await store.close()
    assert record is not None
    return [(name.lower(), value) for name, value in record.headers]


def replay_corpus(directory: Path, url: str, secret: str, *extra: str) -> tuple[int, Any]:
    done = run(
        "replay-corpus", str(directory), "--url", url, "--scheme", "stripe",
        "--secret", secret, "--json", *extra,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("masked", [False, True])
def test_export_then_replay_corpus_into_another_hookyard(
    captured: Captured, tmp_path: Path, masked: bool
) -> None:
    out = tmp_path / "corpus"
    mask = ("--mask-key", "email") if masked else ()
    done = captured.cli("export", "--source", "stripe", "--keep-credentials", *mask, str(out))
    assert done.returncode == 0, done.stderr
    staging_dir = tmp_path / "staging"
    staging_dir.mkdir()
    staging = start_server(staging_dir, config=config(SECRET_B))
    try:
        code, report = replay_corpus(out, f"{staging.url}/in/stripe", SECRET_B)
        assert code == 0, report
        assert report["passed"] == 3 and report["failed"] == 0
        written = fixtures(out)
        for result in report["results"]:
            assert result["status"] == 202 and result["passed"]
            new_id = json.loads(result["detail"])["id"]
            stored = httpx.get(f"{staging.url}/api/events/{new_id}").json()
            assert stored["verdict"] == "valid"  # signed afresh with the staging secret
            original_id = result["name"].split("_", 1)[0]
            exported = written[original_id][0]
            assert stored["body_sha256"] == hashlib.sha256(exported).hexdigest()
            assert httpx.get(f"{staging.url}/api/events/{new_id}/body").content == exported
            # Captured headers kept; the API masks the credential, the database holds it.
            headers = {name.lower(): value for name, value in stored["headers"]}
            assert headers["authorization"] == "Bearer **** (15 chars)"
            database = f"sqlite:///{staging_dir / 'hookyard.db'}"
            exact = dict(asyncio.run(stored_headers(database, new_id)))
            assert exact[b"authorization"] == b"Bearer tok_live_secret"
        # The same corpus again: the provider ids dedup, and a duplicate is still a 2xx.
        code, again = replay_corpus(out, f"{staging.url}/in/stripe", SECRET_B)
        assert code == 0 and {r["status"] for r in again["results"]} == {200}
    finally:
        staging.stop()


def test_replay_corpus_fails_on_any_non_2xx(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    assert captured.cli("export", "--source", "stripe", str(out)).returncode == 0
    staging_dir = tmp_path / "staging"
    staging_dir.mkdir()
    staging = start_server(staging_dir, config=config(SECRET_B))
    try:
        code, report = replay_corpus(out, f"{staging.url}/in/stripe", "whsec_wrong_secret")
        assert code == 1
        assert [r["status"] for r in report["results"]] == [401, 401, 401]
    finally:
        staging.stop()
    with running_sink() as sink:
        sink.then(Reply(200), Reply(500, body=b"boom"), Reply(200))
        done = run(
            "replay-corpus", str(out), "--url", sink.url(), "--scheme", "stripe",
            "--secret", SECRET_B,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "FAIL" in done.stdout and "2 passed, 1 failed" in done.stdout
        assert [r.body for r in sink.received] == [fixtures(out)[i][0] for i in captured.stripe_ids]
        signatures = [r.header("Stripe-Signature") for r in sink.received]
        assert all(s and s.startswith("t=") for s in signatures)
    code, report = replay_corpus(out, f"http://127.0.0.1:{free_port()}/in", SECRET_B)
    assert code == 1 and all(r["status"] is None for r in report["results"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("replay-corpus", "{missing}", "--url", "http://x.test/", "--scheme", "stripe",
          "--secret", SECRET_B), "does not exist or is not a directory"),
        (("replay-corpus", "{file}", "--url", "http://x.test/", "--scheme", "stripe",
          "--secret", SECRET_B), "does not exist or is not a directory"),
        (("replay-corpus", "{empty}", "--url", "http://x.test/", "--scheme", "stripe",
          "--secret", SECRET_B), "no NAME.body files"),
        (("replay-corpus", "{bad_meta}", "--url", "http://x.test/", "--scheme", "stripe",
          "--secret", SECRET_B), "is not valid JSON"),
        (("replay-corpus", "{empty}", "--url", "ftp://x.test/", "--scheme", "stripe",
          "--secret", SECRET_B), "--url must be an http"),
        (("replay-corpus", "{empty}", "--url", "http://x.test/", "--scheme", "nope",
          "--secret", SECRET_B), "unknown scheme 'nope'"),
        (("replay-corpus", "{empty}", "--url", "http://x.test/", "--scheme", "stripe"),
         "needs --secret"),
        (("export", "{file}"), "exists and is not a directory"),
        (("export", "--since", "whenever", "{missing}"), "--since: expected"),
        (("export", "--mask-pointer", "no-slash", "{missing}"), "--mask-pointer: JSON pointer"),
        (("events", "show", "01NOSUCHEVENT0000000000000"), "no event with id"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    paths = {
        "missing": tmp_path / "missing",
        "file": tmp_path / "a-file",
        "empty": tmp_path / "empty",
        "bad_meta": tmp_path / "bad",
    }
    paths["file"].write_text("x")
    paths["empty"].mkdir()
    paths["bad_meta"].mkdir()
    (paths["bad_meta"] / "x.body").write_bytes(b"{}")
    (paths["bad_meta"] / "x.json").write_text("{oops")
    filled = tuple(a.format(**{k: str(v) for k, v in paths.items()}) for a in args)
    database = ("--db", f"sqlite:///{tmp_path / 'h.db'}")
    command = filled if filled[0] == "replay-corpus" else (*filled, *database)
    done = subprocess.run(
        hookyard_command(*command), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not paths["missing"].exists()  # a usage error writes nothing

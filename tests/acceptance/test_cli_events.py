"""``hookyard events list|show|diff|explain`` and the matching API, through real processes.

A real server (SQLite and PostgreSQL) ingests real requests and delivers them to real
HTTP sinks, one answering 200, one 503 and one 404; the CLI then reads the same
database. The CLI and the API must agree on every filter.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookyard.signatures.registry import create_scheme
from support.databases import fresh_database
from support.netguard import LOOPBACK_SERVER_TABLE
from support.server import RunningServer, hookyard_command, start_server
from support.sink import Reply, running_sink
from support.waiting import eventually

pytestmark = pytest.mark.slow

STRIPE_SECRET = "whsec_current_secret"
BINARY = bytes(range(256)) + b"\x00\xff invalid \xc3\x28"
TOKEN = "Bearer tok_live_9f8e7d6c5b4a"


@dataclass
class Deployment:
    server: RunningServer
    database: str
    ids: dict[str, str]
    workdir: Path

    def cli(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        conf = config or self.server.config_path
        assert conf is not None
        return subprocess.run(
            hookyard_command(*args, "--config", str(conf), "--db", self.database),
            capture_output=True,
            timeout=60,
            check=False,
        )

    def api(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.server.url}{path}", params=params, timeout=10)


def config(ok: str, bad: str, gone: str) -> str:
    return f"""
{LOOPBACK_SERVER_TABLE}
[sources.shop]
scheme = "none"
# Credentials kept in the store (not redacted at ingest), so display masking is tested.
redact_headers = []

[sources.stripe]
scheme = "stripe"
secrets = ["{STRIPE_SECRET}"]

[destinations.ok]
url = "{ok}"
sources = ["shop"]

[destinations.bad]
url = "{bad}"
sources = ["shop"]
events = ["order.*"]
retry = {{ schedule = ["50ms"], jitter = false, max_attempts = 2 }}
circuit_breaker = false

[destinations.gone]
url = "{gone}"
sources = ["shop"]
events = ["refund.*"]
"""


def post(server: RunningServer, source: str, body: bytes, query: str = "", **headers: str) -> str:
    url = f"{server.url}/in/{source}" + (f"?{query}" if query else "")
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    assert response.status_code in (202, 401), response.text
    event_id: str = response.json()["id"]
    return event_id


def stripe_post(server: RunningServer, body: bytes, secret: str = STRIPE_SECRET) -> str:
    signed = dict(create_scheme("stripe").sign(body, secret))
    return post(server, "stripe", body, **{"Content-Type": "application/json"}, **signed)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir: Path = tmp_path_factory.mktemp("events")
    database = fresh_database(request, workdir)
    with running_sink() as ok, running_sink() as bad, running_sink() as gone:
        bad.then(*[Reply(503, body=b"try later")] * 50)
        gone.then(*[Reply(404, body=b"no such hook")] * 50)
        server = start_server(
            workdir, config=config(ok.url(), bad.url(), gone.url()), database=database
        )
        try:
            json_type = {"Content-Type": "application/json"}
            ids = {
                "created_1": post(
                    server,
                    "shop",
                    b'{"type": "order.created.v1", "order": {"id": 1, "total": 1999}}',
                    **json_type,
                    query="api_key=qk_live_77&v=2",
                    Authorization=TOKEN,
                    Cookie="sid=abc123; theme=dark",
                ),
                "created_2": post(
                    server,
                    "shop",
                    b'{"type": "order.created.v1", "order": {"id": 2, "total": "19.99"},'
                    b' "coupon": null}',
                    **json_type,
                ),
                "paid": post(server, "shop", b'{"type": "order.paid"}', **json_type),
                "refund": post(server, "shop", b'{"type": "refund.created"}', **json_type),
                "customer": post(server, "shop", b'{"type": "customer.updated"}', **json_type),
                "binary": post(
                    server, "shop", BINARY, **{"Content-Type": "application/octet-stream"}
                ),
                "invoice": stripe_post(server, b'{"id": "evt_1", "type": "invoice.paid"}'),
                "forged": stripe_post(
                    server, b'{"id": "evt_2", "type": "invoice.paid"}', secret="whsec_wrong"
                ),
            }

            def settled() -> bool:
                busy = [
                    httpx.get(f"{server.url}/api/events", params={"status": s}).json()["events"]
                    for s in ("pending", "retrying")
                ]
                return not any(busy)

            try:
                eventually(settled, timeout=60)
            except AssertionError:
                busy = httpx.get(f"{server.url}/api/events", params={"limit": "100"}).json()
                raise AssertionError(
                    f"deliveries did not settle: {busy}\n{server.logs()}"
                ) from None
            yield Deployment(server, database, ids, workdir)
        finally:
            server.stop()


def names(deployment: Deployment, ids: list[str]) -> set[str]:
    by_id = {v: k for k, v in deployment.ids.items()}
    return {by_id[i] for i in ids}


FILTERS: list[tuple[dict[str, str], set[str]]] = [
    # The question from the issue, as one command.
    ({"type": "order.created.v1", "response_status": "5xx", "since": "1h"},
     {"created_1", "created_2"}),
    ({"type": "order.*", "destination": "bad", "response_status": "503"},
     {"created_1", "created_2", "paid"}),
    ({"response_status": "404"}, {"refund"}),
    ({"destination": "gone"}, {"refund"}),
    ({"destination": "ok", "response_status": "2xx", "type": "customer.*"}, {"customer"}),
    ({"status": "dead"}, {"created_1", "created_2", "paid", "refund"}),
    ({"status": "delivered"}, {"customer", "binary"}),
    ({"source": "stripe"}, {"invoice", "forged"}),
    ({"verdict": "invalid"}, {"forged"}),
    ({"verdict": "valid", "source": "stripe"}, {"invoice"}),
    ({"until": "1h"}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("values", "expected"), FILTERS)
def test_cli_and_api_accept_the_same_filters_and_agree(
    deployment: Deployment, values: dict[str, str], expected: set[str]
) -> None:
    flags = [
        arg for name, value in values.items() for arg in (f"--{name.replace('_', '-')}", value)
    ]
    done = deployment.cli("events", "list", "--json", *flags)
    assert done.returncode == 0, done.stderr
    from_cli = [e["id"] for e in json.loads(done.stdout)["events"]]
    response = deployment.api("/api/events", **values)
    assert response.status_code == 200, response.text
    from_api = [e["id"] for e in response.json()["events"]]
    assert from_cli == from_api
    assert names(deployment, from_cli) == expected


def test_list_table_and_cursor(deployment: Deployment) -> None:
    done = deployment.cli("events", "list", "--source", "shop", "--limit", "2")
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert deployment.ids["binary"] in out and deployment.ids["customer"] in out
    assert "customer.updated" in out and "delivered" in out
    assert f"--cursor {deployment.ids['customer']}" in out
    page = deployment.cli(
        "events", "list", "--json", "--source", "shop", "--limit", "2",
        "--cursor", deployment.ids["customer"],
    )  # fmt: skip
    page_ids = [e["id"] for e in json.loads(page.stdout)["events"]]
    assert page_ids == [deployment.ids["refund"], deployment.ids["paid"]]


def test_show_masks_credentials_and_draws_the_timeline(deployment: Deployment) -> None:
    done = deployment.cli("events", "show", deployment.ids["created_1"])
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr
    assert "tok_live_9f8e7d6c5b4a" not in out and "abc123" not in out
    assert "qk_live_77" not in out
    assert "Bearer ****" in out and "sid=****" in out
    assert "POST /in/shop?api_key=****&v=2" in out
    assert "HTTP 503" in out and "HTTP 200" in out and "dead" in out
    assert '"total": 1999' in out  # pretty-printed JSON body
    assert "order.created.v1" in out


def test_show_raw_gives_the_exact_bytes(deployment: Deployment) -> None:
    done = deployment.cli("events", "show", deployment.ids["binary"], "--raw")
    assert done.returncode == 0, done.stderr
    assert done.stdout == BINARY
    shown = deployment.cli("events", "show", deployment.ids["binary"])
    assert b"00000000  00 01 02 03" in shown.stdout  # a hex dump on screen


def test_show_json(deployment: Deployment) -> None:
    done = deployment.cli("events", "show", deployment.ids["created_1"], "--json")
    data = json.loads(done.stdout)
    headers = {name.lower(): value for name, value in data["headers"]}
    assert headers["authorization"].startswith("Bearer ****")
    assert data["query_string"] == "api_key=****&v=2"
    assert "qk_live_77" not in done.stdout.decode() and "abc123" not in done.stdout.decode()
    assert data["body"]["kind"] == "json"
    destinations = {d["destination"]: d for d in data["dispatches"]}
    assert destinations["bad"]["attempt_log"][0]["status_code"] == 503
    assert destinations["ok"]["status"] == "delivered"


def test_diff_in_the_terminal_and_as_json_matches_the_api(deployment: Deployment) -> None:
    a, b = deployment.ids["created_1"], deployment.ids["created_2"]
    done = deployment.cli("events", "diff", a, b, "--json")
    assert done.returncode == 1, done.stderr  # they differ, as diff(1) says it
    from_cli = json.loads(done.stdout)
    response = deployment.api("/api/diff", a=a, b=b)
    assert response.status_code == 200
    assert response.json() == from_cli
    changes = {(c["path"], c["kind"]) for c in from_cli["body"]["changes"]}
    assert changes == {
        ("/order/id", "changed"),
        ("/order/total", "type_changed"),
        ("/coupon", "added"),
    }
    removed = {h["name"] for h in from_cli["headers"] if h["kind"] == "removed"}
    assert {"authorization", "cookie"} <= removed
    assert all("tok_live" not in v for h in from_cli["headers"] for v in h["old"])
    screen = deployment.cli("events", "diff", a, b)
    assert screen.returncode == 1
    assert "/order/total" in screen.stdout.decode() and "number → string" in screen.stdout.decode()
    same = deployment.cli("events", "diff", a, a)
    assert same.returncode == 0, same.stderr
    helped = deployment.cli("events", "diff", "--help")
    assert b"1 when they differ" in helped.stdout


def explain(deployment: Deployment, event_id: str, config: Path | None = None) -> tuple[int, Any]:
    done = deployment.cli("events", "explain", event_id, "--json", config=config)
    return done.returncode, json.loads(done.stdout)


def test_explain_with_current_and_rotated_secrets(deployment: Deployment) -> None:
    invoice = deployment.ids["invoice"]
    code, data = explain(deployment, invoice)
    assert code == 0 and data["ok"] and not data["changed"]
    assert data["current"]["secret_index"] == 0
    assert data["keys"][0]["computed"] == data["current"]["received"]
    assert data["timestamp"]["within_tolerance"] is True
    assert deployment.api(f"/api/events/{invoice}/signature").json() == data

    server_config = deployment.server.config_path
    assert server_config is not None
    base = server_config.read_text()
    rotated = deployment.workdir / "rotated.toml"
    rotated.write_text(
        base.replace(
            f'secrets = ["{STRIPE_SECRET}"]', f'secrets = ["whsec_next", "{STRIPE_SECRET}"]'
        )
    )
    code, data = explain(deployment, invoice, rotated)
    assert code == 0 and data["current"]["secret_index"] == 1 and data["changed"]
    assert [k["matched"] for k in data["keys"]] == [False, True]

    retired = deployment.workdir / "retired.toml"
    retired.write_text(base.replace(f'secrets = ["{STRIPE_SECRET}"]', 'secrets = ["whsec_next"]'))
    code, data = explain(deployment, invoice, retired)
    assert code == 1 and not data["ok"]
    assert data["stored"]["status"] == "valid" and data["current"]["status"] == "invalid"
    assert STRIPE_SECRET not in json.dumps(data) and "whsec_next" not in json.dumps(data)

    screen = deployment.cli("events", "explain", invoice, config=rotated).stdout.decode()
    assert "secret #1" in screen and "within tolerance" in screen


def test_explain_a_forgery(deployment: Deployment) -> None:
    code, data = explain(deployment, deployment.ids["forged"])
    assert code == 1
    assert data["stored"]["status"] == "invalid" and data["current"]["reason"] == (
        "signature mismatch"
    )
    assert data["current"]["computed"] != data["current"]["received"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("events", "show", "01NOSUCHEVENT0000000000000"), "no event with id"),
        (("events", "show", "01NOSUCHEVENT0000000000000", "--raw"), "no event with id"),
        (("events", "explain", "01NOSUCHEVENT0000000000000"), "no event with id"),
        (("events", "list", "--since", "last tuesday"), "--since: expected an ISO time"),
        (("events", "list", "--response-status", "9xx"), "--response-status: expected"),
        (("events", "list", "--verdict", "maybe"), "--verdict: expected one of"),
        (("events", "list", "--status", "gone"), "--status: expected one of"),
        (("events", "list", "--limit", "0"), "--limit: expected an integer"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    deployment: Deployment, args: tuple[str, ...], message: str
) -> None:
    done = deployment.cli(*args)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert done.stdout == b""


def test_diff_with_an_unknown_side_and_conflicting_flags(deployment: Deployment) -> None:
    done = deployment.cli("events", "diff", deployment.ids["paid"], "01NOSUCHEVENT0000000000000")
    assert done.returncode == 2 and b"no event with id '01NOSUCHEVENT" in done.stderr
    both = deployment.cli("events", "show", deployment.ids["paid"], "--raw", "--json")
    assert both.returncode == 2 and b"--raw or --json" in both.stderr


def test_api_bad_input_is_400_and_unknown_ids_404(deployment: Deployment) -> None:
    for params in ({"response_status": "9xx"}, {"since": "soon"}, {"status": "gone"}):
        response = deployment.api("/api/events", **params)
        assert response.status_code == 400
        assert set(response.json()) == {"error", "detail"}
    missing = deployment.api("/api/diff", a=deployment.ids["paid"])
    assert missing.status_code == 400 and missing.json()["error"] == "bad_query"
    unknown = deployment.api("/api/diff", a=deployment.ids["paid"], b="01NOSUCHEVENT00000000000")
    assert unknown.status_code == 404 and set(unknown.json()) == {"error", "detail"}
    assert deployment.api("/api/events/01NOSUCHEVENT/signature").status_code == 404

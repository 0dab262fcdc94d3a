"""``hookyard conformance`` through the real command line, against a running hookyard.

Exit codes are the contract: 0 every applicable check passed, 1 some check failed,
2 usage error as one line on stderr. ``--json`` is for machines. No secret is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.server import RunningServer, free_port, start_server
from support.waiting import eventually

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STRIPE_SECRET = "whsec_acceptance_conformance"
GITHUB_SECRET = "github-acceptance-conformance"
WEAK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS = (STRIPE_SECRET, GITHUB_SECRET, WEAK_SECRET)
CONFIG = f"""
[server]
max_body_bytes = 65536

[sources.stripe]
scheme = "stripe"
secrets = ["{STRIPE_SECRET}"]

[sources.loose]
scheme = "stripe"
secrets = ["{STRIPE_SECRET}"]
tolerance_seconds = 3600

[sources.github]
scheme = "github"
secrets = ["{GITHUB_SECRET}"]
"""
LIMIT = ("--max-body-bytes", "65536")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.out)
        return data


def hookyard(*args: str, env: dict[str, str] | None = None) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "hookyard", *args],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    for secret in SECRETS:
        assert secret not in run.out + run.err, "a secret was printed"
    assert "Traceback" not in run.err
    return run


def failed(run: Run) -> set[str]:
    checks = run.json()["checks"]
    assert isinstance(checks, list)
    return {c["check"] for c in checks if c["outcome"] == "fail"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir: Path = tmp_path_factory.mktemp("cli-conformance")
    running = start_server(workdir, config=CONFIG, database=f"sqlite:///{workdir / 'h.db'}")
    yield running
    running.stop()


def test_a_conformant_receiver_exits_0_with_a_table(server: RunningServer) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        STRIPE_SECRET,
        *LIMIT,
    )
    assert run.code == 0, run.out + run.err
    for check in ("valid-signature", "stale-timestamp", "key-rotation", "oversized-body"):
        assert check in run.out
    assert "11 passed, 0 failed, 1 not applicable" in run.out
    assert run.err == ""


def test_json_report(server: RunningServer) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        STRIPE_SECRET,
        "--json",
        *LIMIT,
    )
    assert run.code == 0
    report = run.json()
    assert report["ok"] is True
    assert report["scheme"] == "stripe"
    assert report["summary"] == {"pass": 11, "fail": 0, "n/a": 1}
    checks = {c["check"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    assert checks["duplicate-delivery"]["got"] == "202, 200"
    assert checks["duplicate-side-effect"]["outcome"] == "n/a"
    assert checks["oversized-body"]["got"] == "413"


def test_a_failing_receiver_exits_1(server: RunningServer) -> None:
    url = f"{server.url}/in/loose"
    run = hookyard("conformance", url, "--scheme", "stripe", "--secret", STRIPE_SECRET, "--json")
    assert run.code == 1
    assert failed(run) == {"stale-timestamp", "future-timestamp"}
    table = hookyard("conformance", url, "--scheme", "stripe", "--secret", STRIPE_SECRET)
    assert table.code == 1
    assert "no timestamp window" in table.out
    assert "2 failed" in table.out


def test_checks_that_do_not_apply_are_not_passed(server: RunningServer) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/github",
        "--scheme",
        "github",
        "--secret",
        GITHUB_SECRET,
        "--json",
        *LIMIT,
    )
    assert run.code == 0
    outcomes = {c["check"]: c["outcome"] for c in run.json()["checks"]}  # type: ignore[attr-defined]
    for check in ("stale-timestamp", "future-timestamp", "other-message-id", "key-rotation"):
        assert outcomes[check] == "n/a"
    assert outcomes["tampered-body"] == "pass"


def test_secret_from_the_environment(server: RunningServer) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        "env:CONFORMANCE_SECRET",
        "--check",
        "valid-signature",
        env={"CONFORMANCE_SECRET": STRIPE_SECRET},
    )
    assert run.code == 0, run.out + run.err
    assert "1 passed" in run.out


def test_fixtures_are_signed_at_run_time(server: RunningServer, tmp_path: Path) -> None:
    for index, kind in enumerate(["charge.succeeded", "invoice.paid"]):
        body = json.dumps({"id": f"evt_cap{index}", "object": "event", "type": kind}).encode()
        (tmp_path / f"{index:03d}.body").write_bytes(body)
        meta = {"headers": [["Content-Type", "application/json"]], "source": "stripe"}
        (tmp_path / f"{index:03d}.json").write_text(json.dumps(meta))
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        STRIPE_SECRET,
        "--fixtures",
        str(tmp_path),
        "--json",
        *LIMIT,
    )
    assert run.code == 0, run.out
    assert run.json()["bodies"] == ["000", "001"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scheme", "nope", "--secret", "x"), "unknown scheme 'nope'"),
        (("--scheme", "standard-webhooks", "--secret", "not*base64"), "must be base64"),
        (("--scheme", "stripe", "--secret", "x", "--option", "k=v"), "has no option 'k'"),
        (("--scheme", "stripe", "--secret", "env:HOOKYARD_UNSET_VAR"), "is not set"),
        (("--scheme", "stripe", "--secret", "x", "--fixtures", "/no/such/dir"), "fixtures"),
        (("--scheme", "stripe"), "needs a secret"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    server: RunningServer, args: tuple[str, ...], message: str
) -> None:
    run = hookyard("conformance", f"{server.url}/in/stripe", *args)
    assert run.code == 2
    assert run.out == ""
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_an_empty_fixtures_directory_is_a_usage_error(
    server: RunningServer, tmp_path: Path
) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        "x",
        "--fixtures",
        str(tmp_path),
    )
    assert run.code == 2
    assert "no NAME.body files" in run.err


def test_an_unreachable_receiver_exits_2() -> None:
    url = f"http://127.0.0.1:{free_port()}/in/stripe"
    run = hookyard("conformance", url, "--scheme", "stripe", "--secret", "x", "--timeout", "2")
    assert run.code == 2
    assert run.err.startswith("hookyard: error: cannot reach")
    assert len(run.err.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["127.0.0.1:8000/in/x", "not a url"])
def test_a_malformed_url_exits_2(url: str) -> None:
    run = hookyard("conformance", url, "--scheme", "stripe", "--secret", "x")
    assert run.code == 2
    assert "http://" in run.err


def test_an_unknown_check_is_a_click_usage_error(server: RunningServer) -> None:
    run = hookyard(
        "conformance",
        f"{server.url}/in/stripe",
        "--scheme",
        "stripe",
        "--secret",
        "x",
        "--check",
        "nope",
    )
    assert run.code == 2
    assert "--check" in run.err


# -- the weak example receiver over real HTTP ---------------------------------------------------


@pytest.fixture
def weak_receiver(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "weak.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(ROOT / "examples" / "receivers"),
            "weak_receiver:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "WEBHOOK_SECRET": WEAK_SECRET},
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "weak.log").read_text())
            try:
                return httpx.get(f"{base}/count", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(answers, timeout=20, message="the weak receiver did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_the_weak_receiver_fails_exactly_its_gaps(weak_receiver: str) -> None:
    run = hookyard(
        "conformance",
        f"{weak_receiver}/webhooks",
        "--scheme",
        "standard-webhooks",
        "--secret",
        WEAK_SECRET,
        "--side-effect-url",
        "/count",
        "--max-body-bytes",
        "1048576",
        "--json",
    )
    assert run.code == 1
    assert failed(run) == {"stale-timestamp", "future-timestamp", "duplicate-side-effect"}
    assert run.json()["summary"] == {"pass": 9, "fail": 3, "n/a": 0}

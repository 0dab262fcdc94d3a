"""Proof: hookyard's own ingest passes the whole battery, and a weak receiver fails exactly
the checks it should.

The ingest runs as the real ``hookyard serve`` subprocess on SQLite; the example
receivers run in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hookyard.config import settings_from_mapping
from hookyard.testing import CHECK_NAMES, Fixture, run_conformance
from support.conformance_keys import HMAC_OPTIONS, load_example, options_for
from support.server import RunningServer, start_server

pytestmark = pytest.mark.slow

MAX_BODY = 65536


def _sendgrid_keys() -> tuple[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()


SENDGRID_PRIVATE, SENDGRID_PUBLIC = _sendgrid_keys()

#: scheme -> (what the sender signs with, what hookyard is configured with)
SOURCES: dict[str, tuple[str, str]] = {
    "standard-webhooks": ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",) * 2,
    "stripe": ("whsec_integration_stripe",) * 2,
    "slack": ("8f742231b10e8888abcd99yyyzzz85a5",) * 2,
    "paddle": ("pdl_ntf_01integration",) * 2,
    "twitch": ("twitch-integration-secret",) * 2,
    "sendgrid": (SENDGRID_PRIVATE, SENDGRID_PUBLIC),
    "github": ("It's a Secret to Everybody",) * 2,
    "shopify": ("shopify-integration-secret",) * 2,
    "square": ("square-integration-key",) * 2,
    "twilio": ("twilio-integration-token",) * 2,
    "hmac": ("generic-integration-secret",) * 2,
}
TIMESTAMPED = ["standard-webhooks", "stripe", "slack", "paddle", "twitch", "sendgrid"]

# What cannot apply, by scheme; everything else must pass against hookyard.
NOT_APPLICABLE = {
    "standard-webhooks": set(),
    "stripe": set(),
    "paddle": set(),
    "slack": {"key-rotation"},
    "twitch": {"key-rotation"},
    "sendgrid": {"key-rotation"},
    "hmac": {"key-rotation"},
    "square": {"stale-timestamp", "future-timestamp", "key-rotation"},
    "github": {"stale-timestamp", "future-timestamp", "other-message-id", "key-rotation"},
    "shopify": {"stale-timestamp", "future-timestamp", "other-message-id", "key-rotation"},
    "twilio": {"stale-timestamp", "future-timestamp", "other-message-id", "key-rotation"},
}
# hookyard ingest has no side-effect counter; dedup shows in the duplicate check's 200.
NO_COUNTER = {"duplicate-side-effect"}


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def hookyard_config() -> str:
    lines = ["[server]", f"max_body_bytes = {MAX_BODY}", ""]
    for name, (_, configured) in SOURCES.items():
        lines += [
            f"[sources.{name}]",
            f'scheme = "{name}"',
            f"secrets = [{_toml_string(configured)}]",
        ]
        if name == "hmac":
            lines += [f"{key} = {_toml_string(value)}" for key, value in HMAC_OPTIONS.items()]
        lines.append("")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def hookyard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir: Path = tmp_path_factory.mktemp("conformance")
    server = start_server(
        workdir, config=hookyard_config(), database=f"sqlite:///{workdir / 'hookyard.db'}"
    )
    yield server
    server.stop()


@pytest.mark.parametrize("name", [*TIMESTAMPED, "github"])
async def test_hookyard_ingest_passes_the_battery(hookyard: RunningServer, name: str) -> None:
    signing, _ = SOURCES[name]
    report = await run_conformance(
        f"{hookyard.url}/in/{name}", name, signing, max_body_bytes=MAX_BODY
    )
    assert report.ok, report.table()
    assert report.not_applicable == NOT_APPLICABLE[name] | NO_COUNTER
    assert report.passed == set(CHECK_NAMES) - report.not_applicable
    if name in TIMESTAMPED:
        assert {"stale-timestamp", "future-timestamp", "other-message-id"} <= report.passed
    assert report.result("duplicate-delivery").got == "202, 200"
    assert report.result("oversized-body").got == "413"


@pytest.mark.parametrize("name", ["shopify", "square", "twilio", "hmac"])
async def test_hookyard_ingest_passes_for_the_other_schemes(
    hookyard: RunningServer, name: str
) -> None:
    signing, _ = SOURCES[name]
    report = await run_conformance(
        f"{hookyard.url}/in/{name}",
        name,
        signing,
        options=options_for(name),
        max_body_bytes=MAX_BODY,
    )
    assert report.ok, report.table()
    assert report.not_applicable == NOT_APPLICABLE[name] | NO_COUNTER


async def test_captured_bodies_are_signed_at_run_time(
    hookyard: RunningServer, tmp_path: Path
) -> None:
    captured = {
        "charge": b'{\n  "id": "evt_1Nq", "object": "event",\n  "type": "charge.succeeded"\n}',
        "unicode": '{"id": "evt_2Nq", "type": "customer.updated", "name": "Zoë ✓"}'.encode(),
        "invoice": b'{"id":"evt_3Nq","type":"invoice.paid","data":{"object":{"id":"in_1"}}}',
    }
    for label, body in captured.items():
        (tmp_path / f"{label}.body").write_bytes(body)
        meta = {
            "headers": [
                ["Content-Type", "application/json; charset=utf-8"],
                ["Stripe-Signature", "t=1600000000,v1=" + "0" * 64],
                ["User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"],
            ],
            "source": "stripe",
            "event_type": "charge.succeeded",
            "verdict": "valid",
            "received_at": "2026-01-01T00:00:00Z",
        }
        (tmp_path / f"{label}.json").write_text(json.dumps(meta))
    signing, _ = SOURCES["stripe"]
    report = await run_conformance(
        f"{hookyard.url}/in/stripe", "stripe", signing, fixtures=tmp_path, max_body_bytes=MAX_BODY
    )
    assert report.ok, report.table()
    assert report.bodies == ("charge", "invoice", "unicode")
    valid = report.result("valid-signature")
    assert [(c.body, c.outcome) for c in valid.cases] == [
        ("charge", "pass"),
        ("invoice", "pass"),
        ("unicode", "pass"),
    ]
    # The oversized check builds its own body and runs once.
    assert len(report.result("oversized-body").cases) == 1


async def test_a_loose_tolerance_fails_the_window_checks(tmp_path: Path) -> None:
    secret = "whsec_integration_loose"
    config = (
        f'[sources.loose]\nscheme = "stripe"\nsecrets = ["{secret}"]\ntolerance_seconds = 3600\n'
    )
    server = start_server(tmp_path, config=config, database=f"sqlite:///{tmp_path / 'h.db'}")
    try:
        report = await run_conformance(f"{server.url}/in/loose", "stripe", secret)
    finally:
        server.stop()
    assert report.failed == {"stale-timestamp", "future-timestamp"}


async def test_hookyard_in_process_with_its_lifespan(tmp_path: Path) -> None:
    from hookyard.app import create_app

    secret, _ = SOURCES["standard-webhooks"]
    settings = settings_from_mapping(
        {
            "server": {"database": f"sqlite:///{tmp_path / 'in-process.db'}"},
            "sources": {"app": {"scheme": "standard-webhooks", "secrets": [secret]}},
        }
    )
    report = await run_conformance(
        create_app(settings, with_workers=False), "standard-webhooks", secret, path="/in/app"
    )
    assert report.ok, report.table()


# -- the example receivers -------------------------------------------------------------------


WEAK_GAPS = {"stale-timestamp", "future-timestamp", "duplicate-side-effect"}


async def test_the_weak_receiver_fails_exactly_its_gaps() -> None:
    weak = load_example("weak_receiver")
    report = await run_conformance(
        weak.create_app(),
        "standard-webhooks",
        weak.DEMO_SECRET,
        path="/webhooks",
        side_effect_url="/count",
        max_body_bytes=weak.MAX_BODY_BYTES,
    )
    assert report.failed == WEAK_GAPS, report.table()
    assert report.passed == set(CHECK_NAMES) - WEAK_GAPS
    assert report.not_applicable == set()
    assert "no dedup" in report.result("duplicate-side-effect").why


async def test_the_weak_receiver_with_fixtures_fails_the_same_checks(tmp_path: Path) -> None:
    weak = load_example("weak_receiver")
    fixtures = [
        Fixture(
            "a",
            b'{"type": "user.created", "data": {"id": 1}}',
            (("Content-Type", "application/json"),),
        ),
        Fixture("b", b"binary\x00\xffbody", (("Content-Type", "application/octet-stream"),)),
    ]
    report = await run_conformance(
        weak.create_app(),
        "standard-webhooks",
        weak.DEMO_SECRET,
        path="/webhooks",
        side_effect_url="/count",
        fixtures=fixtures,
        max_body_bytes=weak.MAX_BODY_BYTES,
    )
    assert report.failed == WEAK_GAPS, report.table()


async def test_the_starlette_example_passes_everything() -> None:
    strict = load_example("starlette_receiver")
    report = await run_conformance(
        strict.create_app(),
        "standard-webhooks",
        strict.DEMO_SECRET,
        path="/webhooks",
        side_effect_url="/count",
        max_body_bytes=strict.MAX_BODY_BYTES,
    )
    assert report.ok, report.table()
    assert report.passed == set(CHECK_NAMES)

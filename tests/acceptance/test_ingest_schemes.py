"""Every scheme through ``POST /in/{source}``: signed → 202 with id and type; tampered → 401."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookyard.signatures import create_scheme
from support.server import RunningServer, start_server

HMAC_SECRET = "hookyard-test-secret"
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SCHEMES = {
    "standard-webhooks": SW_SECRET,
    "stripe": "whsec_test_secret",
    "github": HMAC_SECRET,
    "slack": HMAC_SECRET,
    "shopify": HMAC_SECRET,
    "square": HMAC_SECRET,
    "paddle": "pdl_ntfset_test",
    "twitch": "twitch-secret-0123",
    "twilio": HMAC_SECRET,
    "hmac": HMAC_SECRET,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir: Path = tmp_path_factory.mktemp("schemes")
    tables = []
    for name, secret in SCHEMES.items():
        tables.append(
            f'[sources.{name.replace("-", "_")}]\nscheme = "{name}"\nsecrets = ["{secret}"]'
        )
    # URL-signing schemes sign the URL the provider used: pin it, as behind a proxy.
    config = "\n\n".join(tables)
    running = start_server(workdir, config=config)
    for name in ("square", "twilio"):
        config = config.replace(
            f'[sources.{name}]\nscheme = "{name}"',
            f'[sources.{name}]\nscheme = "{name}"\npublic_url = "{running.url}/in/{name}"',
        )
    running.stop()
    running = start_server(workdir, config=config, port=running.port)
    yield running
    running.stop()


def signed(scheme: str, body: bytes, server: RunningServer, msg_id: str) -> dict[str, str]:
    url = f"{server.url}/in/{scheme.replace('-', '_')}"
    headers = create_scheme(scheme).sign(body, SCHEMES[scheme], msg_id=msg_id, url=url)
    return dict(headers)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_signed_request_is_accepted_with_its_verdict(server: RunningServer, scheme: str) -> None:
    body = json.dumps(
        {"type": "order.created", "id": f"evt_{time.time_ns()}", "event_type": "order.created"}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        **signed(scheme, body, server, f"m{time.time_ns()}"),
    }
    if scheme == "twilio":
        body = b"MessageSid=SM1&SmsStatus=delivered"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed(scheme, body, server, "x"),
        }
    source = scheme.replace("-", "_")
    response = httpx.post(f"{server.url}/in/{source}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    record = httpx.get(f"{server.url}/api/events/{response.json()['id']}").json()
    assert record["verdict"] == "valid"
    assert record["verdict_detail"]["secret_index"] == 0


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_tampered_body_is_401_with_a_reason(server: RunningServer, scheme: str) -> None:
    body = b'{"type": "order.created", "amount": 100}'
    headers = {
        "Content-Type": "application/json",
        **signed(scheme, body, server, f"m{time.time_ns()}"),
    }
    if scheme == "twilio":
        body, headers["Content-Type"] = b"MessageSid=SM1", "application/x-www-form-urlencoded"
        headers.update(signed(scheme, body, server, "x"))
    tampered = body.replace(b"100", b"900").replace(b"SM1", b"SM2")
    response = httpx.post(
        f"{server.url}/in/{scheme.replace('-', '_')}", content=tampered, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert response.json()["detail"]


def test_twitch_subscription_check_is_answered_with_the_challenge(server: RunningServer) -> None:
    body = b'{"challenge": "pogchamp-kappa-360noscope", "subscription": {"type": "channel.follow"}}'
    headers = dict(create_scheme("twitch").sign(body, SCHEMES["twitch"], msg_id="m-verify"))
    headers["Twitch-Eventsub-Message-Type"] = "webhook_callback_verification"
    response = httpx.post(f"{server.url}/in/twitch", content=body, headers=headers)
    assert response.status_code == 200
    assert response.text == "pogchamp-kappa-360noscope"
    assert response.headers["content-type"].startswith("text/plain")


def test_slack_url_verification_is_answered_with_the_challenge(server: RunningServer) -> None:
    body = b'{"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'
    headers = dict(create_scheme("slack").sign(body, SCHEMES["slack"]))
    response = httpx.post(f"{server.url}/in/slack", content=body, headers=headers)
    assert response.status_code == 200
    assert response.text == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def test_an_unsigned_challenge_gets_no_answer(server: RunningServer) -> None:
    body = b'{"challenge": "steal-me", "type": "url_verification"}'
    response = httpx.post(f"{server.url}/in/slack", content=body)
    assert response.status_code == 401
    assert "steal-me" not in response.text

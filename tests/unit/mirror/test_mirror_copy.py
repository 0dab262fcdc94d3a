"""What a mirror copy carries on the wire: marked, stripped or re-signed, no credentials."""

from __future__ import annotations

import time

import pytest

from hookyard.config import settings_from_mapping
from hookyard.delivery.sender import build_request
from hookyard.ids import UlidFactory
from hookyard.mirror.copy import CopyMaker, MirrorCopy, NotCopied
from hookyard.models import DeliveryEvent
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.registry import create_scheme
from hookyard.testing.signing import sign_request
from support.conformance_keys import KEYS, SIGNED_SCHEMES, options_for, require_scheme

IDS = UlidFactory()
BODY = b'{"id": "evt_1", "type": "order.paid", "data": {"email": "ann@example.com"}}'
URL = "https://app.example/in/src"


def maker(scheme: str, **mirror: object) -> CopyMaker:
    options = options_for(scheme)
    source: dict[str, object] = {"scheme": scheme, **options}
    if scheme != "none":
        source["secrets"] = [KEYS[scheme].verifying]
    data = {
        "sources": {"src": source},
        "mirrors": {
            "staging": {"sources": ["src"], "url": "https://staging.example/{source}", **mirror}
        },
    }
    settings = settings_from_mapping(data, "cfg.toml")
    return CopyMaker(
        settings.mirrors["staging"],
        {"src": settings.sources["src"].scheme},
        redacted_headers={"src": ["X-Internal-Session"]},
    )


def provider_event(scheme: str, body: bytes = BODY) -> DeliveryEvent:
    signed = sign_request(
        scheme,
        URL,
        body,
        KEYS[scheme].signing,
        msg_id="msg_1",
        timestamp=int(time.time()),
        headers=[("Content-Type", "application/json"), ("X-Shop-Domain", "one.example")],
        options=options_for(scheme),
    )
    extra = [
        ("Authorization", "Bearer prod-token"),
        ("Cookie", "session=abc"),
        ("X-Api-Key", "k-123"),
        ("X-Internal-Session", "s-1"),
        ("X-Hookyard-Mirror", "spoofed"),
        ("X-Hookyard-Id", "spoofed"),
        ("Content-Length", str(len(body))),
        ("Weird*Name", "kept"),
    ]
    headers = tuple(
        (n.encode("latin-1"), v.encode("latin-1")) for n, v in (*signed.headers, *extra)
    )
    return DeliveryEvent(
        IDS.new(), "src", 0, "order.paid", "evt_1", "application/json", headers, body
    )


def sent(copy: MirrorCopy | NotCopied) -> dict[str, list[str]]:
    assert isinstance(copy, MirrorCopy), copy
    request = build_request(copy.destination, copy.event, 1)
    assert request.url == "https://staging.example/src"
    names: dict[str, list[str]] = {}
    for name, value in request.headers:
        names.setdefault(name.decode().lower(), []).append(value.decode("latin-1"))
    return names


@pytest.mark.parametrize("scheme", SIGNED_SCHEMES)
def test_strip_removes_every_signature_header_of_each_scheme(scheme: str) -> None:
    require_scheme(scheme)
    event = provider_event(scheme)
    headers = sent(maker(scheme).make(event))
    declared = create_scheme(scheme, options_for(scheme)).scheme_headers
    for name in (*declared.signature, *declared.signed):
        assert name.lower() not in headers, name
    message = SignedMessage.from_text_headers(
        [(n, v) for n, vs in headers.items() for v in vs], BODY, url=URL
    )
    verdict = create_scheme(scheme, options_for(scheme)).verify(
        message, [KEYS[scheme].verifying], now=time.time()
    )
    assert verdict.status == "invalid"  # nothing left that production's secret would accept


def test_a_copy_carries_no_credential_and_says_what_it_is() -> None:
    event = provider_event("stripe")
    headers = sent(maker("stripe").make(event))
    for name in ("authorization", "cookie", "x-api-key", "x-internal-session", "content-length"):
        assert name not in headers, name
    assert headers["x-hookyard-mirror"] == ["production"]
    assert headers["x-hookyard-mirror-of"] == [event.id]
    assert headers["x-hookyard-id"] == [event.id]  # hookyard's own, not the spoofed one
    assert headers["x-shop-domain"] == ["one.example"]
    assert headers["weird*name"] == ["kept"]
    assert headers["content-type"] == ["application/json"]


@pytest.mark.parametrize("scheme", ["stripe", "github", "standard-webhooks", "slack"])
def test_a_resigned_copy_verifies_with_the_staging_secret(scheme: str) -> None:
    staging = {"stripe": "whsec_staging", "github": "staging", "slack": "staging-slack"}.get(
        scheme, "whsec_c3RhZ2luZy1zZWNyZXQtZm9yLXRlc3Rz"
    )
    copy = maker(
        "stripe", signatures="resign", signing={"scheme": scheme, "secret": staging}, mask=["email"]
    ).make(provider_event("stripe"))
    assert isinstance(copy, MirrorCopy) and copy.reshaped
    request = build_request(copy.destination, copy.event, 1)
    assert b"ann@example.com" not in request.body
    text_headers = [(n.decode(), v.decode("latin-1")) for n, v in request.headers]
    message = SignedMessage.from_text_headers(text_headers, request.body, url=request.url)
    verifier = create_scheme(scheme)
    assert verifier.verify(message, [staging], now=time.time()).status == "valid"
    assert verifier.verify(message, [KEYS[scheme].verifying], now=time.time()).status == "invalid"
    assert request.headers.count((b"X-Hookyard-Mirror", b"production")) == 1


def test_the_log_hash_is_of_the_bytes_sent() -> None:
    import hashlib

    plain = maker("stripe").make(provider_event("stripe"))
    masked = maker("stripe", mask=["email"]).make(provider_event("stripe"))
    assert isinstance(plain, MirrorCopy) and isinstance(masked, MirrorCopy)
    assert plain.body_sha256 == hashlib.sha256(BODY).hexdigest() and not plain.reshaped
    assert masked.body_sha256 == hashlib.sha256(masked.event.body).hexdigest()
    assert masked.body_sha256 != plain.body_sha256


def test_an_unmaskable_body_is_not_copied() -> None:
    copy = maker("stripe", mask=["email"]).make(provider_event("stripe", b"email=ann@x.example"))
    assert isinstance(copy, NotCopied) and copy.reason == "unshapeable"


def test_wants_follows_sources_and_event_types() -> None:
    m = maker("stripe", events=["order.*"])
    event = provider_event("stripe")
    assert m.wants(event)
    other = DeliveryEvent(event.id, "other", 0, "order.paid", None, "", (), b"")
    assert not m.wants(other)
    untyped = DeliveryEvent(event.id, "src", 0, None, None, "", (), b"")
    assert not m.wants(untyped)


def test_a_sources_redacted_headers_never_reach_staging() -> None:
    from hookyard.cli.mirror import copy_maker

    data = {
        "sources": {"src": {"scheme": "none", "redact_headers": ["X-Partner-Session"]}},
        "mirrors": {"staging": {"sources": ["src"], "url": "https://staging.example/"}},
    }
    settings = settings_from_mapping(data, "cfg.toml")
    event = DeliveryEvent(
        IDS.new(),
        "src",
        0,
        None,
        None,
        "application/json",
        ((b"X-Partner-Session", b"[redacted]"), (b"X-Other", b"1")),
        b"{}",
    )
    copy = copy_maker(settings, settings.mirrors["staging"]).make(event)
    headers = sent_to(copy)
    assert "x-partner-session" not in headers and headers["x-other"] == ["1"]


def sent_to(copy: MirrorCopy | NotCopied) -> dict[str, list[str]]:
    assert isinstance(copy, MirrorCopy), copy
    request = build_request(copy.destination, copy.event, 1)
    names: dict[str, list[str]] = {}
    for name, value in request.headers:
        names.setdefault(name.decode().lower(), []).append(value.decode("latin-1"))
    return names

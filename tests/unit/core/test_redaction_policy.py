"""Redaction's pure parts: header values as a marker, JSON fields replaced, the settings."""

from __future__ import annotations

import json

import pytest

from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError
from hookyard.models import RedactionCandidate
from hookyard.redaction.fields import FieldRedaction, redact_body
from hookyard.redaction.headers import MARKER_BYTES, header_names, redact, redacted_names

HEADERS = (
    (b"Content-Type", b"application/json"),
    (b"AUTHORIZATION", b"Bearer live_123"),
    (b"Cookie", b"a=1"),
    (b"cookie", b"b=2"),
)


def test_named_headers_keep_their_place_and_lose_their_value() -> None:
    out = redact(HEADERS, header_names(["authorization", "Cookie"]))
    assert out == (
        (b"Content-Type", b"application/json"),
        (b"AUTHORIZATION", MARKER_BYTES),
        (b"Cookie", MARKER_BYTES),
        (b"cookie", MARKER_BYTES),
    )
    assert redacted_names(out) == ["AUTHORIZATION", "Cookie", "cookie"]


def test_nothing_to_redact_is_the_same_list() -> None:
    plain = ((b"Content-Type", b"text/plain"),)
    assert redact(plain, header_names(["Authorization"])) is plain
    assert redact(HEADERS, frozenset()) is HEADERS


def test_the_default_redacts_the_usual_credentials_and_an_empty_list_none() -> None:
    settings = settings_from_mapping({"sources": {"a": {}, "b": {"redact_headers": []}}})
    assert settings.sources["a"].redact_headers == header_names(
        ["Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key"]
    )
    assert settings.sources["b"].redact_headers == frozenset()


PLAN = FieldRedaction("s", ("Email", "/items/0/card"), 60.0)


def candidate(body: bytes, content_type: str = "application/json") -> RedactionCandidate:
    return RedactionCandidate("e1", body, content_type, busy=False)


def test_keys_anywhere_and_pointers_exactly_are_replaced() -> None:
    body = b'{"email":"a@x","n":1.50,"items":[{"card":"4242","email":"b@x"}],"e":"keep"}'
    out = redact_body(PLAN, candidate(body), now_us=5)
    assert out is not None
    doc = json.loads(out.body)
    assert doc == {
        "email": "[redacted]",
        "n": 1.50,
        "items": [{"card": "[redacted]", "email": "[redacted]"}],
        "e": "keep",
    }
    assert b"1.50" in out.body  # number literals as they arrived
    assert (out.redaction.replaced, out.redaction.redacted_us) == (3, 5)


@pytest.mark.parametrize("body", [b'{"other": 1}', b"email=a@x", b"\xff\xfe", b""])
def test_a_body_without_a_match_or_not_json_is_left(body: bytes) -> None:
    assert redact_body(PLAN, candidate(body, "text/plain"), now_us=1) is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"redact_fields": ["email"]}, "redact_after: required with redact_fields"),
        ({"redact_after": "1d"}, "redact_fields: required with redact_after"),
        ({"redact_fields": ["/a~9"], "redact_after": "1d"}, "must be followed by 0 or 1"),
        ({"redact_fields": ["email"], "redact_after": "later"}, "expected a duration"),
        ({"redact_fields": "email", "redact_after": "1d"}, "must be a list"),
        ({"redact_headers": "Authorization"}, "redact_headers: must be a list"),
    ],
)
def test_bad_redaction_settings_name_their_key(source: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping({"sources": {"a": source}})


def test_field_redactions_come_from_the_sources_that_ask() -> None:
    settings = settings_from_mapping(
        {"sources": {"a": {"redact_fields": ["email"], "redact_after": "7d"}, "b": {}}}
    )
    assert settings.field_redactions == [FieldRedaction("a", ("email",), 7 * 86400.0)]


def test_forwarding_a_header_its_source_redacts_is_a_config_error() -> None:
    destinations = {"d": {"url": "https://example.com/hook", "forward_headers": ["authorization"]}}
    with pytest.raises(ConfigError, match=r"destinations.d.forward_headers: 'authorization'"):
        settings_from_mapping({"sources": {"a": {}}, "destinations": destinations})
    kept = {"a": {"redact_headers": ["Cookie"]}}
    assert settings_from_mapping({"sources": kept, "destinations": destinations}).destinations
    globbed = {"d": {"url": "https://example.com/hook", "forward_headers": ["X-*"]}}
    assert settings_from_mapping({"sources": {"a": {}}, "destinations": globbed}).destinations

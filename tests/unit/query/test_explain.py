"""Re-verifying stored requests with the current secrets, using the real schemes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hookyard.config import SourceConfig
from hookyard.inspect.explain import Explanation, explain_event, stored_verdict
from hookyard.models import EventRecord, EventSummary, HeaderList, Verdict
from hookyard.signatures.registry import create_scheme

BODY = b'{"id":"evt_1","type":"invoice.paid","data":{"amount":2000}}'
SIGNED_AT = 1_700_000_000
OLD, NEW = "whsec_old_secret", "whsec_new_secret"


def record(
    headers: HeaderList,
    body: bytes = BODY,
    *,
    received_s: float = SIGNED_AT + 2,
    verdict: Verdict | None = None,
    source: str = "stripe",
    path: str = "/in/stripe",
    query: bytes = b"",
) -> EventRecord:
    v = verdict or Verdict(status="valid", reason="v1 signature matches", secret_index=0)
    detail: dict[str, Any] = {
        "computed": v.computed, "received": v.received,
        "signed_content": v.signed_content, "timestamp": v.timestamp,
    }  # fmt: skip
    return EventRecord(
        summary=EventSummary(
            id="01HF7YAT000000000000000001",
            source=source,
            received_us=int(received_s * 1_000_000),
            method="POST",
            path=path,
            body_size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest(),
            content_type="application/json",
            verdict=v.status,
            verdict_reason=v.reason,
            provider_event_id="evt_1",
            event_type="invoice.paid",
            status="stored",
            duplicate_count=0,
        ),
        remote_addr="127.0.0.1",
        query_string=query,
        headers=headers,
        secret_index=v.secret_index,
        last_duplicate_us=None,
        verdict_detail=detail,
    )


def stripe_source(*secrets: str, tolerance: int = 300) -> SourceConfig:
    return SourceConfig(
        name="stripe",
        scheme_name="stripe",
        scheme=create_scheme("stripe"),
        secrets=secrets,
        tolerance_seconds=tolerance,
    )


def stripe_headers(secret: str, timestamp: int = SIGNED_AT) -> HeaderList:
    signed = create_scheme("stripe").sign(BODY, secret, timestamp=timestamp)
    return (
        (b"Content-Type", b"application/json"),
        *((n.encode(), v.encode()) for n, v in signed),
    )


def no_secret_in(found: Explanation, *secrets: str) -> None:
    text = json.dumps(found.to_dict())
    for secret in secrets:
        assert secret not in text


def test_rotation_names_the_secret_that_matches_now() -> None:
    found = explain_event(record(stripe_headers(OLD)), BODY, stripe_source(NEW, OLD))
    assert found.ok and found.configured
    assert found.current is not None and found.current.status == "valid"
    assert found.current.secret_index == 1
    assert found.changed  # secret #0 at receipt, #1 now
    assert [(k.index, k.matched) for k in found.keys] == [(0, False), (1, True)]
    assert found.keys[1].computed == found.current.received
    assert found.keys[0].computed not in (None, found.current.received)
    assert found.signed_timestamp == SIGNED_AT
    assert found.skew_seconds == 2.0 and found.within_tolerance is True
    assert any("#0 at receipt and #1 now" in note for note in found.notes)
    no_secret_in(found, OLD, NEW)


def test_unchanged_when_the_same_secret_still_matches() -> None:
    found = explain_event(record(stripe_headers(OLD)), BODY, stripe_source(OLD))
    assert found.ok and not found.changed and not found.notes


def test_a_secret_rotated_away_no_longer_verifies() -> None:
    found = explain_event(record(stripe_headers(OLD)), BODY, stripe_source(NEW))
    assert not found.ok and found.changed
    assert found.current is not None and found.current.reason == "signature mismatch"
    assert found.current.received and found.current.computed != found.current.received
    assert [k.matched for k in found.keys] == [False]
    assert any("at receipt the request was valid" in note for note in found.notes)
    data = found.to_dict()
    assert data["stored"]["status"] == "valid" and data["current"]["status"] == "invalid"


def test_judged_at_receipt_time_and_the_window_reported() -> None:
    late = record(stripe_headers(OLD), received_s=SIGNED_AT + 1000)
    found = explain_event(late, BODY, stripe_source(OLD))
    assert not found.ok
    assert found.current is not None and "too old" in found.current.reason
    assert found.skew_seconds == 1000.0 and found.within_tolerance is False
    assert found.keys[0].matched  # the key is right; the timestamp is not
    assert any("timestamp window" in note for note in found.notes)
    assert found.to_dict()["timestamp"]["signed_at"] == "2023-11-14T22:13:20Z"


def test_tampered_body_does_not_verify() -> None:
    found = explain_event(record(stripe_headers(OLD)), BODY + b" ", stripe_source(OLD))
    assert not found.ok and found.current is not None
    assert found.current.reason == "signature mismatch"


def test_source_no_longer_configured() -> None:
    stored = Verdict(
        status="valid", reason="ok", secret_index=0, computed="c", received="c", timestamp=5
    )
    found = explain_event(record(stripe_headers(OLD), verdict=stored), BODY, None)
    assert not found.configured and not found.ok and found.changed
    assert found.current is None and found.keys == ()
    assert found.stored == stored
    assert "not in the current configuration" in found.notes[0]
    assert found.to_dict()["current"] is None


def test_unsigned_source() -> None:
    source = SourceConfig(name="demo", scheme_name="none", scheme=create_scheme("none"))
    unsigned = Verdict(status="unsigned", reason="source is not signed")
    found = explain_event(record((), verdict=unsigned, source="demo"), BODY, source)
    assert found.ok and not found.changed and found.keys == ()
    assert found.tolerance_seconds is None


def test_signed_url_rebuilt_from_host_path_and_query() -> None:
    url = "http://hooks.example.com/in/twilio?site=1"
    body = b"CallSid=CA1&From=%2B15550001"
    signed = create_scheme("twilio").sign(body, "twilio-token", url=url)
    headers: HeaderList = (
        (b"Host", b"hooks.example.com"),
        (b"Content-Type", b"application/x-www-form-urlencoded"),
        *((n.encode(), v.encode()) for n, v in signed),
    )
    stored = record(headers, body, source="twilio", path="/in/twilio", query=b"site=1")
    source = SourceConfig(
        name="twilio", scheme_name="twilio", scheme=create_scheme("twilio"),
        secrets=("twilio-token",),
    )  # fmt: skip
    found = explain_event(stored, body, source)
    assert found.ok and found.url == url
    assert any("rebuilt" in note for note in found.notes)

    behind_proxy = SourceConfig(
        name="twilio", scheme_name="twilio", scheme=create_scheme("twilio"),
        secrets=("twilio-token",), public_url="https://public.example.com/hook",
    )  # fmt: skip
    found = explain_event(stored, body, behind_proxy)
    assert found.url == "https://public.example.com/hook" and not found.ok
    assert not any("rebuilt" in note for note in found.notes)


def test_stored_verdict_is_rebuilt_from_the_row() -> None:
    v = Verdict(
        status="invalid", reason="signature mismatch", computed="a", received="b",
        signed_content="3 bytes", timestamp=7,
    )  # fmt: skip
    assert stored_verdict(record((), verdict=v)) == v

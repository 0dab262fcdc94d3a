"""Ingest stores credentials as a marker, after verifying the signature on what arrived."""

from __future__ import annotations

from hookyard.config import settings_from_mapping
from hookyard.ingest import IngestApp
from hookyard.inspect.explain import explain_event
from hookyard.redaction.headers import MARKER_BYTES
from hookyard.store.base import Store
from hookyard.testing.signing import sign_hmac
from support.ingest import JSON, Post, call

SETTINGS = settings_from_mapping(
    {
        "sources": {
            "plain": {},
            "keeps": {"redact_headers": []},
            # The signature itself is a redacted header here: verified, then masked.
            "signed": {
                "scheme": "hmac",
                "secrets": ["s3cret"],
                "header": "X-Api-Key",
            },
        }
    }
)
CREDENTIALS = (
    (b"Authorization", b"Bearer live_123"),
    (b"Cookie", b"session=abc"),
    (b"X-Trace", b"t-1"),
)


async def test_credentials_are_stored_as_a_marker_by_default(store: Store) -> None:
    app = IngestApp(SETTINGS.sources, store)
    answer = await call(app, Post("plain", b"{}", headers=(JSON, *CREDENTIALS)))
    assert answer.status == 202
    record = await store.get_event(str(answer.payload["id"]))
    assert record is not None
    assert record.headers == (
        JSON,
        (b"Authorization", MARKER_BYTES),
        (b"Cookie", MARKER_BYTES),
        (b"X-Trace", b"t-1"),
    )


async def test_a_source_may_keep_them(store: Store) -> None:
    app = IngestApp(SETTINGS.sources, store)
    answer = await call(app, Post("keeps", b"{}", headers=(JSON, *CREDENTIALS)))
    record = await store.get_event(str(answer.payload["id"]))
    assert record is not None and record.headers == (JSON, *CREDENTIALS)


async def test_the_signature_is_checked_before_its_header_is_redacted(store: Store) -> None:
    app = IngestApp(SETTINGS.sources, store)
    body = b'{"id": "evt_1"}'
    [(name, value)] = sign_hmac(body, "s3cret", options={"header": "X-Api-Key"})
    good = await call(app, Post("signed", body, headers=(JSON, (name.encode(), value.encode()))))
    assert good.status == 202
    bad = await call(app, Post("signed", body, headers=(JSON, (name.encode(), b"sha256=00"))))
    assert bad.status == 401
    record = await store.get_event(str(good.payload["id"]))
    assert record is not None
    assert record.summary.verdict == "valid"
    assert (b"X-Api-Key", MARKER_BYTES) in record.headers
    explained = explain_event(record, body, SETTINGS.sources["signed"])
    assert not explained.ok
    assert any("X-Api-Key" in note and "marker" in note for note in explained.notes)

"""The codec boundary of encryption at rest: what is sealed, with what bound to it.

Only an event's body and header list are sealed; every column a filter reads (source,
type, ids, times, verdict, status) stays in clear, so queries keep their plans. Each
backend seals a submission once, as it takes it (``seal_submission``), and every read
of a body or header list opens it here, so a new read path cannot forget to.

The associated data binds each value to its event and field: a sealed body copied to
another event, or into the header column, does not open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hookyard.exceptions import UnreadablePayload
from hookyard.keyring import Keyring, OpenFailed
from hookyard.models import (
    HeaderList,
    RedactionCandidate,
    StoredPayload,
    Submission,
    decode_headers,
    encode_headers,
)

BODY = "body"
HEADERS = "headers"


def aad(event_id: str, field: str) -> bytes:
    return f"hookyard/v1/{field}/{event_id}".encode()


def seal(keyring: Keyring, event_id: str, headers: bytes, body: bytes) -> StoredPayload:
    """The stored form under the ring's current key; in clear when there is none."""
    key = keyring.current
    if key is None:
        return StoredPayload(None, headers, body)
    return StoredPayload(
        key.id, key.seal(headers, aad(event_id, HEADERS)), key.seal(body, aad(event_id, BODY))
    )


def seal_submission(keyring: Keyring, submission: Submission) -> Submission:
    """``submission`` with its stored form set, when the ring has a key to seal with."""
    if keyring.current is None:
        return submission
    r = submission.request
    return _with_stored(submission, seal(keyring, r.id, encode_headers(r.headers), r.body))


def _with_stored(submission: Submission, stored: StoredPayload) -> Submission:
    """``dataclasses.replace(submission, stored=stored)`` without its pass through
    ``fields()`` and ``__init__`` (2 µs a request, a third of sealing, on the hot path);
    every slot is copied, so a field added to ``Submission`` later is kept."""
    copy = object.__new__(Submission)
    for name in Submission.__slots__:
        object.__setattr__(copy, name, getattr(submission, name))
    object.__setattr__(copy, "stored", stored)
    return copy


def stored_form(submission: Submission) -> StoredPayload:
    """What the writers put in the ``headers``, ``body`` and ``key_id`` columns."""
    if submission.stored is not None:
        return submission.stored
    r = submission.request
    return StoredPayload(None, encode_headers(r.headers), r.body)


def open_value(
    keyring: Keyring, event_id: str, field: str, key_id: str | None, value: bytes
) -> bytes:
    """A stored value in clear; ``UnreadablePayload`` names the event and why not."""
    if key_id is None:
        return value
    try:
        return keyring.open(key_id, value, aad(event_id, field))
    except OpenFailed as exc:
        raise UnreadablePayload(f"event {event_id}: cannot decrypt its {field}: {exc}") from None


def open_body(keyring: Keyring, event_id: str, key_id: str | None, body: bytes) -> bytes:
    return open_value(keyring, event_id, BODY, key_id, body)


def open_headers(keyring: Keyring, event_id: str, key_id: str | None, blob: bytes) -> HeaderList:
    return decode_headers(open_value(keyring, event_id, HEADERS, key_id, blob))


def seal_body_as(keyring: Keyring, event_id: str, key_id: str | None, body: bytes) -> bytes:
    """A rewritten body (field redaction) sealed under the key its row already names, so
    the row's one ``key_id`` still holds for its header list too; in clear when None."""
    if key_id is None:
        return body
    key = keyring.get(key_id)
    if key is None:
        raise UnreadablePayload(
            f"event {event_id}: cannot seal its body: key {key_id!r} is not configured"
        )
    return key.seal(body, aad(event_id, BODY))


def reseal(keyring: Keyring, event_id: str, stored: StoredPayload) -> StoredPayload:
    """``stored`` opened with whichever key sealed it and sealed again under the current
    one (``hookyard keys rotate``); ``UnreadablePayload`` when it does not open."""
    headers = open_value(keyring, event_id, HEADERS, stored.key_id, stored.headers)
    body = open_value(keyring, event_id, BODY, stored.key_id, stored.body)
    return seal(keyring, event_id, headers, body)


def key_refusal(keyring: Keyring, registered: Mapping[str, bytes]) -> str | None:
    """Why ``keyring`` cannot read a store whose events were sealed under ``registered``
    (key id → check value), or None. A key left out, or another key under a known id,
    is refused at start: every read of those events would fail, one by one."""
    for key_id in sorted(registered):
        key = keyring.get(key_id)
        if key is not None and not key.matches(registered[key_id]):
            return (
                f"encryption key {key_id!r} is not the key that sealed this database's events "
                "under that id (a wrong key, or a wrong env:/file: reference)"
            )
    missing = [i for i in sorted(registered) if keyring.get(i) is None]
    if not missing:
        return None
    names = ", ".join(repr(i) for i in missing)
    if not keyring.keys:
        return (
            f"this database holds events sealed with key {names}; "
            "set server.encryption_key to read them"
        )
    return (
        f"this database holds events sealed with key {names}, which server.encryption_key "
        "does not list; keep every old key after the new one until `hookyard keys rotate` "
        "has finished"
    )


@dataclass(frozen=True)
class ResealBatch:
    """What one ``reseal_events`` call did."""

    #: Events sealed again under the current key.
    resealed: int
    #: (event id, why) for the events that did not open; they are left as they were.
    unreadable: tuple[tuple[str, str], ...]
    #: The last event id looked at, to continue after; None when there was none left.
    last_id: str | None


def reseal_rows(
    keyring: Keyring, rows: Iterable[tuple[str, str | None, bytes, bytes]]
) -> tuple[list[tuple[str, StoredPayload]], list[tuple[str, str]]]:
    """``reseal_candidates`` rows (id, key id, headers, body) sealed again under the
    current key, and the (id, why) of those that do not open."""
    done: list[tuple[str, StoredPayload]] = []
    unreadable: list[tuple[str, str]] = []
    for event_id, key_id, headers, body in rows:
        try:
            done.append((event_id, reseal(keyring, event_id, StoredPayload(key_id, headers, body))))
        except UnreadablePayload as exc:
            unreadable.append((event_id, str(exc)))
    return done, unreadable


def redaction_candidate(row: Any, keyring: Keyring) -> RedactionCandidate:
    """A candidate row (id, body, content type, key id, busy) with its body opened; one
    that does not open is left alone, as a busy one is, and stays for a later run."""
    try:
        body = open_body(keyring, row[0], row[3], bytes(row[1]))
    except UnreadablePayload:
        return RedactionCandidate(row[0], b"", row[2], True)
    return RedactionCandidate(row[0], body, row[2], bool(row[4]))

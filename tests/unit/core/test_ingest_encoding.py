"""A gzip body is inflated, within bounds, for the event id and type only."""

from __future__ import annotations

import gzip
import zlib

from hookyard.ingest.encoding import MAX_RATIO, for_fields, gunzip
from hookyard.models import HeaderList
from hookyard.signatures.base import SignedMessage

BODY = b'{"id": "evt_1", "type": "order.paid", "pad": "' + b"x" * 200 + b'"}'


def message(body: bytes, encoding: bytes | None = b"gzip") -> SignedMessage:
    headers: HeaderList = ((b"Content-Type", b"application/json"),)
    if encoding is not None:
        headers += ((b"Content-Encoding", encoding),)
    return SignedMessage(headers=headers, body=body)


def test_a_gzip_body_is_read_inflated_and_the_message_is_otherwise_the_same() -> None:
    packed = gzip.compress(BODY)
    for name in (b"gzip", b"GZIP ", b"x-gzip"):
        read = for_fields(message(packed, name), 1 << 20)
        assert read.body == BODY and read.headers == message(packed, name).headers


def test_anything_else_is_read_as_it_arrived() -> None:
    plain = message(BODY, None)
    assert for_fields(plain, 1 << 20) is plain
    deflated = message(zlib.compress(BODY), b"deflate")  # only gzip is decoded
    assert for_fields(deflated, 1 << 20) is deflated
    not_gzip = message(b"not gzip at all", b"gzip")
    assert for_fields(not_gzip, 1 << 20) is not_gzip
    cut = message(gzip.compress(BODY)[:-12], b"gzip")  # truncated stream
    assert for_fields(cut, 1 << 20) is cut


def test_inflating_is_bounded_by_the_body_limit_and_the_ratio() -> None:
    packed = gzip.compress(BODY)
    assert for_fields(message(packed), len(BODY) - 1).body == packed  # over the body limit
    assert for_fields(message(packed), len(BODY)).body == BODY
    bomb = gzip.compress(b"0" * 10_000_000)  # ~10 KB that inflates to 10 MB
    assert len(bomb) * MAX_RATIO < 10_000_000
    assert for_fields(message(bomb), 100 << 20).body == bomb
    assert gunzip(bomb, 10_000_000) == b"0" * 10_000_000

"""A gzip-encoded body, decoded for reading the event id and type only.

The stored bytes stay as they arrived (and signatures are checked on them). Decoding is
bounded twice: never more than the source's body limit, and never more than
``MAX_RATIO`` times the compressed size (a small "zip bomb" cannot make ingest inflate
megabytes). A body that is not valid gzip, or inflates past a bound, is read as it is:
no id and no type, as for any body that does not parse. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import zlib

from hookyard.models import header_value
from hookyard.signatures.base import SignedMessage

GZIP_NAMES = frozenset({b"gzip", b"x-gzip"})
#: JSON webhooks compress 5-20 times; past this, a body is not one.
MAX_RATIO = 100
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def for_fields(message: SignedMessage, max_bytes: int) -> SignedMessage:
    """``message`` with its body gunzipped when it says ``Content-Encoding: gzip`` and
    inflates within the bounds; else ``message`` itself."""
    encoding = header_value(message.headers, "content-encoding")
    if encoding is None or encoding.strip().lower() not in GZIP_NAMES:
        return message
    decoded = gunzip(message.body, min(max_bytes, len(message.body) * MAX_RATIO))
    return message if decoded is None else dataclasses.replace(message, body=decoded)


def gunzip(body: bytes, limit: int) -> bytes | None:
    """The first gzip member of ``body`` inflated, or None when it is not gzip, is cut
    short, or would inflate past ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        return None
    if len(out) > limit or not inflater.eof:
        return None
    return out

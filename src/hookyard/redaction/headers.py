"""Credentials kept out of the store: the values of a source's ``redact_headers``.

Ingest verifies the signature on the headers as they arrived, then stores these
headers' values as :data:`MARKER`; names, order and repeats are kept, so the header list
still says what was sent, only not the secret. Pure: a header list in, one out.
"""

from __future__ import annotations

from collections.abc import Iterable

from hookyard.models import HeaderList

#: What a redacted value is stored as (headers) and replaced with (JSON fields).
MARKER = "[redacted]"
MARKER_BYTES = MARKER.encode("ascii")
#: Redacted by default in every source (``redact_headers = []`` keeps them all).
DEFAULT_REDACT_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key")


def header_names(names: Iterable[str]) -> frozenset[bytes]:
    """The lower-cased byte names ``redact`` compares with."""
    return frozenset(name.strip().lower().encode("latin-1") for name in names)


def redact(headers: HeaderList, names: frozenset[bytes]) -> HeaderList:
    """``headers`` with the value of each named header (any case, every repeat) replaced
    by the marker; the same tuple when none is present (the usual case costs a scan)."""
    if not names or not any(name.lower() in names for name, _ in headers):
        return headers
    # Pairs kept as they are are the same objects: only the redacted ones are new.
    return tuple((pair[0], MARKER_BYTES) if pair[0].lower() in names else pair for pair in headers)


def redacted_names(headers: HeaderList) -> list[str]:
    """Names of the headers stored as the marker (what ``explain`` reports)."""
    seen: dict[str, None] = {}
    for name, value in headers:
        if value == MARKER_BYTES:
            seen.setdefault(name.decode("latin-1"), None)
    return list(seen)

"""Which events a mirror copies: a pure, reproducible decision.

An event is in the sample when a hash of its key falls below ``sample_rate``. The key is
hookyard's event id by default, so the same event is always in or always out (a backfill
re-decides nothing); with ``sample_by`` it is a value inside the event (a customer id, a
repository), so every event of one entity is in or out together. The hash is not salted
by the mirror's name on purpose: two mirrors at 10% see the same entities.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from hookyard.models import DeliveryEvent, header_value

_SCALE = float(1 << 64)


@dataclass(frozen=True, slots=True)
class SampleBy:
    """``json:a.b.c`` reads a dotted path in a JSON body, ``header:Name`` a header; a bare
    value tries the JSON path first, then a header of that name."""

    kind: Literal["json", "header", "either"]
    path: tuple[str, ...]
    header: str


def parse_sample_by(value: object) -> SampleBy:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('must be a dotted JSON path or a header name, like "data.customer"')
    text = value.strip()
    kind: Literal["json", "header", "either"] = "either"
    for prefix in ("json:", "header:"):
        if text.startswith(prefix):
            kind = "json" if prefix == "json:" else "header"
            text = text[len(prefix) :]
    path = tuple(text.split("."))
    if not text or any(not part for part in path):
        raise ValueError(f"{value!r} has an empty path segment")
    return SampleBy(kind, path, text)


def sample_key(event: DeliveryEvent, by: SampleBy | None) -> str:
    """The text the decision hashes; the event id when ``by`` finds nothing, so an event
    without the field is still sampled at the configured rate."""
    if by is None:
        return event.id
    if by.kind in ("json", "either"):
        found = _json_value(event.body, by.path)
        if found is not None:
            return "json:" + found
    if by.kind in ("header", "either"):
        value = header_value(event.headers, by.header)
        if value is not None:
            return "header:" + value.decode("latin-1")
    return event.id


def in_sample(key: str, rate: float) -> bool:
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE < rate


def _json_value(body: bytes, path: tuple[str, ...]) -> str | None:
    try:
        node: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if node is None or isinstance(node, dict | list):
        return None if node is None else orjson.dumps(node, option=orjson.OPT_SORT_KEYS).decode()
    return str(node) if not isinstance(node, bool) else ("true" if node else "false")

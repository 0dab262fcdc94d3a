"""The body parse behind event id and type extraction: orjson with ``json`` behind it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookyard.signatures.base import json_body, json_field


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt_1", "type": "order.created"}',
        b'  [1, 2.5, "three", null, true]',
        b'{"id": 1, "id": 2}',  # a repeated key: the last one wins in both parsers
        b'{"caf\\u00e9": "\\ud83d\\ude00"}',
    ],
)
def test_json_body_reads_what_json_reads(body: bytes) -> None:
    assert json_body(body) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # What orjson refuses and the standard parser still reads:
        (b'{"ratio": NaN}', "nan"),
        ('{"type": "utf16"}'.encode("utf-16-le"), {"type": "utf16"}),
        (b'{"lone": "\\ud800"}', {"lone": "\ud800"}),
    ],
)
def test_what_orjson_refuses_is_read_by_json(body: bytes, expected: Any) -> None:
    parsed = json_body(body)
    if expected == "nan":
        assert parsed["ratio"] != parsed["ratio"]
    else:
        assert parsed == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'"a string"',
        b"null",
        b"{not json",
        b'{"bad utf-8": "\xff\xfe"}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_what_neither_reads_is_none(body: bytes) -> None:
    assert json_body(body) is None


@pytest.mark.parametrize("scheme", ["stripe", "paddle", "square"])
def test_a_numeric_id_is_no_id_however_large(scheme: str) -> None:
    """orjson reads integers beyond 64 bits as floats (``json`` as exact integers); an id
    is only ever taken where it is a string, so neither becomes a dedup key."""
    from hookyard.signatures import SignedMessage, create_scheme

    for digits in (b"12", b"9" * 30):
        body = b'{"id": ' + digits + b', "event_id": ' + digits + b"}"
        assert create_scheme(scheme).event_id(SignedMessage(headers=(), body=body)) is None
    named = b'{"id": "evt_9", "event_id": "evt_9"}'
    assert create_scheme(scheme).event_id(SignedMessage(headers=(), body=named)) == "evt_9"


def test_json_field_follows_a_path_and_stops_at_non_objects() -> None:
    body = b'{"data": {"object": {"id": "in_1"}}, "list": [1]}'
    assert json_field(body, "data", "object", "id") == "in_1"
    assert json_field(body, "list", "0") is None
    assert json_field(body, "missing", "id") is None

"""``none`` and ``hmac``: the event id and type from a header or a path in a JSON body."""

from __future__ import annotations

from typing import Any

import pytest

from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme

BODY = b'{"event": "user.created", "type": "ignored", "data": {"id": 42, "ref": "u_1"}}'


def message(body: bytes = BODY, *headers: tuple[bytes, bytes]) -> SignedMessage:
    return SignedMessage(headers=headers, body=body)


@pytest.mark.parametrize("scheme", ["none", "hmac"])
def test_id_and_type_from_dotted_paths_in_the_body(scheme: str) -> None:
    fields = create_scheme(scheme, {"id_field": "data.ref", "type_field": "event"})
    assert fields.event_id(message()) == "u_1"
    assert fields.event_type(message()) == "user.created"


@pytest.mark.parametrize("scheme", ["none", "hmac"])
def test_an_integer_id_is_its_digits(scheme: str) -> None:
    assert create_scheme(scheme, {"id_field": "data.id"}).event_id(message()) == "42"


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"id": true}}',  # not a number
        b'{"data": {"id": 1.5}}',
        b'{"data": {"id": null}}',
        b'{"data": {"id": {"nested": 1}}}',
        b'{"data": "flat"}',
        b"{}",
        b"not json",
        b"",
    ],
)
def test_no_id_where_the_path_holds_no_string_or_integer(body: bytes) -> None:
    assert create_scheme("none", {"id_field": "data.id"}).event_id(message(body)) is None


def test_headers_still_work_and_the_type_defaults_to_the_body_type() -> None:
    scheme = create_scheme("none", {"id_header": "X-Event-Id"})
    signed = message(BODY, (b"x-event-id", b"evt_9"))
    assert scheme.event_id(signed) == "evt_9"
    assert scheme.event_type(signed) == "ignored"  # the body's "type", as before
    assert create_scheme("none").event_id(signed) is None  # no id unless configured


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"id_field": ""}, "'id_field' must be a dotted path of JSON keys"),
        ({"id_field": "data..id"}, "'id_field' must be a dotted path of JSON keys"),
        ({"type_field": 5}, "'type_field' must be a dotted path of JSON keys"),
        ({"id_field": "id", "id_header": "X-Id"}, "set id_header or id_field, not both"),
        ({"type_field": "t", "type_header": "X-T"}, "set type_header or type_field, not both"),
    ],
)
@pytest.mark.parametrize("scheme", ["none", "hmac"])
def test_bad_field_options_are_one_line_errors(
    scheme: str, options: dict[str, Any], error: str
) -> None:
    with pytest.raises(SchemeError, match=error) as info:
        create_scheme(scheme, options)
    assert str(info.value).startswith(f"{scheme}") and "\n" not in str(info.value)


def test_the_hmac_template_id_still_needs_the_header() -> None:
    with pytest.raises(SchemeError, match="set option 'id_header'"):
        create_scheme("hmac", {"template": "{id}.{body}", "id_field": "id"})

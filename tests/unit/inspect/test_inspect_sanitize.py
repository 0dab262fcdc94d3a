from __future__ import annotations

import json

import pytest

from hookyard.exceptions import UsageError
from hookyard.inspect import drop_headers, parse_pointer, pointer_token, sanitize_body
from hookyard.models import HeaderList

STRIPE_CHARGE = b"""{
  "id": "evt_3PqFJ2LkdIwHu7ix1",
  "type": "charge.succeeded",
  "data": {
    "object": {
      "id": "ch_3PqFJ2LkdIwHu7ix1",
      "amount": 2000,
      "amount_captured": 20.00,
      "billing_details": {
        "address": {"city": "Berlin", "line1": "Unter den Linden 1", "postal_code": "10117"},
        "email": "jenny.rosen@example.com",
        "name": "Jenny Rosen"
      },
      "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}},
      "metadata": {"Email": "other@example.com", "order/id": "A-1", "a~b": "t"}
    }
  }
}"""

JSON = "application/json"


def test_mask_keys_anywhere_ignoring_case() -> None:
    result = sanitize_body(STRIPE_CHARGE, JSON, mask_keys={"email", "last4"})
    data = json.loads(result.body)
    obj = data["data"]["object"]
    assert obj["billing_details"]["email"] == "***"
    assert obj["metadata"]["Email"] == "***"
    assert obj["payment_method_details"]["card"] == {"brand": "visa", "last4": "***"}
    assert result.masked_count == 3 and result.changed and result.is_json
    assert b"jenny.rosen" not in result.body and b"other@example" not in result.body
    assert "signatures" in result.note


def test_masking_a_key_replaces_a_whole_object() -> None:
    result = sanitize_body(STRIPE_CHARGE, JSON, mask_keys={"billing_details"})
    assert json.loads(result.body)["data"]["object"]["billing_details"] == "***"
    assert b"Berlin" not in result.body and result.masked_count == 1


def test_keys_inside_arrays() -> None:
    body = b'{"items":[{"token":"a"},{"token":"b"},[{"Token":"c"}]]}'
    result = sanitize_body(body, JSON, mask_keys={"TOKEN"})
    assert result.body == b'{"items":[{"token":"***"},{"token":"***"},[{"Token":"***"}]]}'


def test_mask_pointers_with_rfc6901_escapes() -> None:
    result = sanitize_body(
        STRIPE_CHARGE,
        JSON,
        mask_pointers=[
            "/data/object/billing_details/address",
            "/data/object/metadata/order~1id",
            "/data/object/metadata/a~0b",
            "/data/object/nope",
        ],
    )
    obj = json.loads(result.body)["data"]["object"]
    assert obj["billing_details"]["address"] == "***"
    assert obj["metadata"] == {"Email": "other@example.com", "order/id": "***", "a~b": "***"}
    assert result.masked_count == 3
    assert result.unmatched_pointers == ("/data/object/nope",)


def test_array_index_pointers() -> None:
    body = b'{"a":[10,20,30]}'
    assert sanitize_body(body, JSON, mask_pointers=["/a/1"]).body == b'{"a":[10,"***",30]}'
    for pointer in ("/a/01", "/a/3", "/a/-", "/a/x", "/a/+1", "/a/\u0661"):
        result = sanitize_body(body, JSON, mask_pointers=[pointer])
        assert result.body == body and result.unmatched_pointers == (pointer,)


def test_root_pointer_masks_everything() -> None:
    result = sanitize_body(b'{"a":1}', JSON, mask_pointers=[""])
    assert result.body == b'"***"' and result.masked_count == 1


def test_pointer_reaches_every_duplicate() -> None:
    body = b'{"pw":"one","x":1,"pw":"two"}'
    result = sanitize_body(body, JSON, mask_pointers=["/pw"])
    assert result.body == b'{"pw":"***","x":1,"pw":"***"}'
    assert result.masked_count == 2


def test_nothing_matched_keeps_the_exact_bytes() -> None:
    result = sanitize_body(STRIPE_CHARGE, JSON, mask_keys={"password"}, mask_pointers=["/zzz"])
    assert result.body is STRIPE_CHARGE
    assert not result.changed and result.is_json and result.masked_count == 0
    assert result.unmatched_pointers == ("/zzz",)


def test_numbers_order_and_text_survive_reserialisation() -> None:
    body = b'{"z":1.50,"big":' + b"9" * 5000 + b',"e":1E+400,"s":"\xc3\xa9\\u0000","secret":"x"}'
    result = sanitize_body(body, JSON, mask_keys={"secret"})
    expected = (
        b'{"z":1.50,"big":' + b"9" * 5000 + b',"e":1E+400,"s":"\xc3\xa9\\u0000","secret":"***"}'
    )
    assert result.body == expected


def test_reserialised_output_is_compact() -> None:
    result = sanitize_body(b'{\n  "a": 1,\n  "key": 2\n}', JSON, mask_keys={"key"})
    assert result.body == b'{"a":1,"key":"***"}'


def test_custom_replacement_is_json_escaped() -> None:
    result = sanitize_body(b'{"k":"v"}', JSON, mask_keys={"k"}, replacement='<"redacted">')
    assert json.loads(result.body) == {"k": '<"redacted">'}


def test_lone_surrogates_still_produce_utf8() -> None:
    result = sanitize_body(b'{"a":"\\ud800","k":1}', JSON, mask_keys={"k"})
    assert result.body == b'{"a":"\\ud800","k":"***"}'
    result.body.decode("utf-8")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"token=abc&x=1", "application/x-www-form-urlencoded"),
        (b"<a><token>abc</token></a>", "application/xml"),
        (b"\x1f\x8b\x08\x00", "application/json"),
        (b"", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ],
)
def test_non_json_is_returned_unchanged_and_flagged(body: bytes, content_type: str) -> None:
    result = sanitize_body(body, content_type, mask_keys={"token"})
    assert result.body is body and not result.is_json and not result.changed
    assert "left unchanged" in result.note


def test_json_sent_as_text_plain_is_still_masked() -> None:
    result = sanitize_body(b'{"Token":"abc"}', "text/plain", mask_keys={"token"})
    assert result.body == b'{"Token":"***"}'


@pytest.mark.parametrize("pointer", ["a", "/a~", "/a~2", "/~x/b"])
def test_invalid_pointers_are_usage_errors(pointer: str) -> None:
    with pytest.raises(UsageError):
        sanitize_body(b"{}", JSON, mask_pointers=[pointer])


def test_parse_pointer() -> None:
    assert parse_pointer("") == ()
    assert parse_pointer("/") == ("",)
    assert parse_pointer("/a~1b/m~0n/~01") == ("a/b", "m~n", "~1")
    assert pointer_token("~1/") == "~01~1"


def test_drop_headers() -> None:
    headers: HeaderList = (
        (b"Host", b"x"),
        (b"Stripe-Signature", b"t=1,v1=a"),
        (b"X-Trace", b"1"),
        (b"stripe-signature", b"t=1,v1=b"),
        (b"Authorization", b"Bearer s"),
    )
    assert drop_headers(headers, ["STRIPE-SIGNATURE", "authorization"]) == (
        (b"Host", b"x"),
        (b"X-Trace", b"1"),
    )
    assert drop_headers(headers, []) == headers

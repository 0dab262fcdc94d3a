"""Masked and envelope bodies hold no original value of a masked field."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from hookyard.mirror.shaping import MaskSpec, Shaped, Unshapeable, parse_mask, shape_body

ORDER = json.dumps(
    {
        "id": "evt_1",
        "type": "charge.succeeded",
        "created": 1700000000,
        "data": {
            "object": {
                "email": "ann@example.com",
                "Email": "ANN@EXAMPLE.COM",
                "card": {"last4": "4242", "brand": "visa"},
                "amount": 1999,
                "ratio": 0.25,
                "paid": True,
                "refunds": [{"reason": "duplicate"}, {"reason": "fraud"}],
                "note": None,
            }
        },
    }
).encode()


def shaped(
    body: bytes, mask: MaskSpec, *, envelope: bool = False, ct: str = "application/json"
) -> bytes:
    result = shape_body(body, ct, mask, envelope=envelope)
    assert isinstance(result, Shaped), result
    return result.body


def test_no_shaping_sends_the_stored_bytes() -> None:
    result = shape_body(ORDER, "application/json", MaskSpec(), envelope=False)
    assert result == Shaped(ORDER, changed=False)


def test_keys_anywhere_and_dotted_paths() -> None:
    body = shaped(ORDER, parse_mask(("email", "data.object.card.last4")))
    assert b"ann@example.com" not in body.lower() and b"4242" not in body
    obj = json.loads(body)["data"]["object"]
    assert obj["email"] == obj["Email"] == obj["card"]["last4"] == "***"
    assert obj["card"]["brand"] == "visa" and obj["amount"] == 1999


def test_a_mask_that_matches_nothing_leaves_the_bytes() -> None:
    result = shape_body(ORDER, "application/json", parse_mask(("password",)), envelope=False)
    assert result == Shaped(ORDER, changed=False)


def test_form_bodies_are_masked_by_field_name() -> None:
    body = b"token=xoxb-secret&user_name=ann&text=hello+world&email=a%40b.example"
    out = shaped(body, parse_mask(("token", "Email")), ct="application/x-www-form-urlencoded")
    fields = dict(parse_qsl(out.decode()))
    assert fields == {"token": "***", "user_name": "ann", "text": "hello world", "email": "***"}
    assert b"xoxb-secret" not in out and b"a%40b" not in out


def test_masking_a_body_it_cannot_read_refuses_to_send() -> None:
    result = shape_body(
        b"<xml>ann@example.com</xml>", "text/xml", parse_mask(("email",)), envelope=False
    )
    assert isinstance(result, Unshapeable) and "JSON" in result.reason


def test_envelope_keeps_what_the_event_is_and_fakes_the_rest() -> None:
    body = shaped(ORDER, MaskSpec(), envelope=True)
    doc = json.loads(body)
    assert (doc["id"], doc["type"], doc["created"]) == ("evt_1", "charge.succeeded", 1700000000)
    obj = doc["data"]["object"]
    original = json.loads(ORDER)["data"]["object"]
    assert list(obj) == list(original)  # same keys, same order
    for key, value in original.items():
        assert type(obj[key]) is type(value), key
        if value is not None and not isinstance(value, bool | dict | list):
            assert obj[key] != value, key
    assert len(obj["refunds"]) == 2 and set(obj["refunds"][0]) == {"reason"}
    for secret in (b"ann@example.com", b"4242", b"1999", b"duplicate", b"fraud", b"visa"):
        assert secret not in body.lower()
    assert shaped(ORDER, MaskSpec(), envelope=True) == body  # deterministic


def test_envelope_members_can_still_be_masked() -> None:
    body = shaped(ORDER, parse_mask(("id",)), envelope=True)
    assert json.loads(body)["id"] == "***" and b"evt_1" not in body


def test_envelope_needs_a_json_object() -> None:
    assert isinstance(
        shape_body(b"a=b", "application/x-www-form-urlencoded", MaskSpec(), envelope=True),
        Unshapeable,
    )
    assert isinstance(
        shape_body(b"[1, 2]", "application/json", MaskSpec(), envelope=True), Unshapeable
    )

"""Keys at rest: their forms, AES-256-GCM sealing, ids, and what a store refuses at start."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from hookyard.exceptions import EncryptionKeyError, UnreadablePayload
from hookyard.keyring import (
    NONCE_BYTES,
    TAG_BYTES,
    Key,
    Keyring,
    OpenFailed,
    derived_key_id,
    generate_key,
    keyring_from,
    parse_key_material,
)
from hookyard.models import StoredPayload
from hookyard.store.payloads import (
    key_refusal,
    open_body,
    open_headers,
    reseal,
    seal,
    seal_body_as,
    seal_submission,
    stored_form,
)
from support.factories import submission

RAW = bytes(range(32))
OTHER = bytes(range(1, 33))


def ring(*materials: bytes) -> Keyring:
    return Keyring(tuple(Key(derived_key_id(m), m) for m in materials))


@pytest.mark.parametrize(
    "text",
    [
        RAW.hex(),
        RAW.hex().upper(),
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
        f"  {base64.b64encode(RAW).decode()}\n",
    ],
)
def test_a_key_is_32_bytes_as_hex_or_either_base64(text: str) -> None:
    assert parse_key_material(text) == RAW


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (base64.b64encode(b"short key").decode(), "is 9 bytes, not 32"),
        (base64.b64encode(RAW + b"x").decode(), "is 33 bytes, not 32"),
        ("correct horse battery staple!", "is not a key"),
        ("", "is 0 bytes"),
    ],
)
def test_a_bad_key_says_why_without_echoing_it(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_key_material(text)
    assert "keys generate" in str(caught.value)
    if text:
        assert text not in str(caught.value)


def test_generated_keys_are_fresh_and_parse() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(parse_key_material(first)) == 32


def test_sealing_uses_a_fresh_nonce_and_opens_only_with_its_key_and_data() -> None:
    key = Key("a", RAW)
    one, two = key.seal(b"payload", b"aad"), key.seal(b"payload", b"aad")
    assert one != two and one[:NONCE_BYTES] != two[:NONCE_BYTES]
    assert len(one) == NONCE_BYTES + len(b"payload") + TAG_BYTES
    assert b"payload" not in one
    assert key.open(one, b"aad") == b"payload"
    with pytest.raises(OpenFailed, match="does not open with key 'a'"):
        key.open(one, b"other aad")
    with pytest.raises(OpenFailed):
        Key("a", OTHER).open(one, b"aad")
    tampered = one[:-1] + bytes([one[-1] ^ 1])
    with pytest.raises(OpenFailed):
        key.open(tampered, b"aad")
    with pytest.raises(OpenFailed, match="too short"):
        key.open(b"abc", b"aad")


def test_derived_ids_are_stable_and_differ_between_keys() -> None:
    assert derived_key_id(RAW) == derived_key_id(RAW)
    assert derived_key_id(RAW) != derived_key_id(OTHER)
    assert derived_key_id(RAW).startswith("k") and len(derived_key_id(RAW)) == 13


def test_a_key_is_never_shown() -> None:
    text = repr(ring(RAW)) + repr(Key("a", RAW)) + repr(StoredPayload("a", b"h", b"b"))
    assert RAW.hex() not in text and repr(RAW) not in text


def test_the_first_key_seals_and_every_key_opens_its_own() -> None:
    old, new = ring(OTHER), ring(RAW, OTHER)
    sealed = old.current.seal(b"x", b"d")  # type: ignore[union-attr]
    assert new.open(derived_key_id(OTHER), sealed, b"d") == b"x"
    assert new.current is not None and new.current.id == derived_key_id(RAW)
    with pytest.raises(OpenFailed, match="does not list"):
        ring(RAW).open(derived_key_id(OTHER), sealed, b"d")


def test_a_ring_refuses_an_id_or_a_key_listed_twice() -> None:
    with pytest.raises(EncryptionKeyError, match="listed twice"):
        Keyring((Key("a", RAW), Key("a", OTHER)))
    with pytest.raises(EncryptionKeyError, match="same encryption key is listed twice"):
        Keyring((Key("a", RAW), Key("b", RAW)))


def test_keyring_from_names_the_bad_entry_and_checks_ids() -> None:
    good = base64.b64encode(RAW).decode()
    assert keyring_from([("2026-12", good)]).ids == ("2026-12",)
    assert keyring_from([(None, good)]).ids == (derived_key_id(RAW),)
    with pytest.raises(ValueError, match="key #2 is not a key"):
        keyring_from([(None, good), (None, "not a key!")])
    with pytest.raises(ValueError, match="key id 'a b' must be"):
        keyring_from([("a b", good)])


# -- the payload codec ------------------------------------------------------------------


def test_a_submission_is_sealed_once_and_opens_to_its_bytes() -> None:
    keys = ring(RAW)
    sub = submission(b'{"secret": 1}', headers=((b"Authorization", b"Bearer t"),))
    sealed = seal_submission(keys, sub)
    stored = stored_form(sealed)
    assert stored.key_id == derived_key_id(RAW)
    assert b"secret" not in stored.body and b"Bearer" not in stored.headers
    event_id = sub.request.id
    assert open_body(keys, event_id, stored.key_id, stored.body) == b'{"secret": 1}'
    assert open_headers(keys, event_id, stored.key_id, stored.headers) == sub.request.headers


def test_without_a_key_the_stored_form_is_the_clear_one() -> None:
    sub = submission(b"plain")
    assert seal_submission(Keyring(), sub) is sub
    stored = stored_form(sub)
    assert stored.key_id is None and stored.body == b"plain"
    assert open_body(Keyring(), sub.request.id, None, b"plain") == b"plain"


def test_a_sealed_value_is_bound_to_its_event_and_field() -> None:
    keys = ring(RAW)
    stored = seal(keys, "evt_1", b"[]", b"body")
    with pytest.raises(UnreadablePayload, match="event evt_2: cannot decrypt its body"):
        open_body(keys, "evt_2", stored.key_id, stored.body)
    with pytest.raises(UnreadablePayload, match="cannot decrypt its headers"):
        open_headers(keys, "evt_1", stored.key_id, stored.body)


def test_reseal_moves_a_value_to_the_current_key_and_clear_ones_too() -> None:
    old, both = ring(OTHER), ring(RAW, OTHER)
    moved = reseal(both, "e", seal(old, "e", b"[]", b"body"))
    assert moved.key_id == derived_key_id(RAW)
    assert open_body(ring(RAW), "e", moved.key_id, moved.body) == b"body"
    from_clear = reseal(both, "e", StoredPayload(None, b"[]", b"clear"))
    assert open_body(ring(RAW), "e", from_clear.key_id, from_clear.body) == b"clear"


def test_a_store_refuses_a_ring_that_cannot_read_what_it_holds() -> None:
    a, b = Key("a", RAW), Key("b", OTHER)
    registered = {"a": a.check_value()}
    assert key_refusal(Keyring((a,)), registered) is None
    assert key_refusal(Keyring((b, a)), registered) is None
    assert key_refusal(Keyring(), {}) is None
    missing = key_refusal(Keyring(), registered)
    assert missing is not None and "sealed with key 'a'" in missing
    assert "set server.encryption_key" in missing
    left_out = key_refusal(Keyring((b,)), registered)
    assert left_out is not None and "does not list" in left_out
    wrong = key_refusal(Keyring((Key("a", OTHER),)), registered)
    assert wrong is not None and "'a' is not the key that sealed" in wrong


def test_sealing_a_submission_keeps_every_other_field() -> None:
    sub = submission(b"x", provider_id="evt_9", destinations=("a", "b"), window_s=60)
    sealed = seal_submission(Keyring((Key("a", RAW),)), sub)
    assert sealed.stored is not None
    assert dataclasses.replace(sealed, stored=None) == sub


def test_a_rewritten_body_is_sealed_under_its_rows_own_key() -> None:
    both = ring(RAW, OTHER)
    old_id = derived_key_id(OTHER)
    rewritten = seal_body_as(both, "e", old_id, b'{"email": "***"}')
    assert open_body(ring(OTHER), "e", old_id, rewritten) == b'{"email": "***"}'
    assert seal_body_as(both, "e", None, b"clear") == b"clear"
    with pytest.raises(UnreadablePayload, match="key 'gone' is not configured"):
        seal_body_as(both, "e", "gone", b"x")

"""``hookyard.testing.signing``: helpers agree with the verifiers, profiles with the schemes."""

from __future__ import annotations

import base64
import json
import time

import pytest

from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.base import Scheme
from hookyard.testing import signing
from hookyard.testing.signing import (
    combine_signatures,
    malform,
    sign_request,
    synthetic_body,
    tamper,
    wire_profile,
    with_event_id,
    without_owned_headers,
    wrong_secret,
)
from support.conformance_keys import KEYS, SIGNED_SCHEMES, TIMESTAMPED, options_for, require_scheme

URL = "https://hooks.example.com/in/source?x=1"
NOW = int(time.time())


def scheme_for(name: str) -> Scheme:
    require_scheme(name)
    return create_scheme(name, options_for(name))


def verdict(
    name: str, headers: list[tuple[str, str]], body: bytes, url: str = URL, *, at: float = NOW
) -> str:
    scheme = create_scheme(name, options_for(name))
    message = SignedMessage.from_text_headers(headers, body, url)
    # Verified at the signing time (NOW for requests signed with timestamp=NOW), so a long
    # test session cannot age a signature out of the tolerance window.
    result = scheme.verify(message, [KEYS[name].verifying], now=at)
    return result.status


# -- the sign_* helpers ----------------------------------------------------------------------

BODY = b'{"id": "evt_1", "event_id": "ev_1", "type": "x"}'

HELPERS = {
    "standard-webhooks": lambda key: signing.sign_standard_webhooks(BODY, key, msg_id="msg_1"),
    "stripe": lambda key: signing.sign_stripe(BODY, key),
    "github": lambda key: signing.sign_github(BODY, key, delivery_id="d-1"),
    "slack": lambda key: signing.sign_slack(BODY, key),
    "shopify": lambda key: signing.sign_shopify(BODY, key, webhook_id="w-1"),
    "square": lambda key: signing.sign_square(BODY, key, url=URL),
    "paddle": lambda key: signing.sign_paddle(BODY, key),
    "twitch": lambda key: signing.sign_twitch(BODY, key, msg_id="m-1"),
    "twilio": lambda key: signing.sign_twilio(b"A=1&B=2", key, url=URL, idempotency_token="i"),
    "sendgrid": lambda key: signing.sign_sendgrid(BODY, key),
    "hmac": lambda key: signing.sign_hmac(BODY, key, options=options_for("hmac"), msg_id="h-1"),
}


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_each_helper_signs_what_the_registry_verifies(name: str) -> None:
    require_scheme(name)
    signed_at = time.time()  # the helpers sign with the current clock
    headers = HELPERS[name](KEYS[name].signing)
    body = b"A=1&B=2" if name == "twilio" else BODY
    assert verdict(name, headers, body, at=signed_at) == "valid"


def test_helpers_cover_every_signed_scheme() -> None:
    from hookyard.signatures.registry import scheme_names

    assert set(HELPERS) == set(scheme_names()) - {"none"}


def test_sendgrid_helper_refuses_a_public_key() -> None:
    require_scheme("sendgrid")
    with pytest.raises(SchemeError, match="private key"):
        signing.sign_sendgrid(BODY, KEYS["sendgrid"].verifying)


def test_sign_by_name_is_scheme_sign() -> None:
    headers = signing.sign(
        "standard-webhooks", BODY, KEYS["standard-webhooks"].signing, msg_id="m", timestamp=NOW
    )
    direct = create_scheme("standard-webhooks").sign(
        BODY, KEYS["standard-webhooks"].signing, msg_id="m", timestamp=NOW
    )
    assert headers == direct


def test_options_with_a_scheme_instance_are_refused() -> None:
    with pytest.raises(SchemeError):
        signing.resolve(create_scheme("stripe"), {"x": 1})


# -- sign_request ----------------------------------------------------------------------------


def test_sign_request_replaces_headers_the_signature_sets() -> None:
    request = sign_request(
        "standard-webhooks",
        URL,
        BODY,
        KEYS["standard-webhooks"].signing,
        msg_id="msg_new",
        timestamp=NOW,
        headers=[("Content-Type", "application/json"), ("webhook-id", "msg_old")],
    )
    assert request.header("webhook-id") == "msg_new"
    assert [n for n, _ in request.headers].count("webhook-id") == 1
    assert request.header("content-type") == "application/json"
    assert request.url == URL


def test_twilio_json_body_is_signed_through_body_sha256() -> None:
    require_scheme("twilio")
    request = sign_request("twilio", URL, BODY, KEYS["twilio"].signing, msg_id="i-1")
    assert "bodySHA256=" in request.url
    assert verdict("twilio", list(request.headers), BODY, request.url) == "valid"
    assert verdict("twilio", list(request.headers), tamper(BODY), request.url) == "invalid"


# -- wire profiles agree with the schemes ------------------------------------------------------


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_profile_names_the_headers_the_scheme_sends(name: str) -> None:
    scheme = scheme_for(name)
    profile = wire_profile(scheme)
    sent = {
        n.lower()
        for n, _ in scheme.sign(BODY, KEYS[name].signing, msg_id="m-1", timestamp=NOW, url=URL)
    }
    signature_headers = {h.lower() for h in profile.signature_headers}
    assert sent & signature_headers, "no signature header of the profile is sent"
    owned = set(profile.owned_headers) | {h.lower() for h, _ in profile.extra_headers}
    assert sent <= owned | {"twitch-eventsub-message-type"}


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_profile_timestamped_matches_the_scheme(name: str) -> None:
    profile = wire_profile(scheme_for(name))
    assert profile.timestamped == (name in TIMESTAMPED or name == "hmac")


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_profile_id_binding_is_what_the_signature_covers(name: str) -> None:
    """Swap the id where the profile says it lives: signed ids break the signature,
    unsigned ones do not, and the scheme reads the id from there either way."""
    scheme = scheme_for(name)
    profile = wire_profile(scheme)
    key = KEYS[name].signing
    body = synthetic_body(profile, "evt_aaa")
    request = sign_request(scheme, URL, body, key, msg_id="evt_aaa", timestamp=NOW)
    if profile.id_binding == "body":
        swapped = with_event_id(profile, body, "evt_bbb")
        assert swapped is not None
        assert verdict(name, list(request.headers), swapped, request.url) == "invalid"
        message = SignedMessage.from_text_headers(list(request.headers), swapped)
        assert scheme.event_id(message) == "evt_bbb"
        return
    headers = [(n, "evt_bbb" if v == "evt_aaa" else v) for n, v in request.headers]
    assert headers != list(request.headers), "the id header is not sent"
    expected = "invalid" if profile.id_binding == "signed-header" else "valid"
    assert verdict(name, headers, body, request.url) == expected
    message = SignedMessage.from_text_headers(headers, body, request.url)
    assert scheme.event_id(message) == "evt_bbb"


def test_known_bindings() -> None:
    bindings = {name: wire_profile(scheme_for(name)).id_binding for name in SIGNED_SCHEMES}
    assert bindings["github"] == bindings["shopify"] == bindings["twilio"] == "header"
    assert (
        bindings["standard-webhooks"] == bindings["twitch"] == bindings["hmac"] == "signed-header"
    )
    assert bindings["stripe"] == bindings["paddle"] == bindings["sendgrid"] == "body"


def test_hmac_profile_follows_its_options() -> None:
    plain = wire_profile(create_scheme("hmac"))
    assert (plain.timestamped, plain.id_binding, plain.signature_headers) == (
        False,
        "none",
        ("X-Signature",),
    )
    unsigned_id = wire_profile(create_scheme("hmac", {"id_header": "X-Id", "header": "X-Sig"}))
    assert unsigned_id.id_binding == "header"
    assert unsigned_id.signature_headers == ("X-Sig",)


def test_none_profile_is_unsigned() -> None:
    assert not wire_profile(create_scheme("none")).signed
    with_id = wire_profile(create_scheme("none", {"id_header": "X-Event-Id"}))
    assert with_id.id_binding == "header"


def test_profile_of_an_unknown_scheme_is_an_error() -> None:
    class Custom(Scheme):
        name = "custom"

        def verify(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise NotImplementedError

        def sign(self, *args: object, **kwargs: object) -> list[tuple[str, str]]:
            return []

    with pytest.raises(SchemeError, match="custom"):
        wire_profile(Custom())


# -- rotation, malformed, wrong secrets --------------------------------------------------------


@pytest.mark.parametrize("name", ["standard-webhooks", "stripe", "paddle"])
def test_combined_header_is_valid_with_either_secret(name: str) -> None:
    scheme = scheme_for(name)
    profile = wire_profile(scheme)
    assert profile.multi_signature
    body = synthetic_body(profile, "evt_rot")
    other = wrong_secret(name, KEYS[name].signing)
    right = sign_request(scheme, URL, body, KEYS[name].signing, msg_id="m", timestamp=NOW)
    wrong = sign_request(scheme, URL, body, other, msg_id="m", timestamp=NOW)
    header = profile.signature_headers[0]
    combined = combine_signatures(name, wrong.header(header) or "", right.header(header) or "")
    headers = [(n, combined if n == header else v) for n, v in right.headers]
    assert verdict(name, headers, body) == "valid"
    # The unknown key's signature alone is refused: the combination is what passes.
    assert verdict(name, list(wrong.headers), body) == "invalid"


@pytest.mark.parametrize("name", ["github", "slack", "shopify", "square", "twitch", "sendgrid"])
def test_single_signature_schemes_cannot_combine(name: str) -> None:
    assert not wire_profile(scheme_for(name)).multi_signature
    with pytest.raises(SchemeError):
        combine_signatures(name, "a", "b")


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_wrong_secret_has_the_shape_and_is_refused(name: str) -> None:
    scheme = scheme_for(name)
    secret = KEYS[name].signing
    other = wrong_secret(name, secret)
    assert other != secret
    scheme.check_secret(other)  # well formed
    body = synthetic_body(wire_profile(scheme), "evt_w")
    request = sign_request(scheme, URL, body, other, msg_id="m", timestamp=NOW)
    assert verdict(name, list(request.headers), body, request.url) == "invalid"


def test_wrong_secret_keeps_prefixes() -> None:
    assert wrong_secret("paddle", "pdl_ntf_01abc").startswith("pdl_ntf_")
    assert wrong_secret("stripe", "whsec_abc").startswith("whsec_")
    assert wrong_secret("standard-webhooks", "whsk_" + "A" * 43 + "=").startswith("whsk_")
    sw = wrong_secret("standard-webhooks", "whsec_abc")
    assert len(base64.b64decode(sw.removeprefix("whsec_"))) == 24


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_malformed_signatures_are_refused(name: str) -> None:
    scheme = scheme_for(name)
    profile = wire_profile(scheme)
    body = synthetic_body(profile, "evt_m")
    request = sign_request(scheme, URL, body, KEYS[name].signing, msg_id="m", timestamp=NOW)
    names = {h.lower() for h in profile.signature_headers}
    headers = [(n, malform(v) if n.lower() in names else v) for n, v in request.headers]
    assert verdict(name, headers, body, request.url) == "invalid"


# -- bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"a": 1}', b"{}", b"  {\n}", b'[{"a": 1}]', b'{"n": {"deep": []}}', b"[1]"],
)
def test_tampered_json_stays_json_with_other_content(body: bytes) -> None:
    changed = tamper(body)
    assert changed != body
    assert json.loads(changed) != json.loads(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"a=1&b=2", b"a=1&b=2&hookyard_tampered=1"),
        (b"", b"x"),
        (b"\x00\x01binary", b"\x00\x01binarx"),
        (b"[1, 2]", b"[true,1, 2]"),
        (b"[]", b"[true]"),
        (b'"a string"', b'"a string#'),
    ],
)
def test_tamper_other_bodies(body: bytes, expected: bytes) -> None:
    assert tamper(body) == expected


def test_with_event_id_swaps_in_place() -> None:
    profile = wire_profile(create_scheme("stripe"))
    body = b'{\n  "id":   "evt_old",\n  "object": "event"\n}'
    assert with_event_id(profile, body, "evt_new") == body.replace(b"evt_old", b"evt_new")


def test_with_event_id_reserialises_when_the_id_is_ambiguous() -> None:
    profile = wire_profile(create_scheme("stripe"))
    body = b'{"id": "evt_old", "previous": "evt_old"}'
    changed = with_event_id(profile, body, "evt_new")
    assert changed is not None
    assert json.loads(changed) == {"id": "evt_new", "previous": "evt_old"}


def test_with_event_id_none_without_an_id() -> None:
    profile = wire_profile(create_scheme("stripe"))
    assert with_event_id(profile, b'{"object": "event"}', "evt_new") is None
    assert with_event_id(profile, b"not json", "evt_new") is None


def test_with_event_id_in_an_array_body() -> None:
    require_scheme("sendgrid")
    profile = wire_profile(create_scheme("sendgrid"))
    body = b'[{"sg_event_id": "a", "event": "open"}, {"sg_event_id": "b"}]'
    changed = with_event_id(profile, body, "z")
    assert changed == b'[{"sg_event_id": "z", "event": "open"}, {"sg_event_id": "b"}]'


def test_header_bound_ids_leave_the_body_alone() -> None:
    profile = wire_profile(create_scheme("standard-webhooks"))
    assert with_event_id(profile, b"anything", "m") == b"anything"


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
@pytest.mark.parametrize("size", [2048, 100_001])
def test_synthetic_body_padding_is_exact(name: str, size: int) -> None:
    profile = wire_profile(scheme_for(name))
    assert len(synthetic_body(profile, "evt_pad", size=size)) == size


def test_without_owned_headers() -> None:
    profile = wire_profile(create_scheme("standard-webhooks"))
    captured = [
        ("Host", "old.example"),
        ("Content-Length", "5"),
        ("svix-signature", "v1,old"),
        ("Webhook-Id", "msg_old"),
        ("Content-Type", "application/json"),
        ("User-Agent", "Svix-Webhooks/1.0"),
    ]
    assert without_owned_headers(profile, captured) == (
        ("Content-Type", "application/json"),
        ("User-Agent", "Svix-Webhooks/1.0"),
    )

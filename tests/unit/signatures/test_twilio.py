"""``twilio``: official vectors, both variants, precise failures, robust form parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.exceptions import SchemeError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.signatures.twilio import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    Twilio,
    canonical_params,
    form_pairs,
    url_variants,
    url_with_body_hash,
)

# Official vectors: twilio/twilio-python, tests/unit/test_request_validator.py.
SDK_TOKEN = "12345"
SDK_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
SDK_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
SDK_EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SDK_JSON_BODY = b'{"property": "value", "boolean": true}'
SDK_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
SDK_URL_WITH_BODY = SDK_URL + "&bodySHA256=" + SDK_BODY_HASH
SDK_JSON_EXPECTED = "a9nBmqA0ju/hNViExpshrM61xv4="
SDK_DUPLICATE_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="

FORM = "application/x-www-form-urlencoded"
NOW = 1_700_000_000.0
TOKEN = "auth-token-0123456789"
URL = "https://hooks.example.com/in/twilio"
scheme = Twilio()


def request(
    signature: str | None,
    body: bytes,
    url: str | None = SDK_URL,
    content_type: str = FORM,
    extra: tuple[tuple[str, str], ...] = (),
) -> SignedMessage:
    headers = [("Content-Type", content_type), *extra]
    if signature is not None:
        headers.append((SIGNATURE_HEADER, signature))
    return SignedMessage.from_text_headers(headers, body, url)


def sdk_form() -> bytes:
    return urlencode(SDK_PARAMS).encode()


def test_registry_gives_twilio_that_needs_the_url() -> None:
    assert isinstance(create_scheme("twilio"), Twilio)
    assert Twilio.needs_url and not Twilio.timestamped


def test_official_form_vector() -> None:
    # test_compute_signature / test_validation
    verdict = scheme.verify(request(SDK_EXPECTED, sdk_form()), [SDK_TOKEN], now=NOW)
    assert verdict.status == "valid"
    assert verdict.computed == SDK_EXPECTED
    assert verdict.secret_index == 0


def test_official_form_vector_regardless_of_field_order() -> None:
    body = urlencode(sorted(SDK_PARAMS.items(), reverse=True)).encode()
    assert scheme.verify(request(SDK_EXPECTED, body), [SDK_TOKEN], now=NOW).ok


def test_official_duplicate_parameters_vector() -> None:
    # test_compute_signature_duplicate_query_dict: repeated names, values sorted.
    body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
    assert scheme.verify(request(SDK_DUPLICATE_EXPECTED, body), [SDK_TOKEN], now=NOW).ok


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # test_validation_removes_port_on_https: signed without the port.
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", SDK_EXPECTED),
        # test_validation_removes_port_on_http: "hash of http uri with port 1234".
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        # test_validation_adds_port_on_https: "hash of uri with port 443".
        (SDK_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        # test_validation_adds_port_on_http: "hash of uri with port 80".
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_official_port_vectors(url: str, expected: str) -> None:
    assert scheme.verify(request(expected, sdk_form(), url), [SDK_TOKEN], now=NOW).ok


def test_official_json_body_vector() -> None:
    # test_validation_of_body_succeeds and test_compute_hash_unicode.
    assert hashlib.sha256(SDK_JSON_BODY).hexdigest() == SDK_BODY_HASH
    signed = request(SDK_JSON_EXPECTED, SDK_JSON_BODY, SDK_URL_WITH_BODY, "application/json")
    verdict = scheme.verify(signed, [SDK_TOKEN], now=NOW)
    assert verdict.status == "valid"
    assert verdict.computed == SDK_JSON_EXPECTED


def test_json_body_that_does_not_match_body_sha256() -> None:
    body = SDK_JSON_BODY.replace(b"true", b"false")
    signed = request(SDK_JSON_EXPECTED, body, SDK_URL_WITH_BODY, "application/json")
    verdict = scheme.verify(signed, [SDK_TOKEN], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason == (
        f"body does not match bodySHA256: body hashes to {hashlib.sha256(body).hexdigest()}, "
        f"the URL says {SDK_BODY_HASH!r}"
    )
    assert verdict.secret_index == 0


def test_json_body_whose_url_lost_body_sha256_says_so() -> None:
    signed = request(SDK_JSON_EXPECTED, SDK_JSON_BODY, SDK_URL, "application/json")
    verdict = scheme.verify(signed, [SDK_TOKEN], now=NOW)
    assert verdict.reason.endswith("JSON body but the URL has no bodySHA256")


def test_signature_matches_an_independent_hmac() -> None:
    body = b"MessageSid=SM1&MessageStatus=delivered&To=%2B15551234567"
    content = URL + "MessageSidSM1MessageStatusdeliveredTo+15551234567"
    expected = base64.b64encode(
        hmac.new(TOKEN.encode(), content.encode(), hashlib.sha1).digest()
    ).decode()
    assert scheme.sign(body, TOKEN, url=URL) == [(SIGNATURE_HEADER, expected)]


def test_form_round_trip_and_event_fields() -> None:
    body = b"MessageSid=SM42&SmsStatus=received&Body=hi+there&From=%2B15550001111"
    signed = request(scheme.sign(body, TOKEN, url=URL)[0][1], body, URL)
    assert scheme.verify(signed, [TOKEN], now=NOW).status == "valid"
    assert scheme.event_id(signed) == "SM42:received"
    assert scheme.event_type(signed) == "message.received"


def test_json_round_trip() -> None:
    body = b'{"type":"com.twilio.messaging.message.delivered","id":"EZ1"}'
    url = url_with_body_hash(URL, body)
    headers = scheme.sign(body, TOKEN, msg_id="idem-1", url=url)
    signed = request(None, body, url, "application/json", extra=tuple(headers))
    assert scheme.verify(signed, [TOKEN], now=NOW).status == "valid"
    assert scheme.event_id(signed) == "idem-1"
    assert scheme.event_type(signed) == "com.twilio.messaging.message.delivered"


def test_event_id_prefers_the_idempotency_header() -> None:
    body = b"CallSid=CA9&CallStatus=completed&SequenceNumber=3"
    with_token = request(None, body, extra=((IDEMPOTENCY_HEADER, "tok-1"),))
    assert scheme.event_id(with_token) == "tok-1"
    assert scheme.event_id(request(None, body)) == "CA9:completed:3"
    assert scheme.event_type(request(None, body)) == "call.completed"
    # A voice request without a sequence number (a <Gather> action) gets no id.
    assert scheme.event_id(request(None, b"CallSid=CA9&CallStatus=in-progress&Digits=1")) is None
    assert scheme.event_type(request(None, b"Foo=bar")) is None


def test_rotation_reports_the_matching_secret() -> None:
    signed = request(SDK_EXPECTED, sdk_form())
    verdict = scheme.verify(signed, ["old-token", SDK_TOKEN], now=NOW)
    assert (verdict.status, verdict.secret_index) == ("valid", 1)


def test_tampered_form_and_wrong_token() -> None:
    tampered = sdk_form().replace(b"Digits=1234", b"Digits=9999")
    verdict = scheme.verify(request(SDK_EXPECTED, tampered), [SDK_TOKEN], now=NOW)
    assert verdict.reason == f"signature mismatch for URL {SDK_URL!r} + form parameters"
    assert verdict.received == SDK_EXPECTED
    assert verdict.computed not in (None, SDK_EXPECTED)
    assert scheme.verify(request(SDK_EXPECTED, sdk_form()), ["wrong"], now=NOW).status == "invalid"
    # The URL is signed too: another path is another signature.
    other = request(SDK_EXPECTED, sdk_form(), SDK_URL.replace("myapp", "other"))
    assert scheme.verify(other, [SDK_TOKEN], now=NOW).status == "invalid"


@pytest.mark.parametrize("value", ["", "nope!", "RSOYDt4T", base64.b64encode(b"x" * 32).decode()])
def test_malformed_signature(value: str) -> None:
    verdict = scheme.verify(request(value, sdk_form()), [SDK_TOKEN], now=NOW)
    assert verdict.reason == f"malformed {SIGNATURE_HEADER}: expected base64 of a 20-byte HMAC-SHA1"


def test_missing_signature_url_and_secret() -> None:
    assert scheme.verify(request(None, sdk_form()), [SDK_TOKEN], now=NOW).reason == (
        f"missing header {SIGNATURE_HEADER}"
    )
    assert (
        "set public_url"
        in scheme.verify(request(SDK_EXPECTED, sdk_form(), None), [SDK_TOKEN], now=NOW).reason
    )
    assert (
        scheme.verify(request(SDK_EXPECTED, sdk_form()), [], now=NOW).reason
        == "no secret configured"
    )


def test_sign_misuse_and_config_probe() -> None:
    with pytest.raises(SchemeError):
        scheme.sign(b"", "", url=URL)
    with pytest.raises(SchemeError, match="URL"):
        scheme.sign(b"", TOKEN)
    with pytest.raises(SchemeError, match="bodySHA256"):
        scheme.sign(b"{}", TOKEN, url=url_with_body_hash(URL, b"[]"))
    assert scheme.sign(b"", TOKEN, msg_id="probe", timestamp=0, url="https://probe.invalid/")


def test_form_parser_handles_any_bytes() -> None:
    pairs = form_pairs(b"a=1&&b&c=%ZZ&d=%ff%fe&e=x+y%2Bz&=v&f=1=2")
    assert pairs == [
        (b"a", b"1"),
        (b"b", b""),
        (b"c", b"%ZZ"),
        (b"d", b"\xff\xfe"),
        (b"e", b"x y+z"),
        (b"", b"v"),
        (b"f", b"1=2"),
    ]
    # Names sorted bytewise (the empty name first), each as name + value.
    assert canonical_params(pairs) == b"va1bc%ZZd\xff\xfeex y+zf1=2"


def test_url_variants() -> None:
    assert url_variants("https://h.example/p?q=1") == [
        "https://h.example/p?q=1",
        "https://h.example:443/p?q=1",
    ]
    assert url_variants("http://h.example:8080/p") == [
        "http://h.example:8080/p",
        "http://h.example/p",
    ]
    assert url_variants("http://[::1]:99/x") == ["http://[::1]:99/x", "http://[::1]/x"]
    assert url_variants("http://h.example:port/") == ["http://h.example:port/"]
    assert url_variants("not a url") == ["not a url"]


header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=60)


@given(st.binary(max_size=300))
def test_fuzzed_form_parser_never_raises(body: bytes) -> None:
    canonical_params(form_pairs(body))


@given(st.text(max_size=80))
def test_fuzzed_url_variants_never_raise(url: str) -> None:
    assert url_variants(url)[0] == url


@given(
    signature=st.none() | header_text | st.just(SDK_EXPECTED),
    body=st.binary(max_size=200),
    url=st.none() | st.text(max_size=80) | st.just(SDK_URL_WITH_BODY),
    content_type=header_text,
)
def test_fuzzed_requests_give_clean_verdicts(
    signature: str | None, body: bytes, url: str | None, content_type: str
) -> None:
    signed = request(signature, body, url, content_type)
    verdict = scheme.verify(signed, [SDK_TOKEN], now=NOW)
    assert verdict.status == "invalid"
    assert verdict.reason
    scheme.event_id(signed)
    scheme.event_type(signed)


@given(
    params=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=8),
    path=st.text(alphabet="abc/-_", max_size=10),
)
def test_fuzzed_form_round_trips(params: list[tuple[str, str]], path: str) -> None:
    body = urlencode(params).encode()
    url = f"https://h.example/{path}"
    signed = request(scheme.sign(body, TOKEN, url=url)[0][1], body, url)
    assert scheme.verify(signed, [TOKEN], now=NOW).status == "valid"

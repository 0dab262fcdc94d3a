"""hmac: the configurable scheme. No provider publishes vectors for it, so every expected
signature here is computed independently with hashlib."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from hookyard.exceptions import SchemeError
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.generic_hmac import GenericHmac
from hookyard.signatures.registry import create_scheme

SECRET = "s3cret-for-tests"
BODY = b'{"type": "order.paid", "id": 7}'
TS = 1700000000


def expected(content: bytes, algorithm: str = "sha256", encoding: str = "hex") -> str:
    digest = hmac.new(SECRET.encode(), content, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def msg(*headers: tuple[str, str], body: bytes = BODY) -> SignedMessage:
    return SignedMessage.from_text_headers(list(headers), body)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_algorithms_and_encodings_against_hashlib(algorithm: str, encoding: str) -> None:
    scheme = GenericHmac({"algorithm": algorithm, "encoding": encoding, "prefix": "sig="})
    signature = "sig=" + expected(BODY, algorithm, encoding)
    assert scheme.sign(BODY, SECRET) == [("X-Signature", signature)]
    verdict = scheme.verify(msg(("X-Signature", signature)), [SECRET], now=TS)
    assert (verdict.status, verdict.reason) == ("valid", f"{algorithm} signature matches")


def test_defaults_are_hex_sha256_of_the_body_in_x_signature() -> None:
    scheme = create_scheme("hmac")
    assert scheme.sign(BODY, SECRET) == [("X-Signature", expected(BODY))]


def test_template_with_id_and_timestamp() -> None:
    scheme = GenericHmac(
        {
            "header": "X-Hook-Sig",
            "template": "{id}:{timestamp}:{body}",
            "id_header": "X-Hook-Id",
            "timestamp_header": "X-Hook-Time",
            "type_header": "X-Hook-Event",
        }
    )
    headers = scheme.sign(BODY, SECRET, msg_id="evt_1", timestamp=TS)
    assert headers == [
        ("X-Hook-Id", "evt_1"),
        ("X-Hook-Time", str(TS)),
        ("X-Hook-Sig", expected(f"evt_1:{TS}:".encode() + BODY)),
    ]
    message = msg(*headers, ("X-Hook-Event", "order.paid"))
    verdict = scheme.verify(message, [SECRET], now=TS)
    assert (verdict.status, verdict.timestamp) == ("valid", TS)
    assert (scheme.event_id(message), scheme.event_type(message)) == ("evt_1", "order.paid")


class TestRejections:
    scheme = GenericHmac(
        {"template": "{id}.{timestamp}.{body}", "id_header": "X-Id", "timestamp_header": "X-Ts"}
    )

    def signed(self, **overrides: str) -> SignedMessage:
        headers = dict(self.scheme.sign(BODY, SECRET, msg_id="a", timestamp=TS))
        headers.update(overrides)
        return msg(*headers.items())

    def test_signature_for_another_id(self) -> None:
        verdict = self.scheme.verify(self.signed(**{"X-Id": "b"}), [SECRET], now=TS)
        assert verdict.reason == "signature mismatch"

    def test_tampered_body(self) -> None:
        message = SignedMessage(self.signed().headers, BODY + b"!")
        assert self.scheme.verify(message, [SECRET], now=TS).reason == "signature mismatch"

    def test_stale_and_future(self) -> None:
        stale = self.scheme.verify(self.signed(), [SECRET], now=TS + 600, tolerance=300)
        future = self.scheme.verify(self.signed(), [SECRET], now=TS - 600, tolerance=300)
        assert stale.reason == "timestamp too old: 600s before now, tolerance 300s"
        assert future.reason == "timestamp in the future: 600s after now, tolerance 300s"
        assert self.scheme.verify(self.signed(), [SECRET], now=0, tolerance=None).ok

    def test_wrong_secret_and_rotation(self) -> None:
        assert self.scheme.verify(self.signed(), ["nope"], now=TS).reason == "signature mismatch"
        assert self.scheme.verify(self.signed(), ["nope", SECRET], now=TS).secret_index == 1

    @pytest.mark.parametrize(
        ("header", "value", "reason"),
        [
            ("X-Ts", None, "missing header X-Ts"),
            ("X-Id", None, "missing header X-Id"),
            ("X-Signature", None, "missing header X-Signature"),
            ("X-Ts", "noon", "malformed X-Ts 'noon'"),
            ("X-Signature", "abc", "malformed X-Signature: expected 64 hex characters"),
        ],
    )
    def test_missing_and_malformed(self, header: str, value: str | None, reason: str) -> None:
        headers = dict(self.scheme.sign(BODY, SECRET, msg_id="a", timestamp=TS))
        if value is None:
            del headers[header]
        else:
            headers[header] = value
        assert self.scheme.verify(msg(*headers.items()), [SECRET], now=TS).reason == reason


def test_missing_prefix_is_malformed() -> None:
    scheme = GenericHmac({"prefix": "sha256="})
    verdict = scheme.verify(msg(("X-Signature", expected(BODY))), [SECRET], now=TS)
    assert verdict.reason.startswith("malformed X-Signature: expected prefix 'sha256='")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"algorithm": "md5"}, "'algorithm' must be one of sha1, sha256, sha512"),
        ({"encoding": "base32"}, "'encoding' must be one of hex, base64"),
        ({"header": "X Signature"}, "'header' must be a header name"),
        ({"header": 5}, "'header' must be a string"),
        ({"template": "{id}.{timestamp}"}, "must include {body}"),
        ({"template": "{body}{user}"}, "may only use {id}, {timestamp} and {body}"),
        ({"template": "{body!r}"}, "may only use"),
        ({"template": "{body"}, "'template' is malformed"),
        ({"template": "{timestamp}.{body}"}, "set option 'timestamp_header'"),
        ({"template": "{id}.{body}"}, "set option 'id_header'"),
        ({"timestamp_header": "X-Ts"}, "needs {timestamp} in the template"),
        ({"colour": "blue"}, "scheme 'hmac' has no option 'colour'"),
    ],
)
def test_bad_options_are_clear_scheme_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemeError, match=message.replace("{", r"\{").replace("}", r"\}")):
        GenericHmac(options)


def test_empty_and_padded_secrets_are_refused() -> None:
    scheme = GenericHmac()
    with pytest.raises(SchemeError, match="needs a secret"):
        scheme.check_secret("")
    with pytest.raises(SchemeError, match="whitespace"):
        scheme.check_secret(SECRET + "\n")


def test_literal_braces_in_the_template() -> None:
    scheme = GenericHmac({"template": "{{v1}}{body}"})
    assert scheme.sign(BODY, SECRET) == [("X-Signature", expected(b"{v1}" + BODY))]


def test_event_type_defaults_to_the_json_type() -> None:
    assert GenericHmac().event_type(msg()) == "order.paid"
    assert GenericHmac().event_id(msg()) is None

"""Keys for every scheme and the example receivers, shared by the conformance and scheme tests."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hookyard.exceptions import SchemeError
from hookyard.signatures.registry import scheme_class


@dataclass(frozen=True)
class Keys:
    """What the sender signs with, and what the receiver is configured with."""

    signing: str
    verifying: str


def _sendgrid_pair() -> Keys:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return Keys(pem, public)


def _same(secret: str) -> Keys:
    return Keys(secret, secret)


KEYS: dict[str, Keys] = {
    "standard-webhooks": _same("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    "stripe": _same("whsec_unit_stripe"),
    "github": _same("It's a Secret to Everybody"),
    "slack": _same("8f742231b10e8888abcd99yyyzzz85a5"),
    "shopify": _same("shopify-client-secret"),
    "square": _same("square-signature-key"),
    "paddle": _same("pdl_ntf_01unitsecret"),
    "twitch": _same("twitch-subscription-secret"),
    "twilio": _same("twilio-auth-token"),
    "sendgrid": _sendgrid_pair(),
    "hmac": _same("generic-hmac-secret"),
}
SIGNED_SCHEMES = sorted(KEYS)
TIMESTAMPED = ["paddle", "sendgrid", "slack", "standard-webhooks", "stripe", "twitch"]


def require_scheme(name: str) -> None:
    """Skip only while a scheme's module is not in this build yet."""
    try:
        scheme_class(name)
    except SchemeError:
        pytest.skip(f"scheme {name} is not available in this build")


#: A generic HMAC sender that signs its id and timestamp, so every check applies to it.
HMAC_OPTIONS = {
    "header": "X-Signature",
    "prefix": "sha256=",
    "timestamp_header": "X-Timestamp",
    "id_header": "X-Event-Id",
    "template": "{id}.{timestamp}.{body}",
}


def options_for(name: str) -> dict[str, str]:
    return dict(HMAC_OPTIONS) if name == "hmac" else {}


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "receivers"


def load_example(name: str) -> ModuleType:
    """An example receiver module from ``examples/receivers``, loaded by path."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

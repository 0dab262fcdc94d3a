"""Sign test requests the way each provider does, and describe each scheme's wire format.

The ``sign_*`` helpers are thin wrappers over the registry's ``Scheme.sign``: a test that
signs with them produces exactly what hookyard's verifiers accept, so a receiver under
test is held to the real format. ``wire_profile`` says what the conformance battery
needs to know to attack a scheme: which headers carry the signature, whether a
timestamp and a message id are signed, and where the event id lives.

Everything here is pure except where fresh randomness is the point (``wrong_secret``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets as random_tokens
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hookyard.exceptions import SchemeError
from hookyard.signatures.base import Scheme
from hookyard.signatures.registry import create_scheme

Headers = tuple[tuple[str, str], ...]

#: How a scheme carries the provider's message (event) id.
#: ``signed-header``: a header the signature covers; ``header``: a header it does not
#: cover; ``body``: a field of the signed body; ``none``: there is no id.
IdBinding = Literal["signed-header", "header", "body", "none"]
BodyKind = Literal["json", "form"]

#: Never copied from a captured request into a new one: the client sets them.
HOP_BY_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "expect", "keep-alive", "te"}
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request ready to send: the URL may differ from the one asked for (Twilio JSON)."""

    url: str
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class WireProfile:
    """What the battery must know about a scheme beyond ``sign`` and ``verify``."""

    scheme: str
    #: Headers that carry the signature itself (removed or garbled by the attacks).
    signature_headers: tuple[str, ...]
    #: Every header the scheme owns; dropped from captured requests before re-signing.
    owned_headers: tuple[str, ...]
    timestamped: bool
    id_binding: IdBinding
    #: Where a body-borne event id lives: keys, or list indexes for array bodies.
    id_path: tuple[str | int, ...] = ()
    body_kind: BodyKind = "json"
    #: Headers a real provider sends that receivers route on (not part of the signature).
    extra_headers: Headers = ()
    #: The id shape a provider uses; receivers sometimes validate it.
    id_prefix: str = "msg_"

    @property
    def signed(self) -> bool:
        return bool(self.signature_headers)

    @property
    def multi_signature(self) -> bool:
        """Whether one signature header can carry several signatures (key rotation)."""
        return self.scheme in _COMBINERS

    @property
    def content_type(self) -> str:
        if self.body_kind == "form":
            return "application/x-www-form-urlencoded"
        return "application/json"


def _profile(
    scheme: Scheme, *, timestamped: bool = False, id_binding: IdBinding = "none", **rest: Any
) -> WireProfile:
    """The profile of ``scheme``: its headers as the scheme declares them, plus ``rest``."""
    headers = scheme.scheme_headers
    return WireProfile(
        scheme=scheme.name,
        signature_headers=headers.signature,
        owned_headers=tuple(h.lower() for h in headers.names),
        timestamped=timestamped,
        id_binding=id_binding,
        **rest,
    )


# What the battery needs beyond each scheme's headers (which the schemes declare): the
# provider wire formats are public and stable, so they are spelled out here.
_TRAITS: dict[str, dict[str, Any]] = {
    "standard-webhooks": {"timestamped": True, "id_binding": "signed-header"},
    "stripe": {"timestamped": True, "id_binding": "body", "id_path": ("id",), "id_prefix": "evt_"},
    "github": {
        "id_binding": "header",
        "extra_headers": (("X-GitHub-Event", "issues"),),
        "id_prefix": "",
    },
    "slack": {
        "timestamped": True,
        "id_binding": "body",
        "id_path": ("event_id",),
        "id_prefix": "Ev",
    },
    "shopify": {
        "id_binding": "header",
        "extra_headers": (("X-Shopify-Topic", "orders/create"),),
        "id_prefix": "",
    },
    "square": {"id_binding": "body", "id_path": ("event_id",), "id_prefix": ""},
    "paddle": {
        "timestamped": True,
        "id_binding": "body",
        "id_path": ("event_id",),
        "id_prefix": "evt_",
    },
    "twitch": {"timestamped": True, "id_binding": "signed-header", "id_prefix": ""},
    "twilio": {"id_binding": "header", "body_kind": "form", "id_prefix": "idem_"},
    "sendgrid": {
        "timestamped": True,
        "id_binding": "body",
        "id_path": (0, "sg_event_id"),
        "id_prefix": "sg_",
    },
}


def wire_profile(scheme: Scheme) -> WireProfile:
    """The battery's view of ``scheme``; configurable schemes are read from their options."""
    if scheme.name == "hmac":
        return _hmac_profile(scheme)
    if scheme.name == "none":
        id_header = getattr(scheme, "id_header", None)
        return _profile(scheme, id_binding="header" if id_header else "none")
    traits = _TRAITS.get(scheme.name)
    if traits is None:
        raise SchemeError(f"the conformance kit does not know scheme {scheme.name!r}")
    return _profile(scheme, **traits)


def _hmac_profile(scheme: Scheme) -> WireProfile:
    timestamp_header: str | None = getattr(scheme, "timestamp_header", None)
    id_header: str | None = getattr(scheme, "id_header", None)
    template = getattr(scheme, "template", ())
    id_signed = any(field == "id" for _, field in template)
    binding: IdBinding = "none"
    if id_header:
        binding = "signed-header" if id_signed else "header"
    return _profile(scheme, timestamped=timestamp_header is not None, id_binding=binding)


# -- signing ---------------------------------------------------------------------------------


def resolve(scheme: str | Scheme, options: Mapping[str, Any] | None = None) -> Scheme:
    if isinstance(scheme, Scheme):
        if options:
            raise SchemeError("give options when naming a scheme, not with a Scheme instance")
        return scheme
    return create_scheme(scheme, options)


def sign(
    scheme: str | Scheme,
    body: bytes,
    secret: str,
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """The headers ``scheme`` adds to ``body``: exactly ``Scheme.sign``, by scheme name."""
    return resolve(scheme, options).sign(body, secret, msg_id=msg_id, timestamp=timestamp, url=url)


def sign_request(
    scheme: str | Scheme,
    url: str,
    body: bytes,
    secret: str,
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
    headers: Iterable[tuple[str, str]] = (),
    options: Mapping[str, Any] | None = None,
) -> SignedRequest:
    """A complete request: ``headers`` (minus any the signature replaces) plus the signature.

    Twilio signs a JSON body through a ``bodySHA256`` query parameter, so for such a body
    the URL gains that parameter, as it does when Twilio posts.
    """
    resolved = resolve(scheme, options)
    target = url
    if resolved.name == "twilio" and _looks_like_json(body) and "bodySHA256=" not in url:
        target = url_with_body_hash(url, body)
    signed = resolved.sign(body, secret, msg_id=msg_id, timestamp=timestamp, url=target)
    replaced = {name.lower() for name, _ in signed}
    kept = tuple((n, v) for n, v in headers if n.lower() not in replaced)
    return SignedRequest(url=target, headers=(*kept, *signed), body=body)


def url_with_body_hash(url: str, body: bytes) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}bodySHA256={hashlib.sha256(body).hexdigest()}"


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


# One helper a scheme, so a test reads like the provider's documentation.


def sign_standard_webhooks(
    body: bytes, secret: str, *, msg_id: str | None = None, timestamp: int | None = None
) -> list[tuple[str, str]]:
    """``webhook-id``/``-timestamp``/``-signature``; ``whsec_`` gives v1, ``whsk_`` v1a."""
    return sign("standard-webhooks", body, secret, msg_id=msg_id, timestamp=timestamp)


def sign_stripe(body: bytes, secret: str, *, timestamp: int | None = None) -> list[tuple[str, str]]:
    return sign("stripe", body, secret, timestamp=timestamp)


def sign_github(
    body: bytes, secret: str, *, delivery_id: str | None = None
) -> list[tuple[str, str]]:
    return sign("github", body, secret, msg_id=delivery_id)


def sign_slack(body: bytes, secret: str, *, timestamp: int | None = None) -> list[tuple[str, str]]:
    return sign("slack", body, secret, timestamp=timestamp)


def sign_shopify(
    body: bytes, secret: str, *, webhook_id: str | None = None
) -> list[tuple[str, str]]:
    return sign("shopify", body, secret, msg_id=webhook_id)


def sign_square(body: bytes, signature_key: str, *, url: str) -> list[tuple[str, str]]:
    """Square signs the notification URL with the body: give the URL the receiver sees."""
    return sign("square", body, signature_key, url=url)


def sign_paddle(body: bytes, secret: str, *, timestamp: int | None = None) -> list[tuple[str, str]]:
    return sign("paddle", body, secret, timestamp=timestamp)


def sign_twitch(
    body: bytes, secret: str, *, msg_id: str | None = None, timestamp: int | None = None
) -> list[tuple[str, str]]:
    return sign("twitch", body, secret, msg_id=msg_id, timestamp=timestamp)


def sign_twilio(
    body: bytes, auth_token: str, *, url: str, idempotency_token: str | None = None
) -> list[tuple[str, str]]:
    """A form body signed against ``url``; for JSON, sign against ``url_with_body_hash``."""
    return sign("twilio", body, auth_token, url=url, msg_id=idempotency_token)


def sign_sendgrid(
    body: bytes, private_key: str, *, timestamp: int | None = None
) -> list[tuple[str, str]]:
    """Needs the P-256 private key (PEM or base64 PKCS#8); the receiver holds the public one."""
    headers = sign("sendgrid", body, private_key, timestamp=timestamp)
    if not headers:
        raise SchemeError("sendgrid signing needs the private key, not the public one")
    return headers


def sign_hmac(
    body: bytes,
    secret: str,
    *,
    options: Mapping[str, Any] | None = None,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> list[tuple[str, str]]:
    return sign("hmac", body, secret, msg_id=msg_id, timestamp=timestamp, options=options)


# -- material for attacks --------------------------------------------------------------------


def wrong_secret(scheme: str, secret: str) -> str:
    """A fresh secret of the same shape as ``secret`` that the receiver cannot know.

    Same shape matters: a receiver may reject a malformed key early, and the check is
    about a well-formed signature under the wrong key.
    """
    if scheme == "standard-webhooks":
        if secret.startswith("whsk_"):
            return "whsk_" + base64.b64encode(random_tokens.token_bytes(32)).decode()
        return "whsec_" + base64.b64encode(random_tokens.token_bytes(24)).decode()
    if scheme == "sendgrid":
        return _new_p256_private_key()
    prefix, sep, _ = secret.rpartition("_")
    keep = prefix + sep if sep and len(prefix) <= 12 else ""
    return keep + random_tokens.token_hex(16)


def _new_p256_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


def _stripe_combine(wrong: str, right: str) -> str:
    signatures = [part for part in right.split(",") if not part.strip().startswith("t=")]
    return ",".join([wrong, *signatures])


def _paddle_combine(wrong: str, right: str) -> str:
    signatures = [part for part in right.split(";") if not part.strip().startswith("ts=")]
    return ";".join([wrong, *signatures])


#: How two signatures share one header, for schemes whose header can carry several.
_COMBINERS: dict[str, Callable[[str, str], str]] = {
    "standard-webhooks": lambda wrong, right: f"{wrong} {right}",
    "stripe": _stripe_combine,
    "paddle": _paddle_combine,
}


def combine_signatures(scheme: str, wrong: str, right: str) -> str:
    """One header value carrying an unknown key's signature first, then the valid one.

    The unknown one comes first so that a receiver which only reads the first entry
    fails, as it would on the day a provider starts rotating its key.
    """
    combiner = _COMBINERS.get(scheme)
    if combiner is None:
        raise SchemeError(f"scheme {scheme!r} carries one signature per header")
    return combiner(wrong, right)


def malform(value: str) -> str:
    """A signature header value that keeps its prefix but cannot be decoded."""
    return value[: max(1, len(value) // 2)] + "%%"


def tamper(body: bytes) -> bytes:
    """``body`` with its content changed but still parseable, so only the signature can tell.

    A JSON object gains a member (an array of scalars an element); a form gains a
    parameter; anything else has its last byte flipped.
    """
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"[") and (changed := _tamper_json(body)) is not None:
        return changed
    if _looks_like_form(body):
        return body + b"&hookyard_tampered=1"
    if not body:
        return b"x"
    return body[:-1] + bytes([body[-1] ^ 0x01])


def _tamper_json(body: bytes) -> bytes | None:
    """An extra member in the first object, or an extra element in an array of scalars."""
    brace = body.find(b"{")
    if brace >= 0:
        at, member, close = brace + 1, b'"hookyard_tampered":true', b"}"
    else:
        at, member, close = body.find(b"[") + 1, b"true", b"]"
    rest = body[at:]
    comma = b"" if rest.lstrip()[:1] == close else b","
    changed = body[:at] + member + comma + rest
    try:
        json.loads(changed)
    except ValueError:
        return None
    return changed


def _looks_like_form(body: bytes) -> bool:
    if not body or b"=" not in body or b"\n" in body:
        return False
    try:
        pairs = urllib.parse.parse_qsl(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return bool(pairs)


# -- bodies ----------------------------------------------------------------------------------


def synthetic_body(profile: WireProfile, event_id: str, *, size: int | None = None) -> bytes:
    """A plausible body for ``profile``'s provider carrying ``event_id`` where it belongs.

    With ``size`` the body is padded to exactly that many bytes (when it can be), for the
    oversized-body check.
    """
    if profile.body_kind == "form":
        pairs = _form_payload(event_id)
        body = urllib.parse.urlencode(pairs).encode()
        if size is not None and size > len(body) + len("&Padding="):
            body += b"&Padding=" + b"x" * (size - len(body) - len("&Padding="))
        return body
    payload = _json_payload(profile.scheme, event_id)
    body = _dump(payload)
    if size is not None:
        holder = payload[0] if isinstance(payload, list) else payload
        holder["padding"] = ""
        base = _dump(payload)
        holder["padding"] = "x" * max(0, size - len(base))
        body = _dump(payload)
    return body


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _json_payload(scheme: str, event_id: str) -> Any:
    amount = {"amount": 4200, "currency": "eur"}
    if scheme == "stripe":
        return {"id": event_id, "object": "event", "type": "charge.succeeded", "data": amount}
    if scheme == "slack":
        return {
            "type": "event_callback",
            "event_id": event_id,
            "event": {"type": "app_mention", "text": "hello"},
        }
    if scheme == "square":
        return {
            "merchant_id": "MLCONFORMANCE",
            "type": "payment.created",
            "event_id": event_id,
            "data": amount,
        }
    if scheme == "paddle":
        return {"event_id": event_id, "event_type": "transaction.completed", "data": amount}
    if scheme == "sendgrid":
        return [
            {
                "email": "user@example.com",
                "event": "processed",
                "sg_event_id": event_id,
                "timestamp": 1700000000,
            }
        ]
    if scheme == "twitch":
        return {
            "subscription": {"type": "channel.follow", "version": "2"},
            "event": {"user_name": "conformance"},
        }
    if scheme == "github":
        return {"action": "opened", "issue": {"number": 1, "title": "conformance"}}
    # Senders without a named format: the id goes in the body too, so that no two checks
    # send identical bytes to a receiver that dedups on a hash of the body.
    return {"id": event_id, "type": "conformance.check", "data": amount}


def _form_payload(event_id: str) -> list[tuple[str, str]]:
    return [
        ("AccountSid", "AC" + "0" * 32),
        ("MessageSid", "SM" + hashlib.sha256(event_id.encode()).hexdigest()[:32]),
        ("MessageStatus", "delivered"),
    ]


def event_id_in(profile: WireProfile, body: bytes) -> str | None:
    """The body-borne event id, when ``profile`` keeps one in the body and it is there."""
    if profile.id_binding != "body":
        return None
    value = _lookup(_parse_json(body), profile.id_path)
    return value if isinstance(value, str) and value else None


def with_event_id(profile: WireProfile, body: bytes, event_id: str) -> bytes | None:
    """``body`` carrying ``event_id`` instead of its own, or None when it carries none.

    The old id is swapped in place so that every other byte stays as captured; only when
    that is ambiguous is the JSON re-serialised.
    """
    if profile.id_binding != "body":
        return body
    parsed = _parse_json(body)
    old = _lookup(parsed, profile.id_path)
    if not isinstance(old, str) or not old:
        return None
    quoted = json.dumps(old).encode()
    if body.count(quoted) == 1:
        swapped = body.replace(quoted, json.dumps(event_id).encode())
        if _lookup(_parse_json(swapped), profile.id_path) == event_id:
            return swapped
    _store(parsed, profile.id_path, event_id)
    return _dump(parsed)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _lookup(value: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or len(value) <= key:
                return None
            value = value[key]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def _store(value: Any, path: Sequence[str | int], new: str) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def without_owned_headers(profile: WireProfile, headers: Iterable[tuple[str, str]]) -> Headers:
    """Captured headers minus the scheme's own and hop-by-hop ones, ready to re-sign."""
    owned = set(profile.owned_headers) | HOP_BY_HOP
    return tuple((n, v) for n, v in headers if n.lower() not in owned)

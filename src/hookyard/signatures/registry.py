"""Scheme names (a public contract) mapped to their implementation, imported on first use."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from hookyard.exceptions import SchemeError
from hookyard.signatures.base import Scheme, SchemeHeaders

_SCHEMES: dict[str, str] = {
    "none": "hookyard.signatures.none:NoSignature",
    "standard-webhooks": "hookyard.signatures.standard_webhooks:StandardWebhooks",
    "stripe": "hookyard.signatures.stripe:Stripe",
    "github": "hookyard.signatures.github:GitHub",
    "slack": "hookyard.signatures.slack:Slack",
    "shopify": "hookyard.signatures.shopify:Shopify",
    "square": "hookyard.signatures.square:Square",
    "paddle": "hookyard.signatures.paddle:Paddle",
    "twitch": "hookyard.signatures.twitch:Twitch",
    "twilio": "hookyard.signatures.twilio:Twilio",
    "sendgrid": "hookyard.signatures.sendgrid:SendGrid",
    "hmac": "hookyard.signatures.generic_hmac:GenericHmac",
}


def scheme_names() -> list[str]:
    return sorted(_SCHEMES)


def scheme_class(name: str) -> type[Scheme]:
    target = _SCHEMES.get(name)
    if target is None:
        raise SchemeError(f"unknown scheme {name!r}; known: {', '.join(scheme_names())}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SchemeError(f"scheme {name!r} is not available in this build") from exc
    cls: type[Scheme] = getattr(module, attr)
    return cls


def create_scheme(name: str, options: Mapping[str, Any] | None = None) -> Scheme:
    return scheme_class(name)(options)


def _declared(part: Callable[[SchemeHeaders], tuple[str, ...]]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for name in _SCHEMES:
        try:
            declared = scheme_class(name).scheme_headers
        except SchemeError:  # a scheme left out of this build has no headers to claim
            continue
        names.update((header.lower(), None) for header in part(declared))
    return tuple(names)


@functools.cache
def signature_header_names() -> tuple[str, ...]:
    """Lower-case names of the headers the provider schemes sign with: the signatures and
    what they cover (timestamps, signed delivery ids). ``signing = "passthrough"`` forwards
    these; a diff counts them volatile. Schemes whose header names are configured per
    source (``hmac``, ``none``) declare none here."""
    return _declared(lambda headers: (*headers.signature, *headers.signed))


@functools.cache
def delivery_id_header_names() -> tuple[str, ...]:
    """Lower-case names of the unsigned headers the provider schemes read the provider's
    own id of a delivery from (``X-GitHub-Delivery``, …): new on every event."""
    return _declared(lambda headers: headers.ids)

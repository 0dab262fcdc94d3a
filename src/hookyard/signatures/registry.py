"""Scheme names (a public contract) mapped to their implementation, imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from hookyard.exceptions import SchemeError
from hookyard.signatures.base import Scheme

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

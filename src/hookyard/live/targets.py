"""The local receivers of ``hookyard listen`` as delivery ``Destination`` objects, built from
its flags with the same parser as ``[destinations.NAME]`` (so a local forward is signed,
framed and bounded exactly like any delivery), each mistake named by its flag."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError, UsageError

DEFAULT_SCHEME = "standard-webhooks"


@dataclass(frozen=True, slots=True)
class Signing:
    table: Mapping[str, str] | str
    generated_secret: str | None = None


def signing_from_flag(value: str | None) -> Signing:
    """``SCHEME:SECRET`` (the secret may be ``env:NAME`` or ``file:PATH``), ``none``, or
    nothing: a fresh Standard Webhooks secret, to print once."""
    if value is None:
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        return Signing({"scheme": DEFAULT_SCHEME, "secret": secret}, generated_secret=secret)
    if value == "none":
        return Signing("none")
    scheme, colon, secret = value.partition(":")
    if not colon or not scheme or not secret:
        raise UsageError("--sign-with: expected SCHEME:SECRET (or none), e.g. stripe:whsec_...")
    return Signing({"scheme": scheme, "secret": secret})


def headers_from_flag(values: Iterable[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"--headers: expected 'Name: value', got {value!r}")
        headers[name.strip()] = text.strip()
    return headers


def timeout_from_flag(value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None
    if seconds <= 0:
        raise UsageError("--timeout: must be more than 0")
    return seconds


def local_destinations(
    name: str,
    urls: Iterable[str],
    signing: Signing,
    headers: Mapping[str, str],
    timeout_seconds: float,
) -> dict[str, Destination]:
    """One destination per URL, all signed and headed alike."""
    found: dict[str, Destination] = {}
    for url in urls:
        _check(name, {"url": url}, "--forward-to" if not found else "--map")
        _check(name, {"url": url, "signing": signing.table}, "--sign-with")
        _check(name, {"url": url, "headers": dict(headers)}, "--headers")
        found[url] = _check(
            name,
            {
                "url": url,
                "signing": signing.table,
                "headers": dict(headers),
                "timeout_seconds": timeout_seconds,
            },
            "--forward-to",
        )
    return found


def _check(name: str, table: dict[str, Any], flag: str) -> Destination:
    try:
        return parse_destination(name, table)
    except ConfigError as exc:
        # "destinations.NAME.key: problem" → "--flag: problem"
        text = str(exc)
        prefix = f"destinations.{name}"
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip(".")
            text = text.split(":", 1)[1].strip() if ":" in text else text
        raise UsageError(f"{flag}: {text}") from None

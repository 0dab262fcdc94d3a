"""``[destinations.NAME]`` tables turned into frozen ``Destination`` objects.

Everything that can be wrong with a destination is found here, at start, and
reported as one ``ConfigError`` line naming ``destinations.NAME.key`` and the problem
(the caller prefixes the file name). Nothing is checked later on the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from hookyard.delivery.handlers import Handler, check_handler_spec, load_handler
from hookyard.delivery.retry import (
    BreakerConfig,
    RetryPolicy,
    parse_breaker,
    parse_retry_policy,
)
from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError, SchemeError
from hookyard.secrets import resolve_secret, resolve_secret_value
from hookyard.signatures.base import Scheme
from hookyard.signatures.registry import create_scheme
from hookyard.urls import mask_url

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_IN_FLIGHT = 10
DESTINATION_KEYS = frozenset(
    {
        "url",
        "handler",
        "sources",
        "events",
        "signing",
        "timeout_seconds",
        "retry",
        "max_in_flight",
        "rate_limit",
        "dry_run",
        "headers",
        "forward_headers",
        "circuit_breaker",
    }
)
#: Headers hookyard owns on every delivery; ``headers`` may not override them, because
#: the body framing and the idempotency key must stay what receivers rely on.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
        "idempotency-key",
        "x-hookyard-id",
        "x-hookyard-attempt",
        "x-hookyard-source",
        "x-hookyard-event-type",
        "x-hookyard-replay-of",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_GLOB = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z?\[\]]+$")

SigningMode = Literal["none", "passthrough", "scheme"]


@dataclass(frozen=True, slots=True)
class Signing:
    """How outgoing requests are signed.

    ``none``: no signature headers. ``passthrough``: the provider's own signature
    headers are forwarded unchanged (plus any names in ``headers``). ``scheme``:
    every attempt is re-signed with ``scheme`` and ``secret`` and a fresh timestamp.
    """

    mode: SigningMode = "none"
    scheme_name: str | None = None
    scheme: Scheme | None = field(default=None, compare=False)
    secret: str | None = field(default=None, repr=False)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Destination:
    name: str
    url: str | None = None
    handler: str | None = None
    handler_func: Handler | None = field(default=None, compare=False, repr=False)
    #: None means every source.
    sources: tuple[str, ...] | None = None
    #: Glob patterns on the event type; None means every event, typed or not.
    events: tuple[str, ...] | None = None
    signing: Signing = field(default_factory=Signing)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    #: Requests per second; None means unlimited.
    rate_limit: float | None = None
    dry_run: bool = False
    #: Extra headers, values already resolved (they may hold credentials: never logged).
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: Provider headers (case-insensitive globs) copied onto every delivery.
    forward_headers: tuple[str, ...] = ()
    #: None when the circuit breaker is turned off.
    circuit_breaker: BreakerConfig | None = field(default_factory=BreakerConfig)

    @property
    def kind(self) -> Literal["http", "handler"]:
        return "handler" if self.handler is not None else "http"


def parse_destinations(
    raw: Mapping[str, Any],
    *,
    sources: Collection[str] | None = None,
    load_handlers: bool = True,
) -> dict[str, Destination]:
    """Every ``[destinations.NAME]`` table, in file order.

    ``sources``, when given, are the configured source names; a destination that
    names any other source is an error (a typo would otherwise silently route nothing).
    Without ``load_handlers`` a handler's module is not imported (``handler_func`` is
    None): only the processes that deliver need it, and a read-only command must not
    fail because a handler is not on its ``PYTHONPATH``.
    """
    return {
        name: parse_destination(name, table, sources=sources, load_handlers=load_handlers)
        for name, table in raw.items()
    }


def parse_destination(
    name: str,
    table: object,
    *,
    sources: Collection[str] | None = None,
    load_handlers: bool = True,
) -> Destination:
    key = f"destinations.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{key}: must be a table")
    unknown = sorted(set(table) - DESTINATION_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")

    url = table.get("url")
    handler = table.get("handler")
    if (url is None) == (handler is None):
        raise ConfigError(f"{key}: give exactly one of url or handler")
    handler_func: Handler | None = None
    if url is not None:
        url = _url(url, f"{key}.url")
    else:
        if not isinstance(handler, str):
            raise ConfigError(f"{key}.handler: must be a string like 'package.module:function'")
        try:
            handler_func = load_handler(handler) if load_handlers else None
            check_handler_spec(handler)
        except ValueError as exc:
            raise ConfigError(f"{key}.handler: {exc}") from None

    signing = _signing(table.get("signing"), f"{key}.signing")
    if handler is not None and signing.mode != "none":
        raise ConfigError(f"{key}.signing: only HTTP destinations are signed; remove it")
    if handler is not None and "headers" in table:
        raise ConfigError(f"{key}.headers: only HTTP destinations send headers; remove it")

    return Destination(
        name=name,
        url=url,
        handler=handler,
        handler_func=handler_func,
        sources=_sources(table.get("sources"), f"{key}.sources", sources),
        events=_events(table.get("events"), f"{key}.events"),
        signing=signing,
        timeout_seconds=_positive_duration(
            table.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS), f"{key}.timeout_seconds"
        ),
        retry=parse_retry_policy(table.get("retry"), f"{key}.retry"),
        max_in_flight=_max_in_flight(table.get("max_in_flight"), f"{key}.max_in_flight"),
        rate_limit=_rate_limit(table.get("rate_limit"), f"{key}.rate_limit"),
        dry_run=_bool(table.get("dry_run", False), f"{key}.dry_run"),
        headers=_headers(table.get("headers"), f"{key}.headers"),
        forward_headers=_forward_headers(table.get("forward_headers"), f"{key}.forward_headers"),
        circuit_breaker=parse_breaker(table.get("circuit_breaker"), f"{key}.circuit_breaker"),
    )


def is_catch_all(pattern: str) -> bool:
    """``*`` (or ``**``, …) matches every event, including one with no type."""
    return bool(pattern) and set(pattern) == {"*"}


# -- field readers ---------------------------------------------------------------------------


def _url(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be a string")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{key}: must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"{key}: not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{key}: must start with http:// or https://, got {mask_url(value)!r}")
    if not parts.hostname:
        raise ConfigError(f"{key}: has no host: {mask_url(value)!r}")
    if parts.fragment:
        raise ConfigError(f"{key}: must not have a #fragment")
    return value


def _string_list(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{key}: must be a list of non-empty strings")
    if not value:
        raise ConfigError(f"{key}: must not be empty; leave it out to match everything")
    return tuple(dict.fromkeys(value))  # drop repeats, keep order


def _sources(value: object, key: str, known: Collection[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = _string_list(value, key)
    if known is not None:
        for name in names:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none configured"
                raise ConfigError(f"{key}: unknown source {name!r} (sources: {listed})")
    return names


def _events(value: object, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    patterns = _string_list(value, key)
    for pattern in patterns:
        if any(ord(c) < 32 for c in pattern):
            raise ConfigError(f"{key}: pattern {pattern!r} has control characters")
    return patterns


def _signing(value: object, key: str) -> Signing:
    if value is None or value == "none":
        return Signing()
    if value == "passthrough":
        return Signing(mode="passthrough")
    if isinstance(value, str):
        raise ConfigError(
            f'{key}: must be "passthrough", "none" or a table like '
            '{scheme = "standard-webhooks", secret = "..."}'
        )
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: must be a string or a table")
    scheme_name = value.get("scheme")
    if not isinstance(scheme_name, str) or not scheme_name:
        raise ConfigError(f'{key}.scheme: required (a scheme name, or "passthrough")')
    if scheme_name == "passthrough":
        unknown = sorted(set(value) - {"scheme", "headers"})
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]}: not used with passthrough")
        return Signing(
            mode="passthrough", headers=_forward_headers(value.get("headers"), f"{key}.headers")
        )
    if scheme_name == "none":
        # A secret is tolerated (signing switched off for a while); anything else is a typo.
        unknown = sorted(set(value) - {"scheme", "secret"})
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]}: not used with scheme 'none'")
        return Signing()
    if "secret" not in value:
        raise ConfigError(f"{key}.secret: required for scheme {scheme_name!r}")
    try:
        secret = resolve_secret_value(value["secret"])
    except ValueError as exc:
        raise ConfigError(f"{key}.secret: {exc}") from None
    options = {k: v for k, v in value.items() if k not in ("scheme", "secret")}
    try:
        scheme = create_scheme(scheme_name, options)
        # Sign once now so a malformed secret fails at start, not on the first delivery.
        scheme.sign(b"", secret, msg_id="probe", timestamp=0, url="https://probe.invalid/")
    except SchemeError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return Signing(mode="scheme", scheme_name=scheme_name, scheme=scheme, secret=secret)


def _positive_duration(value: object, key: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{key}: must be more than 0")
    return seconds


def _max_in_flight(value: object, key: str) -> int:
    if value is None:
        return DEFAULT_MAX_IN_FLIGHT
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}: must be an integer of at least 1, got {value!r}")
    return value


def _rate_limit(value: object, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{key}: must be a number of requests per second above 0")
    return float(value)


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: must be true or false")
    return value


def _headers(value: object, key: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: must be a table of header names to values")
    headers = []
    for name, raw in value.items():
        if not _TOKEN.match(name):
            raise ConfigError(f"{key}: {name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ConfigError(f"{key}.{name}: set by hookyard on every delivery; cannot be changed")
        if not isinstance(raw, str):
            raise ConfigError(f"{key}.{name}: must be a string")
        try:
            # Values may be secret references (an Authorization token from env:NAME).
            resolved = resolve_secret(raw)
        except ValueError as exc:
            raise ConfigError(f"{key}.{name}: {exc}") from None
        if any(c in resolved for c in "\r\n\0") or not _latin1(resolved):
            raise ConfigError(f"{key}.{name}: value has a line break, NUL or non-Latin-1 text")
        headers.append((name, resolved))
    return tuple(headers)


def _forward_headers(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    names = _string_list(value, key)
    for name in names:
        if not _HEADER_GLOB.match(name):
            raise ConfigError(f"{key}: {name!r} is not a header name or pattern")
    return names


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


# Field readers other config tables share (mirrors), so a key reads the same everywhere.
read_url = _url
read_sources = _sources
read_events = _events
read_signing = _signing
read_positive_duration = _positive_duration
read_bool = _bool
read_string_list = _string_list

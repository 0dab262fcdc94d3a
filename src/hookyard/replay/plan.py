"""What a replay is asked to do: the target (a destination or any URL, re-signed or not)
and the selection (ids, or a filter up to a limit), checked before anything is read or sent.

``resolve_target`` and ``plan_from_json`` turn the CLI's options and the API's body into
the same ``ReplayPlan``; every mistake in them is a ``UsageError`` that names what the
user gave: the CLI's flag (``--to``) or the API's field (``to``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from hookyard.delivery.destinations import Destination, parse_destination
from hookyard.delivery.guard import BlockedAddress, checked_addresses, host_and_port
from hookyard.delivery.netpolicy import NetPolicy
from hookyard.exceptions import ConfigError, UsageError
from hookyard.filtering import cli_flag, filter_from_params, text_problem
from hookyard.models import EventFilter

DEFAULT_CONCURRENCY = 16
MAX_CONCURRENCY = 512
MAX_IDS = 100_000
_SIGNING_PROBE_URL = "https://signing.invalid/"


def _plain(key: str) -> str:
    return key


# -- target ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayTarget:
    """Where a replay goes. ``label`` is stored as the batch's target and as each
    replayed dispatch's destination: the destination's name, or ``url:`` and the URL
    with any credentials (user info, query values) masked."""

    destination: Destination
    label: str

    @property
    def signing(self) -> str:
        signing = self.destination.signing
        return (
            signing.scheme_name
            if signing.mode == "scheme" and signing.scheme_name
            else signing.mode
        )


def describe_url(url: str) -> str:
    """``url`` without credentials: user info dropped, query values masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def resolve_target(
    destinations: Mapping[str, Destination],
    *,
    to: str | None = None,
    url: str | None = None,
    sign_scheme: str | None = None,
    sign_secret: str | None = None,
    flag: Callable[[str], str] = cli_flag,
) -> ReplayTarget:
    """A configured destination (``to``) or an ad-hoc URL, optionally (re-)signed.

    ``sign_scheme`` / ``sign_secret`` override the destination's own signing; the
    secret may be a literal, ``env:NAME`` or ``file:PATH``. Raises ``UsageError``.
    """
    if (to is None) == (url is None):
        raise UsageError(f"give exactly one of {flag('to')} NAME or {flag('url')} URL")
    signing: dict[str, str] | None = None
    if sign_secret is not None and sign_scheme is None:
        raise UsageError(f"{flag('sign_secret')} needs {flag('sign_scheme')}")
    if sign_scheme is not None:
        signing = {"scheme": sign_scheme}
        if sign_secret is not None:
            signing["secret"] = sign_secret
    if to is not None:
        destination = destinations.get(to)
        if destination is None:
            known = ", ".join(destinations) or "none configured"
            raise UsageError(f"{flag('to')}: unknown destination {to!r} (destinations: {known})")
        if signing is not None:
            if destination.kind == "handler":
                raise UsageError(
                    f"{flag('sign_scheme')}: {to!r} is a Python handler; only HTTP is signed"
                )
            probe = _parse_url_destination(_SIGNING_PROBE_URL, signing, flag)
            destination = dataclasses.replace(destination, signing=probe.signing)
        return ReplayTarget(destination, label=to)
    assert url is not None
    destination = _parse_url_destination(url, signing, flag)
    return ReplayTarget(destination, label=f"url:{describe_url(url)}")


async def check_url_target(target: ReplayTarget, policy: NetPolicy, field: str = "url") -> None:
    """An ad-hoc URL's host, resolved now and judged by ``policy``: ``UsageError`` naming
    the rule if refused. Configured destinations were checked at start; a name that
    does not resolve now is left to the connect-time check, which refuses it there."""
    url = target.destination.url
    if target.label == target.destination.name or url is None:
        return  # a configured destination
    try:
        host, port = host_and_port(url)
        await checked_addresses(host, port, policy)
    except BlockedAddress as exc:
        raise UsageError(f"{field}: {exc}") from None
    except (OSError, ValueError):
        return  # left to the attempt, which reports it as the connect error it is


def _parse_url_destination(
    url: str, signing: dict[str, str] | None, flag: Callable[[str], str]
) -> Destination:
    name = "replay"
    table: dict[str, object] = {"url": url}
    if signing is not None:
        table["signing"] = signing
    try:
        return parse_destination(name, table)
    except ConfigError as exc:
        message = str(exc)
        for key, option in (
            (f"destinations.{name}.signing.secret", flag("sign_secret")),
            (f"destinations.{name}.signing.scheme", flag("sign_scheme")),
            (f"destinations.{name}.signing", flag("sign_scheme")),
            (f"destinations.{name}.url", flag("url")),
        ):
            message = message.replace(key, option)
        raise UsageError(message) from None


# -- selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayPlan:
    """What to replay (``ids``, or ``query`` up to ``max_events``), where, and how fast."""

    target: ReplayTarget
    ids: tuple[str, ...] = ()
    query: EventFilter | None = None
    max_events: int | None = None
    #: The selection as given, recorded with the batch: ``{"ids": [...]}`` or the filter.
    selection: Mapping[str, Any] = field(default_factory=dict)
    rate: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    force: bool = False

    def __post_init__(self) -> None:
        if not self.ids and self.query is None:
            raise UsageError("give event ids or a filter to choose what to replay")
        for event_id in self.ids:  # the CLI's ids come here unchecked
            if (problem := text_problem(event_id)) is not None:
                raise UsageError(f"event id {event_id[:40]!r}: {problem}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(f"concurrency must be from 1 to {MAX_CONCURRENCY}")
        if self.rate is not None and not 0 < self.rate < math.inf:  # NaN fails too
            raise UsageError("rate must be more than 0 events per second, and finite")

    @property
    def effective_rate(self) -> float | None:
        """The given rate, else the destination's own ``rate_limit``."""
        return self.rate if self.rate is not None else self.target.destination.rate_limit

    def options(self) -> dict[str, Any]:
        return {
            "rate": self.effective_rate,
            "concurrency": self.concurrency,
            "force": self.force,
            "signing": self.target.signing,
        }


def _check_text(key: str, value: object) -> None:
    """A string the store can hold: an id or name with a NUL byte names nothing."""
    if not isinstance(value, str):
        raise UsageError(f"{key}: expected a string")
    problem = text_problem(value)
    if problem is not None:
        raise UsageError(f"{key}: {problem}")


def _rate(rate: object) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise UsageError("rate: expected a number of events per second")
    try:
        value = float(rate)
    except OverflowError:  # an integer too large for a float
        value = math.inf
    if not math.isfinite(value):
        raise UsageError("rate: expected a finite number of events per second")
    return value


def plan_from_json(
    payload: object, destinations: Mapping[str, Destination]
) -> tuple[ReplayPlan, bool]:
    """``POST /api/replays`` body to a plan and the dry-run flag; raises ``UsageError``.

    ``{"ids": [...]} or {"filter": {...}}``, ``"to": NAME`` or ``"url": URL``, and
    optionally ``"rate"``, ``"concurrency"``, ``"force"``, ``"dry_run"``.
    """
    if not isinstance(payload, dict):
        raise UsageError("expected a JSON object")
    allowed = {"ids", "filter", "to", "url", "rate", "concurrency", "force", "dry_run"}
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(allowed))})")
    ids, selector = payload.get("ids"), payload.get("filter")
    if (ids is None) == (selector is None):
        raise UsageError('give exactly one of "ids" (a list of event ids) or "filter" (an object)')
    for key in ("to", "url"):
        if payload.get(key) is not None:
            _check_text(key, payload[key])
    target = resolve_target(destinations, to=payload.get("to"), url=payload.get("url"), flag=_plain)
    rate = _rate(payload.get("rate"))
    concurrency = payload.get("concurrency", DEFAULT_CONCURRENCY)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise UsageError("concurrency: expected an integer")
    flags = {}
    for key in ("force", "dry_run"):
        value = payload.get(key, False)
        if not isinstance(value, bool):
            raise UsageError(f"{key}: expected true or false")
        flags[key] = value
    common: dict[str, Any] = {
        "target": target,
        "rate": rate,
        "concurrency": concurrency,
        "force": flags["force"],
    }
    if ids is not None:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise UsageError("ids: expected a non-empty list of event ids")
        if len(ids) > MAX_IDS:
            raise UsageError(f"ids: at most {MAX_IDS} at a time; use a filter for more")
        for event_id in ids:
            _check_text("ids", event_id)
        unique = tuple(dict.fromkeys(ids))
        return ReplayPlan(ids=unique, selection={"ids": list(unique)}, **common), flags["dry_run"]
    if not isinstance(selector, dict):
        raise UsageError("filter: expected an object")
    if not any(value is not None for value in selector.values()):
        # Like the CLI: replaying everything takes a deliberate filter (e.g. "since").
        raise UsageError("filter: give at least one filter, such as status or since")
    query, limit = filter_from_params(selector, flag=lambda key: f"filter.{key}")
    plan = ReplayPlan(query=query, max_events=limit, selection=dict(selector), **common)
    return plan, flags["dry_run"]

"""The filter language: how people select events (and dead letters), in one place.

``GET /api/events``, ``hookyard events list``/``export``, ``hookyard replay`` and
``POST /api/replays`` all read filters here, so ``?type=order.*&response_status=5xx&since=1h``
and ``--type 'order.*' --response-status 5xx --since 1h`` select exactly the same events.
Every value arrives as text; a bad one raises :class:`BadFilter` naming the field, which
the API turns into a 400 and the CLI into ``--flag: problem`` (exit 2).

=================== ==========================================================
filter              meaning
=================== ==========================================================
``source``          the source name
``type``            event type, exact or a glob (``order.*``, ``invoice.?aid``)
``verdict``         ``valid``, ``invalid`` or ``unsigned``
``status``          event status: ``pending``, ``delivered``, ``dead``, …
``response_status`` last HTTP status of a dispatch: a class (``5xx``) or a code
``destination``     has a dispatch to this destination
``since``/``until`` received at or after / before: ISO time, Unix time, or ``1h``
``limit``           rows per page, 1 to 1000 (default 50)
``cursor``          ``next_cursor`` of the previous page
=================== ==========================================================

Text values must be storable text: no NUL byte, no lone surrogate (PostgreSQL refuses
both, and one bad value must be a 400 naming its filter, not a failed query), at most
:data:`MAX_TEXT` characters. Numbers are ASCII digits, checked for length before ``int``.

A listing ignores keys it does not know (query strings carry unrelated parameters); a
selection that acts on what it finds (:func:`filter_from_params`, for replays) rejects
them, since a misspelt filter must not widen a replay to everything.

This module stands on ``models`` and ``timeparse`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import get_args

from hookyard.exceptions import UsageError
from hookyard.models import EventFilter, EventStatus, VerdictStatus
from hookyard.storable import storable
from hookyard.timeparse import parse_time_us

FILTER_NAMES = (
    "source",
    "type",
    "verdict",
    "status",
    "response_status",
    "destination",
    "since",
    "until",
    "limit",
    "cursor",
)
#: The filters of a selection (a replay): every list filter but the page cursor.
SELECTION_NAMES = tuple(name for name in FILTER_NAMES if name != "cursor")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
#: The most events a selection (a replay) may ask for: beyond any store, within a bigint.
MAX_SELECTION = 10**12
#: The longest text filter: ids are 26 characters, names and globs far less.
MAX_TEXT = 1000
VERDICTS: tuple[str, ...] = get_args(VerdictStatus)
STATUSES: tuple[str, ...] = get_args(EventStatus)


class BadFilter(UsageError):
    """A filter that cannot be used. ``name`` is the field (``since``, ``type``, …), None
    when the problem is which fields were given; the text spells the field as the caller
    does (``since``, ``--since``, ``filter.since``), see :meth:`spelt`."""

    def __init__(self, name: str | None, problem: str, *, label: str | None = None) -> None:
        label = label or name
        super().__init__(problem if label is None else f"{label}: {problem}")
        self.name = name
        self.problem = problem

    def spelt(self, flag: Callable[[str], str]) -> BadFilter:
        """The same problem with the field spelt by ``flag`` (e.g. :func:`cli_flag`)."""
        if self.name is None:
            return self
        return BadFilter(self.name, self.problem, label=flag(self.name))


def cli_flag(name: str) -> str:
    """How the CLI spells a field: ``response_status`` → ``--response-status``."""
    return "--" + name.replace("_", "-")


def status_code_range(text: str) -> tuple[int, int]:
    """``"5xx"`` → ``(500, 599)``, ``"404"`` → ``(404, 404)``; ValueError otherwise."""
    value = text.strip().lower()
    if len(value) == 3 and value[0] in "12345" and value[1:] == "xx":
        low = int(value[0]) * 100
        return low, low + 99
    if len(value) == 3 and value.isascii() and value.isdigit() and 100 <= int(value) <= 599:
        return int(value), int(value)
    raise ValueError(f"expected a status class like 5xx or a code from 100 to 599, got {text!r}")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or compared as text (None when it can).

    Also for ids taken from a path: an id with a NUL byte names no event.
    """
    if len(value) > MAX_TEXT:
        return f"must be at most {MAX_TEXT} characters"
    if storable(value):
        return None
    return "must not contain NUL bytes" if "\x00" in value else "must be valid UTF-8 text"


def _text(values: Mapping[str, str | None], name: str) -> str | None:
    raw = values.get(name)
    if raw is None:
        return None
    problem = text_problem(raw)
    if problem is not None:
        raise BadFilter(name, problem)
    return raw.strip() or None


def _whole_number(text: str, maximum: int) -> int | None:
    """``text`` as an int from 1 to ``maximum``; None when it is not one (``²``, ``1e3``,
    5,000 digits: ``int`` itself raises past 4,300)."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if 1 <= number <= maximum else None


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise BadFilter(name, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _moment(name: str, value: str | None, now: float | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_time_us(value, now=now)
    except ValueError as exc:
        raise BadFilter(name, str(exc)) from None


def _limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    number = _whole_number(value, maximum)
    if number is None:
        shown = repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
        raise BadFilter("limit", f"expected an integer from 1 to {maximum}, got {shown}")
    return number


def parse_filter(
    values: Mapping[str, str | None],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
    now: float | None = None,
) -> EventFilter:
    """An :class:`EventFilter` from text values keyed by :data:`FILTER_NAMES`.

    Missing keys, ``None`` and empty strings mean "no filter". Other keys are
    ignored (query strings carry unrelated parameters). ``now`` fixes the clock
    for relative times such as ``1h``.
    """
    response_status = _text(values, "response_status")
    if response_status is not None:
        try:
            status_code_range(response_status)
        except ValueError as exc:
            raise BadFilter("response_status", str(exc)) from None
        response_status = response_status.lower()
    since_us = _moment("since", _text(values, "since"), now)
    until_us = _moment("until", _text(values, "until"), now)
    if since_us is not None and until_us is not None and since_us >= until_us:
        raise BadFilter("until", "must be later than since")
    return EventFilter(
        source=_text(values, "source"),
        event_type=_text(values, "type"),
        verdict=_choice("verdict", _text(values, "verdict"), VERDICTS),
        status=_choice("status", _text(values, "status"), STATUSES),
        since_us=since_us,
        until_us=until_us,
        limit=_limit(_text(values, "limit"), default_limit, max_limit),
        cursor=_text(values, "cursor"),
        response_status=response_status,
        destination=_text(values, "destination"),
    )


def filter_from_params(
    params: Mapping[str, object], *, flag: Callable[[str], str] = cli_flag
) -> tuple[EventFilter, int | None]:
    """A selection: the event filter and the most events to take (``limit``; None for all).

    Keys are :data:`SELECTION_NAMES`, parsed by :func:`parse_filter`, with ``limit``
    uncapped. Unlike a listing, an unknown key, a non-text value and an empty one are
    errors. Raises :class:`BadFilter` naming the field as ``flag`` spells it.
    """
    unknown = sorted(set(params) - set(SELECTION_NAMES))
    if unknown:
        raise BadFilter(
            None, f"unknown filter {unknown[0]!r} (filters: {', '.join(SELECTION_NAMES)})"
        )
    text: dict[str, str | None] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadFilter(key, f"expected text, got {_shown(value)}").spelt(flag)
        if isinstance(value, int) and abs(value) >= 10**30:
            raise BadFilter(key, "number too large").spelt(flag)
        text[key] = str(value).strip()
        if not text[key]:
            raise BadFilter(key, "must not be empty").spelt(flag)
    limit: int | None = None
    raw_limit = text.pop("limit", None)
    if raw_limit is not None:
        limit = _whole_number(raw_limit, MAX_SELECTION)
        if limit is None:
            problem = f"expected a whole number of at least 1 and at most {MAX_SELECTION}"
            raise BadFilter("limit", problem).spelt(flag)
    try:
        query = parse_filter(text, default_limit=MAX_LIMIT)
    except BadFilter as exc:
        raise exc.spelt(flag) from None
    return query, limit


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- dead letters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead dispatches ``GET /api/dlq`` and ``hookyard dlq list|retry`` take."""

    destination: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def chooses(self) -> bool:
        """Whether any filter narrows the selection (the page size and cursor do not)."""
        return any(v is not None for v in (self.destination, self.since_us, self.until_us))


def parse_dead_letter_filter(
    values: Mapping[str, str | None],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
    now: float | None = None,
) -> DeadLetterFilter:
    """A :class:`DeadLetterFilter` from ``destination``, ``since``/``until`` (when the
    dispatch died), ``limit`` and ``cursor``, read as :func:`parse_filter` reads them."""
    return DeadLetterFilter(
        destination=_text(values, "destination"),
        since_us=_moment("since", _text(values, "since"), now),
        until_us=_moment("until", _text(values, "until"), now),
        cursor=_text(values, "cursor"),
        limit=_limit(_text(values, "limit"), default_limit, max_limit),
    )


# -- the audit trail and replay batches (operator controls) ---------------------------------


@dataclass(frozen=True)
class PageFilter:
    """``GET /api/audit`` and ``/api/replays``, ``hookyard audit list`` and ``replay
    list``: an optional ``action`` (audit only), ``since``, ``cursor`` and ``limit``."""

    action: str | None = None
    since_us: int | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def parse_page_filter(
    values: Mapping[str, str | None],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
    now: float | None = None,
) -> PageFilter:
    return PageFilter(
        action=_text(values, "action"),
        since_us=_moment("since", _text(values, "since"), now),
        cursor=_text(values, "cursor"),
        limit=_limit(_text(values, "limit"), default_limit, max_limit),
    )

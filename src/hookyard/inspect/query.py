"""The event filters as people type them, shared by ``GET /api/events`` and the CLI.

One parser, so that ``?type=order.*&response_status=5xx&since=1h`` and
``--type 'order.*' --response-status 5xx --since 1h`` select exactly the same events.
Every value arrives as text; a bad one raises :class:`BadFilter` naming the filter,
which the API turns into a 400 and the CLI into ``--flag: problem`` (exit 2).

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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from hookyard.models import EventFilter, EventStatus, VerdictStatus
from hookyard.store.filters import status_code_range
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
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
VERDICTS: tuple[str, ...] = get_args(VerdictStatus)
STATUSES: tuple[str, ...] = get_args(EventStatus)


class BadFilter(ValueError):
    """A filter value that cannot be used; ``name`` is the filter (``since``, ``type``, …)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


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
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise BadFilter("limit", f"expected an integer from 1 to {maximum}, got {value!r}")
    return int(value)


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

    def text(name: str) -> str | None:
        raw = values.get(name)
        if raw is None:
            return None
        stripped = raw.strip()
        return stripped or None

    response_status = text("response_status")
    if response_status is not None:
        try:
            status_code_range(response_status)
        except ValueError as exc:
            raise BadFilter("response_status", str(exc)) from None
        response_status = response_status.lower()
    since_us = _moment("since", text("since"), now)
    until_us = _moment("until", text("until"), now)
    if since_us is not None and until_us is not None and since_us >= until_us:
        raise BadFilter("until", "must be later than since")
    return EventFilter(
        source=text("source"),
        event_type=text("type"),
        verdict=_choice("verdict", text("verdict"), VERDICTS),
        status=_choice("status", text("status"), STATUSES),
        since_us=since_us,
        until_us=until_us,
        limit=_limit(text("limit"), default_limit, max_limit),
        cursor=text("cursor"),
        response_status=response_status,
        destination=text("destination"),
    )

"""``[alerts]``: JSON notices to a webhook: a dispatch dead-lettered (each one, or a daily
summary), a destination that disabled itself (410), and the backlog growing old
(``hookyard.alerting`` decides when)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hookyard.delivery.guard import BlockedAddress
from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError
from hookyard.metrics import count_alert
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.alerts")


#: ``dead_letters``: a notice for each dead dispatch, one summary a day, or none.
DEAD_LETTER_MODES = ("each", "daily", "off")
DEFAULT_BACKLOG_AGE = 900.0
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class AlertConfig:
    url: str
    timeout_seconds: float = 5.0
    # -- operations: what else is worth a notice
    dead_letters: str = "each"
    #: A notice when a destination's oldest due dispatch has waited longer (None: never).
    backlog_age: float | None = DEFAULT_BACKLOG_AGE
    summary_every: float = DAY_SECONDS


def parse_alerts(raw: Mapping[str, Any] | None) -> AlertConfig | None:
    if not raw:
        return None
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("alerts.url: must be an http:// or https:// URL")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        # CR/LF in a URL is request splitting waiting for a client that lets it through.
        raise ConfigError("alerts.url: must not contain spaces or control characters")
    timeout = raw.get("timeout_seconds", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError("alerts.timeout_seconds: must be a positive number")
    unknown = sorted(set(raw) - {"url", "timeout_seconds"} - OPERATIONS_KEYS)
    if unknown:
        raise ConfigError(f"alerts.{unknown[0]}: unknown key")
    return AlertConfig(url=url, timeout_seconds=float(timeout), **_operations(raw))


OPERATIONS_KEYS = frozenset({"dead_letters", "backlog_age", "summary_every"})


def _operations(raw: Mapping[str, Any]) -> dict[str, Any]:
    mode = raw.get("dead_letters", "each")
    if mode not in DEAD_LETTER_MODES:
        raise ConfigError(f"alerts.dead_letters: must be one of {', '.join(DEAD_LETTER_MODES)}")
    found: dict[str, Any] = {"dead_letters": mode}
    backlog = raw.get("backlog_age", DEFAULT_BACKLOG_AGE)
    if backlog == "off" or backlog is False:
        found["backlog_age"] = None
    else:
        found["backlog_age"] = _positive(backlog, "alerts.backlog_age")
    found["summary_every"] = _positive(
        raw.get("summary_every", DAY_SECONDS), "alerts.summary_every"
    )
    return found


def _positive(value: object, key: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if seconds <= 0:
        raise ConfigError(f"{key}: must be more than 0")
    return seconds


def dead_notice(
    *,
    dispatch_id: str,
    event_id: str,
    destination: str,
    attempts: int,
    reason: str,
    at_us: int,
    status: str = "dead",
) -> dict[str, Any]:
    """The JSON posted to ``[alerts] url`` (format in docs/operator.md). ``status`` is
    ``dead`` (dead-lettered) or ``disabled`` (held: the destination answered 410)."""
    return {
        "type": f"hookyard.dispatch.{status}",
        "status": status,
        "dispatch_id": dispatch_id,
        "event_id": event_id,
        "destination": destination,
        "attempts": attempts,
        "reason": reason,
        "at": iso_from_us(at_us),
    }


async def send_alert(
    client: httpx.AsyncClient, config: AlertConfig, notice: dict[str, Any]
) -> None:
    """Best effort: an alert that cannot be sent is logged, never retried forever."""
    count_alert(str(notice.get("type", "unknown")).removeprefix("hookyard."))
    try:
        response = await client.post(config.url, json=notice, timeout=config.timeout_seconds)
        if response.status_code >= 300:
            log.error("alert webhook answered %s", response.status_code)
    except (httpx.HTTPError, BlockedAddress) as exc:
        log.error("alert webhook failed: %s", exc)
    except Exception as exc:  # an alert must never take its caller down with it
        log.error("alert webhook failed: %s: %s", type(exc).__name__, exc)

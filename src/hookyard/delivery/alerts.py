"""``[alerts]``: a JSON notice to a webhook when a dispatch is dead-lettered or held by a
destination that disabled itself (410)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hookyard.delivery.guard import BlockedAddress
from hookyard.exceptions import ConfigError
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.alerts")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    url: str
    timeout_seconds: float = 5.0


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
    unknown = sorted(set(raw) - {"url", "timeout_seconds"})
    if unknown:
        raise ConfigError(f"alerts.{unknown[0]}: unknown key")
    return AlertConfig(url=url, timeout_seconds=float(timeout))


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
    try:
        response = await client.post(config.url, json=notice, timeout=config.timeout_seconds)
        if response.status_code >= 300:
            log.error("alert webhook answered %s", response.status_code)
    except (httpx.HTTPError, BlockedAddress) as exc:
        log.error("alert webhook failed: %s", exc)

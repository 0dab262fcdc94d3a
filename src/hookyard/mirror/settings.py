"""``[mirrors.NAME]`` tables turned into frozen ``Mirror`` objects, checked at start.

A mirror is opt-in per source and never points at production: a URL equal to a
production destination's is refused with one line naming both keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from hookyard.delivery.destinations import (
    Destination,
    Signing,
    read_bool,
    read_events,
    read_positive_duration,
    read_signing,
    read_sources,
    read_string_list,
    read_url,
)
from hookyard.exceptions import ConfigError
from hookyard.mirror.sampling import SampleBy, parse_sample_by
from hookyard.mirror.shaping import MaskSpec, parse_mask

MIRROR_KEYS = frozenset(
    {
        "sources",
        "events",
        "url",
        "sample_rate",
        "sample_by",
        "rate",
        "burst",
        "timeout_seconds",
        "signatures",
        "signing",
        "mask",
        "payload",
        "compare_with",
        "ignore",
        "max_lag",
        "dry_run",
        "alert_after",
        "max_cpu_pressure",
    }
)
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_LAG_SECONDS = 60.0
DEFAULT_ALERT_AFTER_SECONDS = 300.0
#: The lane works only while at most this share of the time some task waits for a CPU.
DEFAULT_MAX_CPU_PRESSURE = 0.1
_NAME = re.compile(r"[A-Za-z0-9._-]+")

SignatureMode = Literal["strip", "resign"]
PayloadMode = Literal["full", "envelope"]


@dataclass(frozen=True, slots=True)
class Mirror:
    name: str
    sources: tuple[str, ...]
    #: ``{source}`` in it becomes the event's source name.
    url: str
    events: tuple[str, ...] | None = None
    sample_rate: float = 1.0
    sample_by: SampleBy | None = None
    #: Copies per second; None means no limit.
    rate: float | None = None
    burst: int = 1
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    signatures: SignatureMode = "strip"
    signing: Signing = field(default_factory=Signing)
    mask: MaskSpec = field(default_factory=MaskSpec)
    payload: PayloadMode = "full"
    compare_with: str | None = None
    #: Header names and JSON paths the report's body comparison leaves out.
    ignore: tuple[str, ...] = ()
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS
    dry_run: bool = False
    #: A lane silent or behind for longer than this raises an alert.
    alert_after_seconds: float = DEFAULT_ALERT_AFTER_SECONDS
    #: The lane waits while the CPUs are busier than this (``hookyard.mirror.pressure``);
    #: 1 turns the wait off.
    max_cpu_pressure: float = DEFAULT_MAX_CPU_PRESSURE

    def url_for(self, source: str) -> str:
        return self.url.replace("{source}", source)


def parse_mirrors(
    raw: Mapping[str, Any],
    *,
    sources: Mapping[str, object],
    destinations: Mapping[str, Destination],
) -> dict[str, Mirror]:
    """Every ``[mirrors.NAME]`` table, in file order."""
    return {
        name: parse_mirror(name, table, sources=sources, destinations=destinations)
        for name, table in raw.items()
    }


def parse_mirror(
    name: str,
    table: object,
    *,
    sources: Mapping[str, object],
    destinations: Mapping[str, Destination],
) -> Mirror:
    key = f"mirrors.{name}"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"mirrors.{name!r}: a mirror name may hold only A-Z, a-z, 0-9, . _ -")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{key}: must be a table")
    unknown = sorted(set(table) - MIRROR_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")
    if "sources" not in table:
        raise ConfigError(f"{key}.sources: required: name the sources to mirror (opt-in)")
    if "url" not in table:
        raise ConfigError(f"{key}.url: required")
    mirrored = read_sources(table["sources"], f"{key}.sources", sources) or ()
    url = _url(table["url"], f"{key}.url")
    rate = _rate(table.get("rate"), f"{key}.rate")
    mirror = Mirror(
        name=name,
        sources=mirrored,
        url=url,
        events=read_events(table.get("events"), f"{key}.events"),
        sample_rate=_fraction(table.get("sample_rate", 1.0), f"{key}.sample_rate"),
        sample_by=_sample_by(table.get("sample_by"), f"{key}.sample_by"),
        rate=rate,
        burst=_burst(table.get("burst"), rate, f"{key}.burst"),
        timeout_seconds=read_positive_duration(
            table.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS), f"{key}.timeout_seconds"
        ),
        signatures=_signatures(table.get("signatures", "strip"), f"{key}.signatures"),
        signing=_signing(table, key),
        mask=_mask(table.get("mask"), f"{key}.mask"),
        payload=_payload(table.get("payload", "full"), f"{key}.payload"),
        compare_with=_compare_with(table.get("compare_with"), f"{key}.compare_with", destinations),
        ignore=_ignore(table.get("ignore"), f"{key}.ignore"),
        max_lag_seconds=read_positive_duration(
            table.get("max_lag", DEFAULT_MAX_LAG_SECONDS), f"{key}.max_lag"
        ),
        dry_run=read_bool(table.get("dry_run", False), f"{key}.dry_run"),
        alert_after_seconds=read_positive_duration(
            table.get("alert_after", DEFAULT_ALERT_AFTER_SECONDS), f"{key}.alert_after"
        ),
        max_cpu_pressure=_fraction(
            table.get("max_cpu_pressure", DEFAULT_MAX_CPU_PRESSURE), f"{key}.max_cpu_pressure"
        ),
    )
    _refuse_production_url(mirror, key, destinations)
    return mirror


def same_endpoint_key(url: str) -> tuple[str, str, int | None, str, str]:
    """What makes two URLs one endpoint: scheme and host ignore case, a default port is
    no port, an empty path is ``/``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path or "/", parts.query


def _refuse_production_url(
    mirror: Mirror, key: str, destinations: Mapping[str, Destination]
) -> None:
    production = {
        same_endpoint_key(d.url): name for name, d in destinations.items() if d.url is not None
    }
    for source in mirror.sources:
        owner = production.get(same_endpoint_key(mirror.url_for(source)))
        if owner is not None:
            raise ConfigError(
                f"{key}.url: is the URL of production destination {owner!r} "
                f"(destinations.{owner}.url); a mirror must point elsewhere"
            )


def _url(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be a string")
    rest = value.replace("{source}", "")
    if "{" in rest or "}" in rest:
        raise ConfigError(f"{key}: the only placeholder a mirror URL takes is {{source}}")
    read_url(value.replace("{source}", "source"), key)
    return value


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: must be a number, got {value!r}")
    return float(value)


def _fraction(value: object, key: str) -> float:
    rate = _number(value, key)
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{key}: must be between 0 and 1, got {value!r}")
    return rate


def _sample_by(value: object, key: str) -> SampleBy | None:
    if value is None:
        return None
    try:
        return parse_sample_by(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _rate(value: object, key: str) -> float | None:
    if value is None:
        return None
    rate = _number(value, key)
    if rate <= 0:
        raise ConfigError(f"{key}: must be a number of events per second above 0")
    return rate


def _burst(value: object, rate: float | None, key: str) -> int:
    if value is None:
        return max(1, int(rate or 1))
    if rate is None:
        raise ConfigError(f"{key}: only used with rate; set rate too or remove it")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}: must be an integer of at least 1, got {value!r}")
    return value


def _signatures(value: object, key: str) -> SignatureMode:
    if value == "strip":
        return "strip"
    if value == "resign":
        return "resign"
    raise ConfigError(f'{key}: must be "strip" or "resign", got {value!r}')


def _signing(table: Mapping[str, Any], key: str) -> Signing:
    mode = table.get("signatures", "strip")
    value = table.get("signing")
    if mode == "strip":
        if value is not None:
            raise ConfigError(f'{key}.signing: only used with signatures = "resign"')
        return Signing()
    if not isinstance(value, Mapping):
        raise ConfigError(
            f'{key}.signing: signatures = "resign" needs signing = {{ scheme = "...", '
            'secret = "env:STAGING_SECRET" }'
        )
    signing = read_signing(value, f"{key}.signing")
    if signing.mode != "scheme":
        raise ConfigError(f"{key}.signing.scheme: resign needs a scheme, not {signing.mode!r}")
    return signing


def _mask(value: object, key: str) -> MaskSpec:
    if value is None:
        return MaskSpec()
    try:
        return parse_mask(read_string_list(value, key))
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _payload(value: object, key: str) -> PayloadMode:
    if value == "full":
        return "full"
    if value == "envelope":
        return "envelope"
    raise ConfigError(f'{key}: must be "full" or "envelope", got {value!r}')


def _compare_with(value: object, key: str, destinations: Mapping[str, Destination]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in destinations:
        known = ", ".join(destinations) or "none configured"
        raise ConfigError(f"{key}: must name a production destination (destinations: {known})")
    return value


def _ignore(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    return read_string_list(value, key)

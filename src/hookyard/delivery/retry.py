"""Retry policy and circuit breaker: pure decisions, no I/O and no clock reads.

Times are Unix seconds as floats, passed in by the caller (``now``), and randomness
comes from a ``random.Random`` the caller owns, so every decision is reproducible in
tests and the worker stays the only place that reads the clock.

Attempt numbers are 1-based: ``decide(policy, 1, ...)`` judges the first attempt.
The schedule lists the waits *between* attempts; the first attempt is always sent as
soon as the event is stored. The default is the Standard Webhooks recommendation:
immediately, then 5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h and 24h after each failure.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from hookyard.durations import parse_duration
from hookyard.exceptions import ConfigError

#: Waits after attempts 1..9 fail; with the immediate first attempt, ten attempts in all.
STANDARD_WEBHOOKS_SCHEDULE: tuple[float, ...] = (
    5.0,
    5 * 60.0,
    30 * 60.0,
    2 * 3600.0,
    5 * 3600.0,
    10 * 3600.0,
    14 * 3600.0,
    20 * 3600.0,
    24 * 3600.0,
)
DEFAULT_RETRY_ON: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_DISABLE_ON: frozenset[int] = frozenset({410})
DEFAULT_JITTER = 0.2
DEFAULT_RETRY_AFTER_MAX = 3600.0
DEFAULT_BACKOFF_ATTEMPTS = 10

ErrorKind = Literal[
    "connect",  # could not open a connection (refused, DNS, TLS handshake)
    "timeout",  # connect, read, write, pool or overall deadline exceeded
    "network",  # the connection broke mid-request
    "protocol",  # the peer spoke broken HTTP
    "invalid_request",  # we could not even build the request (bad URL, bad header)
    "handler",  # a Python handler raised
    "handler_rejected",  # a Python handler refused the event for good
]
#: Failures that may go away by themselves, so waiting and trying again makes sense.
RETRYABLE_ERRORS: frozenset[str] = frozenset(
    {"connect", "timeout", "network", "protocol", "handler"}
)

DecisionKind = Literal["delivered", "retry", "dead", "disable"]
JitterMode = Literal["proportional", "full"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential waits: ``initial * multiplier ** (n - 1)`` after attempt n, capped at ``max``."""

    initial: float
    multiplier: float = 2.0
    max: float = 3600.0

    def delay(self, failed_attempts: int) -> float:
        if self.initial <= 0.0:
            return 0.0
        exponent = failed_attempts - 1
        # Compare exponents in log space so a large attempt number cannot overflow a float.
        if self.multiplier > 1.0 and exponent >= math.log(self.max / self.initial, self.multiplier):
            return self.max
        return min(self.initial * self.multiplier**exponent, self.max)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a destination retries. Build from config with ``parse_retry_policy``."""

    schedule: tuple[float, ...] = STANDARD_WEBHOOKS_SCHEDULE
    backoff: Backoff | None = None
    max_attempts: int = len(STANDARD_WEBHOOKS_SCHEDULE) + 1
    jitter: float = DEFAULT_JITTER
    jitter_mode: JitterMode = "proportional"
    retry_on: frozenset[int] = DEFAULT_RETRY_ON
    disable_on: frozenset[int] = DEFAULT_DISABLE_ON
    retry_after_max: float = DEFAULT_RETRY_AFTER_MAX

    def base_delay(self, failed_attempts: int) -> float:
        """Wait before the next attempt after ``failed_attempts`` failures, before jitter."""
        if self.backoff is not None:
            return self.backoff.delay(failed_attempts)
        if not self.schedule:
            return 0.0
        # Past the end of the schedule the last wait repeats (when max_attempts allows it).
        return self.schedule[min(failed_attempts, len(self.schedule)) - 1]

    @property
    def cap(self) -> float:
        """The longest un-jittered wait this policy ever schedules."""
        if self.backoff is not None:
            return self.backoff.max
        return max(self.schedule, default=0.0)

    @property
    def longest_delay(self) -> float:
        """Upper bound of any wait ``decide`` returns: jittered cap or the Retry-After bound."""
        jittered = self.cap if self.jitter_mode == "full" else self.cap * (1.0 + self.jitter)
        return max(jittered, self.retry_after_max)

    def jittered(self, delay: float, rng: random.Random) -> float:
        if delay <= 0.0:
            return 0.0
        if self.jitter_mode == "full":
            # "Full jitter": anywhere between now and the scheduled wait.
            return rng.uniform(0.0, delay)
        if self.jitter <= 0.0:
            return delay
        return delay * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt produced, as far as the policy cares.

    ``status_code`` is None for a Python handler that returned normally (success) or
    for any attempt that failed before a response (then ``error_kind`` is set).
    """

    status_code: int | None = None
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        if self.error_kind is not None:
            return False
        return self.status_code is None or 200 <= self.status_code < 300

    def describe(self) -> str:
        if self.error_kind is not None:
            detail = f": {self.error_message}" if self.error_message else ""
            return f"{self.error_kind} error{detail}"
        if self.status_code is None:
            return "handler returned"
        return f"HTTP {self.status_code}"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a dispatch after an attempt.

    ``destination_ok`` feeds the circuit breaker: True when the destination answered
    in a way that shows it is up (2xx, or a 3xx/4xx that blames the request, not the
    destination), False when it looks down or overloaded.
    """

    kind: DecisionKind
    reason: str
    next_attempt_at: float | None = None
    delay: float | None = None
    destination_ok: bool = True

    @property
    def next_attempt_us(self) -> int | None:
        return None if self.next_attempt_at is None else int(self.next_attempt_at * 1_000_000)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait per a ``Retry-After`` value (delay-seconds or HTTP-date), else None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text[:12]))  # cap the digits: a 1000-digit value is not a wait
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def decide(
    policy: RetryPolicy,
    attempt_number: int,
    outcome: Outcome,
    now: float,
    rng: random.Random,
) -> Decision:
    """Judge attempt ``attempt_number`` (1-based) that produced ``outcome`` at time ``now``."""
    if attempt_number < 1:
        raise ValueError(f"attempt_number is 1-based, got {attempt_number}")
    if outcome.succeeded:
        return Decision("delivered", outcome.describe())
    status = outcome.status_code
    if outcome.error_kind is None and status is not None and status in policy.disable_on:
        return Decision(
            "disable",
            f"HTTP {status}: the destination asked to stop; disabled until re-enabled",
            destination_ok=False,
        )
    retryable, why_not = _retryable(policy, outcome)
    if not retryable:
        return Decision("dead", why_not, destination_ok=True)
    if attempt_number >= policy.max_attempts:
        return Decision(
            "dead",
            f"gave up after {attempt_number} attempt{'s' if attempt_number != 1 else ''}; "
            f"last: {outcome.describe()}",
            destination_ok=False,
        )
    delay = policy.jittered(policy.base_delay(attempt_number), rng)
    reason = f"{outcome.describe()}; retrying"
    asked = parse_retry_after(outcome.retry_after, now)
    if asked is not None:
        # Retry-After may lengthen the wait, never shorten it below the policy, and is
        # bounded so a receiver cannot park a dispatch for a year.
        honoured = min(asked, policy.retry_after_max)
        if honoured > delay:
            delay = honoured
            reason += f" after Retry-After ({asked:g}s asked, {honoured:g}s honoured)"
    delay = max(0.0, delay)
    return Decision("retry", reason, next_attempt_at=now + delay, delay=delay, destination_ok=False)


def _retryable(policy: RetryPolicy, outcome: Outcome) -> tuple[bool, str]:
    if outcome.error_kind is not None:
        if outcome.error_kind in RETRYABLE_ERRORS:
            return True, ""
        return False, f"{outcome.describe()} (not retryable)"
    status = outcome.status_code
    assert status is not None  # succeeded covers status None without an error
    if status in policy.retry_on:
        return True, ""
    if 300 <= status < 400:
        return False, (
            f"HTTP {status}: redirects are not followed (the destination URL may have moved); "
            "update the destination url"
        )
    return False, f"HTTP {status} is not in retry_on"


# -- circuit breaker -------------------------------------------------------------------------

BreakerState = Literal["closed", "open", "half_open"]


DEFAULT_FAILURE_THRESHOLD = 10
DEFAULT_OPEN_SECONDS = 30.0
DEFAULT_MAX_OPEN_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    open_seconds: float = DEFAULT_OPEN_SECONDS
    #: Each failed probe doubles the open time, up to this bound.
    max_open_seconds: float = DEFAULT_MAX_OPEN_SECONDS


@dataclass(slots=True)
class CircuitBreaker:
    """Consecutive-failure breaker for one destination; the caller supplies ``now``.

    closed: every send allowed; ``failure_threshold`` consecutive failures open it.
    open: nothing is sent until ``open_until``; then one probe is let through (half-open).
    half_open: the probe's success closes the breaker, its failure re-opens it for
    twice as long (bounded by ``max_open_seconds``).
    """

    config: BreakerConfig = field(default_factory=BreakerConfig)
    state: BreakerState = "closed"
    failures: int = 0
    open_until: float = 0.0
    open_seconds: float = 0.0
    probe_in_flight: bool = False

    def allow(self, now: float) -> bool:
        if self.state == "closed":
            return True
        if self.state == "open":
            if now < self.open_until:
                return False
            self.state = "half_open"
            self.probe_in_flight = True
            return True
        # Half-open: exactly one probe at a time.
        if self.probe_in_flight:
            return False
        self.probe_in_flight = True
        return True

    def record_success(self) -> None:
        self.state = "closed"
        self.failures = 0
        self.open_seconds = 0.0
        self.probe_in_flight = False

    def record_failure(self, now: float) -> None:
        self.probe_in_flight = False
        if self.state == "half_open":
            self.open_seconds = min(self.open_seconds * 2.0, self.config.max_open_seconds)
            self._open(now)
            return
        self.failures += 1
        if self.state == "closed" and self.failures >= self.config.failure_threshold:
            self.open_seconds = self.config.open_seconds
            self._open(now)

    def record(self, destination_ok: bool, now: float) -> None:
        """Feed one ``Decision.destination_ok`` in."""
        if destination_ok:
            self.record_success()
        else:
            self.record_failure(now)

    def _open(self, now: float) -> None:
        self.state = "open"
        self.open_until = now + self.open_seconds

    def retry_at(self, now: float) -> float:
        """When a send might next be allowed: ``now`` unless the breaker is open."""
        return self.open_until if self.state == "open" and now < self.open_until else now


# -- config ----------------------------------------------------------------------------------

RETRY_KEYS = frozenset(
    {"schedule", "backoff", "max_attempts", "jitter", "retry_on", "disable_on", "retry_after_max"}
)
BACKOFF_KEYS = frozenset({"initial", "multiplier", "max"})
BREAKER_KEYS = frozenset({"failure_threshold", "open_seconds", "max_open_seconds"})


def parse_retry_policy(data: object, key: str) -> RetryPolicy:
    """A ``RetryPolicy`` from a ``retry`` table; errors name ``key.sub`` and the problem."""
    if data is None:
        return RetryPolicy()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key}: must be a table")
    unknown = sorted(set(data) - RETRY_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")
    if "schedule" in data and "backoff" in data:
        raise ConfigError(f"{key}: give either schedule or backoff, not both")

    schedule = STANDARD_WEBHOOKS_SCHEDULE
    backoff: Backoff | None = None
    if "schedule" in data:
        raw = data["schedule"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{key}.schedule: must be a non-empty list of durations")
        schedule = tuple(_duration(v, f"{key}.schedule[{i}]") for i, v in enumerate(raw))
    if "backoff" in data:
        backoff = _backoff(data["backoff"], f"{key}.backoff")
    default_attempts = DEFAULT_BACKOFF_ATTEMPTS if backoff else len(schedule) + 1
    max_attempts = data.get("max_attempts", default_attempts)
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ConfigError(f"{key}.max_attempts: must be an integer of at least 1")

    jitter, mode = _jitter(data.get("jitter", DEFAULT_JITTER), f"{key}.jitter")
    return RetryPolicy(
        schedule=schedule,
        backoff=backoff,
        max_attempts=max_attempts,
        jitter=jitter,
        jitter_mode=mode,
        retry_on=_statuses(data.get("retry_on"), f"{key}.retry_on", DEFAULT_RETRY_ON),
        disable_on=_statuses(data.get("disable_on"), f"{key}.disable_on", DEFAULT_DISABLE_ON),
        retry_after_max=_duration(
            data.get("retry_after_max", DEFAULT_RETRY_AFTER_MAX), f"{key}.retry_after_max"
        ),
    )


def parse_breaker(data: object, key: str) -> BreakerConfig | None:
    """``circuit_breaker = false`` turns it off; a table tunes it; absent means defaults."""
    if data is None or data is True:
        return BreakerConfig()
    if data is False:
        return None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key}: must be a table or false")
    unknown = sorted(set(data) - BREAKER_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")
    threshold = data.get("failure_threshold", DEFAULT_FAILURE_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ConfigError(f"{key}.failure_threshold: must be an integer of at least 1")
    open_seconds = _duration(data.get("open_seconds", DEFAULT_OPEN_SECONDS), f"{key}.open_seconds")
    max_open = _duration(
        data.get("max_open_seconds", max(DEFAULT_MAX_OPEN_SECONDS, open_seconds)),
        f"{key}.max_open_seconds",
    )
    if max_open < open_seconds:
        raise ConfigError(f"{key}.max_open_seconds: must be at least open_seconds")
    return BreakerConfig(threshold, open_seconds, max_open)


def _duration(value: object, key: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _backoff(data: object, key: str) -> Backoff:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key}: must be a table with initial, multiplier and max")
    unknown = sorted(set(data) - BACKOFF_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key")
    if "initial" not in data:
        raise ConfigError(f"{key}.initial: required")
    initial = _duration(data["initial"], f"{key}.initial")
    multiplier = data.get("multiplier", 2.0)
    if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) or multiplier < 1:
        raise ConfigError(f"{key}.multiplier: must be a number of at least 1")
    cap = _duration(data.get("max", max(initial, 3600.0)), f"{key}.max")
    if cap < initial:
        raise ConfigError(f"{key}.max: must be at least initial ({initial:g}s)")
    return Backoff(initial=initial, multiplier=float(multiplier), max=cap)


def _jitter(value: object, key: str) -> tuple[float, JitterMode]:
    if value is False:
        return 0.0, "proportional"
    if value == "full":
        return 0.0, "full"
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(f'{key}: must be a fraction in [0, 1), "full" or false')
    return float(value), "proportional"


def _statuses(value: Any, key: str, default: frozenset[int]) -> frozenset[int]:
    """A list of status codes; ``"5xx"`` stands for 500..599."""
    if value is None:
        return default
    if not isinstance(value, list):
        raise ConfigError(f"{key}: must be a list of status codes")
    codes: set[int] = set()
    for item in value:
        codes.update(_status_item(item, key))
    return frozenset(codes)


def _status_item(item: object, key: str) -> Sequence[int]:
    if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
        return (item,)
    if isinstance(item, str) and len(item) == 3 and item[0] in "12345" and item[1:] == "xx":
        start = int(item[0]) * 100
        return range(start, start + 100)
    raise ConfigError(f'{key}: {item!r} is not a status code (100-599) or a class like "5xx"')

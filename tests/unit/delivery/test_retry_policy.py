"""The retry policy: every status class, Retry-After, jitter, backoff and the invariants."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookyard.delivery.retry import (
    DEFAULT_RETRY_ON,
    STANDARD_WEBHOOKS_SCHEDULE,
    Backoff,
    Outcome,
    RetryPolicy,
    decide,
    parse_retry_after,
)

NOW = 1_700_000_000.0
NO_JITTER = RetryPolicy(jitter=0.0)


def rng() -> random.Random:
    return random.Random(1234)


def status(code: int, retry_after: str | None = None) -> Outcome:
    return Outcome(status_code=code, retry_after=retry_after)


# -- defaults --------------------------------------------------------------------------------


def test_default_schedule_is_the_standard_webhooks_recommendation() -> None:
    policy = RetryPolicy()
    # Immediately, then these waits after each failure: ten attempts in all.
    assert policy.schedule == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert policy.max_attempts == 10
    assert policy.jitter == 0.2
    assert policy.retry_on == frozenset({408, 425, 429, 500, 502, 503, 504})
    assert policy.disable_on == frozenset({410})


def test_default_schedule_without_jitter_walks_the_schedule() -> None:
    waits = []
    for attempt in range(1, 10):
        decision = decide(NO_JITTER, attempt, status(503), NOW, rng())
        assert decision.kind == "retry"
        assert decision.next_attempt_at == NOW + decision.delay  # type: ignore[operator]
        waits.append(decision.delay)
    assert tuple(waits) == STANDARD_WEBHOOKS_SCHEDULE
    last = decide(NO_JITTER, 10, status(503), NOW, rng())
    assert last.kind == "dead"
    assert "gave up after 10 attempts" in last.reason
    assert "HTTP 503" in last.reason


# -- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(code: int) -> None:
    decision = decide(RetryPolicy(), 1, status(code), NOW, rng())
    assert decision.kind == "delivered"
    assert decision.next_attempt_at is None
    assert decision.destination_ok


def test_handler_that_returned_is_delivered() -> None:
    decision = decide(RetryPolicy(), 3, Outcome(), NOW, rng())
    assert decision.kind == "delivered"
    assert decision.reason == "handler returned"


@pytest.mark.parametrize("code", sorted(DEFAULT_RETRY_ON))
def test_retryable_statuses_retry(code: int) -> None:
    decision = decide(RetryPolicy(), 1, status(code), NOW, rng())
    assert decision.kind == "retry"
    assert not decision.destination_ok
    assert f"HTTP {code}" in decision.reason


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 409, 413, 415, 422, 451, 501, 505])
def test_other_failures_are_dead_at_once(code: int) -> None:
    decision = decide(RetryPolicy(), 1, status(code), NOW, rng())
    assert decision.kind == "dead"
    assert decision.reason == f"HTTP {code} is not in retry_on"
    assert decision.next_attempt_at is None
    # The destination answered: the request was refused, the destination is not down.
    assert decision.destination_ok


def test_410_gone_disables_the_destination() -> None:
    decision = decide(RetryPolicy(), 1, status(410), NOW, rng())
    assert decision.kind == "disable"
    assert "410" in decision.reason
    assert decision.next_attempt_at is None


def test_disable_on_is_configurable() -> None:
    policy = RetryPolicy(disable_on=frozenset())
    assert decide(policy, 1, status(410), NOW, rng()).kind == "dead"
    policy = RetryPolicy(disable_on=frozenset({410, 404}))
    assert decide(policy, 1, status(404), NOW, rng()).kind == "disable"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirects_are_dead_and_say_why(code: int) -> None:
    decision = decide(RetryPolicy(), 1, status(code), NOW, rng())
    assert decision.kind == "dead"
    assert "redirects are not followed" in decision.reason
    assert "url" in decision.reason


def test_redirect_can_be_made_retryable() -> None:
    policy = RetryPolicy(retry_on=DEFAULT_RETRY_ON | {307})
    assert decide(policy, 1, status(307), NOW, rng()).kind == "retry"


def test_1xx_final_status_is_a_failure() -> None:
    assert decide(RetryPolicy(), 1, status(101), NOW, rng()).kind == "dead"


@pytest.mark.parametrize("kind", ["connect", "timeout", "network", "protocol", "handler"])
def test_transient_errors_retry(kind: str) -> None:
    outcome = Outcome(error_kind=kind, error_message="boom")  # type: ignore[arg-type]
    decision = decide(RetryPolicy(), 1, outcome, NOW, rng())
    assert decision.kind == "retry"
    assert f"{kind} error: boom" in decision.reason
    assert not decision.destination_ok


@pytest.mark.parametrize("kind", ["invalid_request", "handler_rejected"])
def test_permanent_errors_are_dead(kind: str) -> None:
    outcome = Outcome(error_kind=kind, error_message="no")  # type: ignore[arg-type]
    decision = decide(RetryPolicy(), 1, outcome, NOW, rng())
    assert decision.kind == "dead"
    assert "not retryable" in decision.reason


def test_an_error_wins_over_a_status() -> None:
    # A handler-level error with a stray status is still an error.
    outcome = Outcome(status_code=200, error_kind="timeout")
    assert decide(RetryPolicy(), 1, outcome, NOW, rng()).kind == "retry"


def test_max_attempts_one_never_retries() -> None:
    policy = RetryPolicy(max_attempts=1)
    decision = decide(policy, 1, status(500), NOW, rng())
    assert decision.kind == "dead"
    assert decision.reason.startswith("gave up after 1 attempt;")


def test_attempt_numbers_are_one_based() -> None:
    with pytest.raises(ValueError):
        decide(RetryPolicy(), 0, status(500), NOW, rng())


def test_next_attempt_us_is_microseconds() -> None:
    decision = decide(NO_JITTER, 1, status(500), NOW, rng())
    assert decision.next_attempt_us == int((NOW + 5) * 1_000_000)


# -- schedules and backoff -------------------------------------------------------------------


def test_a_short_schedule_repeats_its_last_wait_up_to_max_attempts() -> None:
    policy = RetryPolicy(schedule=(1.0, 10.0), max_attempts=5, jitter=0.0)
    delays = [decide(policy, n, status(500), NOW, rng()).delay for n in range(1, 5)]
    assert delays == [1.0, 10.0, 10.0, 10.0]
    assert decide(policy, 5, status(500), NOW, rng()).kind == "dead"


def test_exponential_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff=Backoff(initial=1, multiplier=2, max=60), jitter=0.0)
    policy = RetryPolicy(
        backoff=Backoff(initial=1, multiplier=2, max=60), jitter=0.0, max_attempts=100
    )
    delays = [decide(policy, n, status(500), NOW, rng()).delay for n in range(1, 10)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_backoff_does_not_overflow_for_huge_attempt_numbers() -> None:
    backoff = Backoff(initial=0.5, multiplier=10, max=3600)
    assert backoff.delay(10_000) == 3600
    assert Backoff(initial=0, multiplier=2, max=10).delay(10_000) == 0
    assert Backoff(initial=3, multiplier=1, max=10).delay(10_000) == 3


def test_zero_wait_means_now() -> None:
    policy = RetryPolicy(schedule=(0.0,), max_attempts=3)
    decision = decide(policy, 1, status(500), NOW, rng())
    assert decision.kind == "retry"
    assert decision.next_attempt_at == NOW


# -- jitter ----------------------------------------------------------------------------------


def test_proportional_jitter_stays_within_the_fraction() -> None:
    policy = RetryPolicy(jitter=0.2)
    generator = random.Random(7)
    delays = {decide(policy, 2, status(500), NOW, generator).delay for _ in range(500)}
    assert all(240 <= d <= 360 for d in delays if d is not None)
    assert len(delays) > 100  # actually random
    assert min(d for d in delays if d is not None) < 270  # and spread both ways
    assert max(d for d in delays if d is not None) > 330


def test_full_jitter_is_between_zero_and_the_wait() -> None:
    policy = RetryPolicy(jitter_mode="full")
    generator = random.Random(7)
    delays = [decide(policy, 2, status(500), NOW, generator).delay for _ in range(500)]
    assert all(d is not None and 0 <= d <= 300 for d in delays)
    assert min(d for d in delays if d is not None) < 30


def test_same_seed_same_decision() -> None:
    first = decide(RetryPolicy(), 4, status(502), NOW, random.Random(99))
    second = decide(RetryPolicy(), 4, status(502), NOW, random.Random(99))
    assert first == second


# -- Retry-After -----------------------------------------------------------------------------


def test_retry_after_seconds_lengthens_the_wait() -> None:
    decision = decide(NO_JITTER, 1, status(429, "120"), NOW, rng())
    assert decision.delay == 120
    assert decision.next_attempt_at == NOW + 120
    assert "Retry-After (120s asked, 120s honoured)" in decision.reason


def test_retry_after_never_shortens_the_policy_wait() -> None:
    # Schedule says 5 minutes after the second failure; the receiver says 1 second.
    decision = decide(NO_JITTER, 2, status(503, "1"), NOW, rng())
    assert decision.delay == 300
    assert "Retry-After" not in decision.reason


def test_retry_after_is_bounded_by_retry_after_max() -> None:
    policy = RetryPolicy(jitter=0.0, retry_after_max=600)
    decision = decide(policy, 1, status(503, "999999"), NOW, rng())
    assert decision.delay == 600
    assert "999999s asked, 600s honoured" in decision.reason


def test_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 900, tz=UTC)
    header = format_datetime(when, usegmt=True)
    decision = decide(NO_JITTER, 1, status(503, header), NOW, rng())
    assert decision.delay == pytest.approx(900)


def test_retry_after_on_a_final_attempt_changes_nothing() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert decide(policy, 2, status(429, "10"), NOW, rng()).kind == "dead"


def test_retry_after_does_not_make_a_permanent_failure_retryable() -> None:
    assert decide(RetryPolicy(), 1, status(400, "10"), NOW, rng()).kind == "dead"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("  7 ", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:00 2015", 60.0),  # asctime, no zone: GMT
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: now
        ("", None),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Wed, 99 Oct 2015 07:28:00 GMT", None),
        ("١٢٣", None),  # non-ASCII digits are not delay-seconds
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now) == expected


def test_parse_retry_after_absurd_digit_strings_stay_finite() -> None:
    parsed = parse_retry_after("9" * 1000, NOW)
    assert parsed is not None
    assert parsed < 1e13


# -- invariants ------------------------------------------------------------------------------

outcomes = st.one_of(
    st.builds(Outcome, status_code=st.integers(100, 599), retry_after=st.none()),
    st.builds(
        Outcome,
        status_code=st.sampled_from([429, 503]),
        retry_after=st.one_of(
            st.integers(0, 10**9).map(str),
            st.text(max_size=40),
            st.integers(0, 10**6).map(
                lambda s: format_datetime(datetime.fromtimestamp(NOW + s, tz=UTC), usegmt=True)
            ),
        ),
    ),
    st.builds(
        Outcome,
        error_kind=st.sampled_from(
            ["connect", "timeout", "network", "protocol", "handler", "invalid_request"]
        ),
    ),
    st.just(Outcome()),
)

policies = st.builds(
    RetryPolicy,
    schedule=st.lists(st.floats(0, 10**6), min_size=1, max_size=12).map(tuple),
    backoff=st.one_of(
        st.none(),
        st.builds(
            Backoff,
            initial=st.floats(0, 100),
            multiplier=st.floats(1, 10),
            max=st.floats(100, 10**6),
        ),
    ),
    max_attempts=st.integers(1, 30),
    jitter=st.floats(0, 0.99),
    jitter_mode=st.sampled_from(["proportional", "full"]),
    retry_after_max=st.floats(0, 10**6),
)


@settings(max_examples=500, deadline=None)
@given(
    policy=policies,
    attempt=st.integers(1, 100),
    outcome=outcomes,
    now=st.floats(0, 4e9),
    seed=st.integers(0, 2**32),
)
def test_decision_invariants(
    policy: RetryPolicy, attempt: int, outcome: Outcome, now: float, seed: int
) -> None:
    decision = decide(policy, attempt, outcome, now, random.Random(seed))
    if decision.kind == "retry":
        assert decision.next_attempt_at is not None and decision.delay is not None
        # Never before now, never beyond the jittered cap (or the Retry-After bound).
        assert decision.next_attempt_at >= now
        assert decision.delay <= policy.longest_delay + 1e-6
        # Attempts never exceed max_attempts: a retry is only scheduled below it.
        assert attempt < policy.max_attempts
    else:
        assert decision.next_attempt_at is None
    if attempt >= policy.max_attempts:
        assert decision.kind != "retry"
    assert (decision.kind == "delivered") == outcome.succeeded
    assert decision.reason


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 9), seed=st.integers(0, 2**32))
def test_default_policy_stays_within_twenty_percent(attempt: int, seed: int) -> None:
    decision = decide(RetryPolicy(), attempt, status(500), NOW, random.Random(seed))
    base = STANDARD_WEBHOOKS_SCHEDULE[attempt - 1]
    assert decision.delay is not None
    assert base * 0.8 - 1e-9 <= decision.delay <= base * 1.2 + 1e-9

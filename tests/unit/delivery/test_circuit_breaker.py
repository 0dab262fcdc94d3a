"""The circuit breaker as a pure state machine: the caller owns the clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hookyard.delivery.retry import BreakerConfig, CircuitBreaker

T0 = 1_000.0


def breaker(threshold: int = 3, open_seconds: float = 10, max_open: float = 35) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(threshold, open_seconds, max_open))


def state(b: CircuitBreaker) -> str:
    return b.state  # a call, so type narrowing does not outlive a state change


def test_closed_allows_and_opens_after_consecutive_failures() -> None:
    b = breaker()
    for _ in range(2):
        assert b.allow(T0)
        b.record_failure(T0)
    assert state(b) == "closed"
    b.record_failure(T0)
    assert state(b) == "open"
    assert not b.allow(T0)
    assert not b.allow(T0 + 9.99)
    assert b.retry_at(T0 + 1) == T0 + 10


def test_a_success_resets_the_count() -> None:
    b = breaker()
    b.record_failure(T0)
    b.record_failure(T0)
    b.record_success()
    b.record_failure(T0)
    b.record_failure(T0)
    assert b.state == "closed"


def test_half_open_lets_exactly_one_probe_through() -> None:
    b = breaker()
    for _ in range(3):
        b.record_failure(T0)
    assert b.allow(T0 + 10)
    assert b.state == "half_open"
    assert not b.allow(T0 + 10)
    assert not b.allow(T0 + 11)
    assert b.retry_at(T0 + 11) == T0 + 11  # not open: the caller may ask again


def test_probe_success_closes() -> None:
    b = breaker()
    for _ in range(3):
        b.record_failure(T0)
    assert b.allow(T0 + 10)
    b.record_success()
    assert b.state == "closed"
    assert b.allow(T0 + 10)
    assert b.allow(T0 + 10)


def test_probe_failure_reopens_for_twice_as_long_up_to_the_bound() -> None:
    b = breaker()
    for _ in range(3):
        b.record_failure(T0)
    now = T0 + 10
    opened = []
    for _ in range(4):
        assert b.allow(now)
        b.record_failure(now)
        assert b.state == "open"
        opened.append(b.open_until - now)
        now = b.open_until
    assert opened == [20, 35, 35, 35]
    assert b.allow(now)
    b.record_success()
    # After recovery the next trip starts from the configured open time again.
    for _ in range(3):
        b.record_failure(now)
    assert b.open_until - now == 10


def test_failures_reported_while_open_do_not_extend_it() -> None:
    b = breaker()
    for _ in range(3):
        b.record_failure(T0)
    b.record_failure(T0 + 5)  # a send that started before the breaker opened
    assert b.open_until == T0 + 10


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["allow", "ok", "fail"]), st.floats(0, 50)), max_size=60
    )
)
def test_never_more_than_one_probe_while_not_closed(steps: list[tuple[str, float]]) -> None:
    b = breaker()
    now = T0
    probes = 0
    for action, advance in steps:
        now += advance
        if action == "allow":
            was_closed = b.state == "closed"
            allowed = b.allow(now)
            if allowed and not was_closed:
                probes += 1
                assert probes == 1
            if b.state == "open":
                assert not allowed
                assert now < b.open_until
        elif action == "ok":
            b.record_success()
            probes = 0
        else:
            b.record_failure(now)
            probes = 0
        assert b.open_until <= now + 35


def test_record_feeds_decisions_in() -> None:
    b = breaker(threshold=2)
    b.record(False, T0)
    b.record(True, T0)
    b.record(False, T0)
    assert state(b) == "closed"
    b.record(False, T0)
    assert state(b) == "open"

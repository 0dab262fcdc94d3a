"""Sampling: the configured rate within statistical bounds, reproducible, per entity."""

from __future__ import annotations

import math

import orjson
import pytest

from hookyard.ids import UlidFactory
from hookyard.mirror.bucket import TokenBucket
from hookyard.mirror.sampling import in_sample, parse_sample_by, sample_key
from hookyard.models import DeliveryEvent

IDS = UlidFactory()


def event(
    body: dict[str, object] | bytes = b"{}", headers: tuple[tuple[bytes, bytes], ...] = ()
) -> DeliveryEvent:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return DeliveryEvent(IDS.new(), "stripe", 0, None, None, "application/json", headers, raw)


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5, 0.9])
def test_rate_holds_within_five_sigma_over_10000_events(rate: float) -> None:
    n = 10_000
    taken = sum(in_sample(sample_key(event(), None), rate) for _ in range(n))
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(taken - n * rate) < 5 * sigma, (taken, n * rate)


def test_the_decision_is_reproducible() -> None:
    events = [event() for _ in range(2_000)]
    first = [in_sample(sample_key(e, None), 0.3) for e in events]
    again = [in_sample(sample_key(e, None), 0.3) for e in events]
    assert first == again
    assert 0 < sum(first) < len(first)


def test_edges() -> None:
    assert all(in_sample(str(i), 1.0) for i in range(100))
    assert not any(in_sample(str(i), 0.0) for i in range(100))


def test_sample_by_keeps_an_entity_together() -> None:
    by = parse_sample_by("data.customer")
    decisions: dict[str, set[bool]] = {}
    for i in range(3_000):
        customer = f"cus_{i % 60}"
        e = event({"data": {"customer": customer, "n": i}})
        decisions.setdefault(customer, set()).add(in_sample(sample_key(e, by), 0.5))
    assert all(len(seen) == 1 for seen in decisions.values())
    kept = sum(True in seen for seen in decisions.values())
    assert 10 < kept < 50  # about half of 60 customers, all their events or none


def test_sample_by_reads_a_header_when_the_body_has_no_such_path() -> None:
    by = parse_sample_by("X-Shop-Domain")
    a = event(b"not json", ((b"x-shop-domain", b"one.example"),))
    b = event({"other": 1}, ((b"X-Shop-Domain", b"one.example"),))
    assert sample_key(a, by) == sample_key(b, by) == "header:one.example"
    forced = parse_sample_by("header:data")
    assert sample_key(event({"data": 1}, ((b"data", b"h"),)), forced) == "header:h"


def test_an_event_without_the_value_falls_back_to_its_id() -> None:
    e = event({"data": {}})
    assert sample_key(e, parse_sample_by("json:data.customer")) == e.id


def test_bad_sample_by() -> None:
    for bad in ("", "  ", "a..b", "json:"):
        with pytest.raises(ValueError):
            parse_sample_by(bad)


def test_bucket_holds_the_rate() -> None:
    bucket = TokenBucket(10, 5, now=0.0)
    assert sum(bucket.take(0.0) for _ in range(20)) == 5  # the burst, then nothing
    sent = 0
    for step in range(1, 1001):  # ten seconds in steps of 10 ms
        sent += sum(bucket.take(step / 100) for _ in range(3))
    assert 99 <= sent <= 101  # 10/s over 10 s whatever the offered load (float steps)


def test_bucket_never_saves_more_than_the_burst() -> None:
    bucket = TokenBucket(100, 3, now=0.0)
    assert sum(bucket.take(3600.0) for _ in range(10)) == 3


def test_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1, now=0.0)

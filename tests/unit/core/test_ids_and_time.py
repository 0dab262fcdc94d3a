from __future__ import annotations

import time
from pathlib import Path

import pytest

import hookyard
from hookyard.clock import elapsed_ms, now_us, us_from_seconds
from hookyard.durations import parse_duration
from hookyard.ids import UlidFactory, new_id, ulid_time_ms
from hookyard.timeparse import iso_from_us, parse_time_us


def test_ids_sort_in_creation_order_even_within_one_millisecond() -> None:
    factory = UlidFactory()
    ids = [factory.new(now_ms=1_700_000_000_000) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert ulid_time_ms(ids[0]) == 1_700_000_000_000
    later = factory.new(now_ms=1_700_000_000_001)
    assert later > ids[-1]


def test_new_id_shape() -> None:
    value = new_id()
    assert len(value) == 26 and value.isalnum()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(300, 300), ("90s", 90), ("5m", 300), ("24h", 86400), ("3d", 259200), ("250ms", 0.25)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "-5m", -1, True, "5 parsecs"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_times() -> None:
    now = 1_000_000.0
    assert parse_time_us("1h", now=now) == int((now - 3600) * 1e6)
    assert parse_time_us("2026-01-01T00:00:00Z") == 1767225600 * 1_000_000
    assert parse_time_us("2026-01-01T00:00:00") == 1767225600 * 1_000_000
    assert parse_time_us("1767225600") == 1767225600 * 1_000_000
    assert iso_from_us(1767225600 * 1_000_000) == "2026-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="expected an ISO time"):
        parse_time_us("yesterday-ish")


def test_wall_time_in_microseconds_comes_from_the_clock_module() -> None:
    src = Path(hookyard.__file__).parent
    offenders = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src).as_posix()
        if relative == "clock.py":
            continue
        text = path.read_text()
        if "time_ns() // 1000" in text or "def now_us(" in text or "time() * 1e6" in text:
            offenders.append(relative)
    assert offenders == []


def test_clock_units() -> None:
    before = time.time_ns() // 1000
    now = now_us()
    assert before <= now <= time.time_ns() // 1000
    assert us_from_seconds(1.5) == 1_500_000
    assert elapsed_ms(time.perf_counter() - 0.25) >= 250.0

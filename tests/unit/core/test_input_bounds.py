"""Durations, times and API JSON bodies at their bounds: a ValueError, never an overflow."""

from __future__ import annotations

import pytest

from hookyard.api.inputs import MAX_DEPTH, BadBody, parse_json
from hookyard.durations import MAX_SECONDS, parse_duration
from hookyard.filtering import text_problem
from hookyard.timeparse import MAX_US, parse_time_us

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    "bad", ["٣h", "²", "99999999999w", "9" * 5000, 10**400, float("inf"), float("nan"), "1e9"]
)
def test_durations_out_of_bounds_are_value_errors(bad: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(bad)
    assert len(str(caught.value)) < 120


def test_the_longest_duration_is_accepted() -> None:
    assert parse_duration(MAX_SECONDS) == MAX_SECONDS
    assert parse_duration("5200w") == 5200 * 604800


@pytest.mark.parametrize(
    "bad",
    [
        "9" * 5000,
        "99999999999w",
        "60y",
        "1e308",
        "-1",
        "²",
        "٣",
        "٢٠٢٦-01-01",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1800-01-01T00:00:00Z",
        "300000000000",
    ],
)
def test_times_out_of_bounds_are_value_errors(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time_us(bad, now=NOW)
    assert len(str(caught.value)) < 120


def test_times_at_the_bounds() -> None:
    assert parse_time_us("0") == 0
    assert parse_time_us("9999-12-31T23:59:59.999999Z") == MAX_US
    assert parse_time_us("1.5h", now=NOW) == int((NOW - 5400) * 1e6)
    assert parse_time_us("2600w", now=NOW) == int((NOW - 2600 * 604800) * 1e6)
    with pytest.raises(ValueError, match="before 1970"):
        parse_time_us("2900w", now=NOW)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("a\x00b", "NUL"), ("\udcff", "UTF-8"), ("x" * 1001, "at most 1000"), ("ok", None)],
)
def test_text_problem(value: str, problem: str | None) -> None:
    found = text_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a": NaN}',
        b'{"a": -Infinity}',
        b'{"a": 1e999}',
        b'{"a": ' + b"9" * 5000 + b"}",
        b"\xff",
        b"",
    ],
)
def test_hostile_json_is_a_bad_body(raw: bytes) -> None:
    with pytest.raises(BadBody) as caught:
        parse_json(raw)
    assert caught.value.status == 400


def test_json_within_the_bounds_parses() -> None:
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(nested) is not None
    assert parse_json(b'{"rate": 1.5, "ids": ["a"]}') == {"rate": 1.5, "ids": ["a"]}

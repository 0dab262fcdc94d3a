"""The shared filter parser: what the API's query string and the CLI's flags become."""

from __future__ import annotations

import pytest

from hookyard.inspect.query import FILTER_NAMES, BadFilter, parse_filter
from hookyard.models import EventFilter

NOW = 1_700_000_000.0


def test_no_values_is_the_default_page() -> None:
    assert parse_filter({}) == EventFilter(limit=50)


def test_every_filter_is_read() -> None:
    query = parse_filter(
        {
            "source": "stripe",
            "type": "order.*",
            "verdict": "valid",
            "status": "dead",
            "response_status": "5XX",
            "destination": "billing",
            "since": "1h",
            "until": "2023-11-14T22:13:20Z",
            "limit": "10",
            "cursor": "01HF7YAT000000000000000000",
        },
        now=NOW,
    )
    assert query == EventFilter(
        source="stripe",
        event_type="order.*",
        verdict="valid",
        status="dead",
        since_us=int((NOW - 3600) * 1_000_000),
        until_us=1_700_000_000_000_000,
        limit=10,
        cursor="01HF7YAT000000000000000000",
        response_status="5xx",
        destination="billing",
    )


def test_names_cover_every_field_the_parser_reads() -> None:
    values = {name: "x" for name in FILTER_NAMES}
    with pytest.raises(BadFilter):  # "x" is not valid everywhere, which proves each is read
        parse_filter(values)
    assert set(FILTER_NAMES) == {
        "source", "type", "verdict", "status", "response_status", "destination",
        "since", "until", "limit", "cursor",
    }  # fmt: skip


def test_empty_and_blank_values_mean_no_filter() -> None:
    assert parse_filter({"source": "", "type": "  ", "since": None, "cursor": ""}) == EventFilter()


def test_unrelated_keys_are_ignored() -> None:
    assert parse_filter({"format": "html", "source": "a"}) == EventFilter(source="a")


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"verdict": "ok"}, "verdict"),
        ({"status": "gone"}, "status"),
        ({"response_status": "6xx"}, "response_status"),
        ({"response_status": "99"}, "response_status"),
        ({"response_status": "600"}, "response_status"),
        ({"response_status": "5x"}, "response_status"),
        ({"response_status": "\u0665\u0660\u0660"}, "response_status"),  # non-ASCII digits
        ({"since": "yesterday"}, "since"),
        ({"until": "1y"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": "1h", "until": "2h"}, "until"),  # until before since
    ],
)
def test_bad_values_name_their_filter(values: dict[str, str], name: str) -> None:
    with pytest.raises(BadFilter) as caught:
        parse_filter(values, now=NOW)
    assert caught.value.name == name
    assert str(caught.value).startswith(f"{name}: ")


def test_status_codes_and_classes() -> None:
    assert parse_filter({"response_status": "404"}).response_status == "404"
    assert parse_filter({"response_status": " 2xx "}).response_status == "2xx"


def test_limit_bounds_are_configurable() -> None:
    assert parse_filter({"limit": "5000"}, max_limit=10_000).limit == 5000
    assert parse_filter({}, default_limit=7).limit == 7
    with pytest.raises(BadFilter):
        parse_filter({"limit": "11"}, max_limit=10)

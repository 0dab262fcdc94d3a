"""The shared filter parser: what the API's query string and the CLI's flags become."""

from __future__ import annotations

import pytest

from hookyard.exceptions import UsageError
from hookyard.filtering import (
    FILTER_NAMES,
    SELECTION_NAMES,
    BadFilter,
    DeadLetterFilter,
    cli_flag,
    filter_from_params,
    parse_dead_letter_filter,
    parse_filter,
)
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


def test_one_error_type_spelt_the_way_each_caller_names_fields() -> None:
    with pytest.raises(BadFilter) as caught:
        parse_filter({"response_status": "6xx"})
    error = caught.value
    assert isinstance(error, UsageError)  # the CLI exits 2 with it, replays answer 400
    assert str(error).startswith("response_status: expected a status class")
    assert str(error.spelt(cli_flag)).startswith("--response-status: expected a status class")
    assert str(error.spelt(lambda key: f"filter.{key}")).startswith("filter.response_status: ")
    assert error.spelt(cli_flag).name == "response_status"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"sorce": "a"},
            "unknown filter 'sorce' (filters: source, type, verdict, status, "
            "response_status, destination, since, until, limit)",
        ),
        ({"cursor": "01X"}, "unknown filter 'cursor'"),
        ({"source": ""}, "--source: must not be empty"),
        ({"source": ["a"]}, "--source: expected text, got ['a']"),
        ({"limit": True}, "--limit: expected text, got True"),
        ({"limit": "0"}, "--limit: expected a whole number of at least 1"),
        ({"response_status": "6xx"}, "--response-status: expected a status class"),
    ],
)
def test_a_selection_rejects_what_a_listing_would_ignore(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(BadFilter) as caught:
        filter_from_params(params)
    assert str(caught.value).startswith(message)


def test_a_selection_takes_an_uncapped_limit_and_the_list_filters() -> None:
    query, limit = filter_from_params({"source": "shop", "type": "order.*", "limit": 5000})
    assert (query.source, query.event_type, limit) == ("shop", "order.*", 5000)
    assert filter_from_params({"status": "dead", "since": None})[1] is None
    assert set(SELECTION_NAMES) == set(FILTER_NAMES) - {"cursor"}


def test_dead_letter_filters_read_like_the_event_filters() -> None:
    assert parse_dead_letter_filter({}) == DeadLetterFilter(limit=50)
    chosen = parse_dead_letter_filter(
        {"destination": " billing ", "since": "1h", "cursor": "01X", "limit": "7"}, now=NOW
    )
    assert chosen == DeadLetterFilter(
        destination="billing", since_us=int((NOW - 3600) * 1e6), cursor="01X", limit=7
    )
    assert chosen.chooses and not parse_dead_letter_filter({"since": " "}).chooses
    for values, name in (({"until": "whenever"}, "until"), ({"limit": "1001"}, "limit")):
        with pytest.raises(BadFilter) as caught:
            parse_dead_letter_filter(values)
        assert caught.value.name == name

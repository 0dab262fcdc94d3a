from __future__ import annotations

import json

import pytest

from hookyard.config import default_settings, settings_from_mapping, with_overrides
from hookyard.exceptions import ConfigError
from hookyard.http_limits import HttpLimits, refusal, refusals_for


def test_defaults() -> None:
    limits = default_settings().server.limits
    assert limits == HttpLimits(
        max_header_bytes=65536,
        max_headers=100,
        header_timeout=10.0,
        body_timeout=30.0,
        max_connections=1000,
    )


def test_limits_are_read_from_the_server_table_and_survive_flag_overrides() -> None:
    settings = settings_from_mapping(
        {
            "server": {
                "max_header_bytes": 16384,
                "max_headers": 40,
                "header_timeout": "500ms",
                "body_timeout": 20,
                "max_connections": 50,
            }
        }
    )
    expected = HttpLimits(16384, 40, 0.5, 20.0, 50)
    assert settings.server.limits == expected
    overridden = with_overrides(settings, host="0.0.0.0", port=None, database=None)
    assert overridden.server.limits == expected


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_header_bytes": 1023}, "server.max_header_bytes: must be at least 1024, got 1023"),
        ({"max_headers": True}, "server.max_headers: must be an integer, got True"),
        ({"max_connections": 0}, "server.max_connections: must be at least 1, got 0"),
        ({"header_timeout": "soon"}, "server.header_timeout: expected a duration"),
        ({"body_timeout": "0s"}, "server.body_timeout: must be more than 0, got 0"),
        ({"body_timeout": -1}, "server.body_timeout: duration must not be negative"),
    ],
)
def test_bad_limits_are_one_line_naming_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"server": table}, "hy.toml")
    assert str(info.value).startswith(f"hy.toml: {message}")
    assert "\n" not in str(info.value)


def test_the_raw_head_allowance_covers_names_values_framing_and_a_request_line() -> None:
    limits = HttpLimits(max_header_bytes=4096, max_headers=10)
    assert limits.head_allowance == 4096 + 10 * 4 + 2 + 8192


def test_a_refusal_is_a_whole_closing_json_response() -> None:
    answer = refusal("r", 503, "busy", "later", ((b"retry-after", b"1"),))
    head, _, body = answer.response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 503 Service Unavailable"
    assert set(lines[1:]) == {
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        b"retry-after: 1",
    }
    assert json.loads(body) == {"error": "busy", "detail": "later"}
    assert (answer.reason, answer.status) == ("r", 503)


def test_each_refusal_names_the_setting_it_comes_from() -> None:
    refusals = refusals_for(HttpLimits(header_timeout=1.5))
    assert refusals.header_timeout.response.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"1.5 s (header_timeout)" in refusals.header_timeout.response
    assert refusals.header_bytes.response.startswith(b"HTTP/1.1 431 ")
    assert b"(max_header_bytes)" in refusals.header_bytes.response
    assert b"(max_headers)" in refusals.too_many_headers.response
    assert b"(max_connections)" in refusals.too_many_connections.response

"""``[destinations.NAME]`` parsing: defaults, every key, and one clear line per mistake."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookyard.delivery.destinations import Destination, parse_destination, parse_destinations
from hookyard.delivery.retry import (
    DEFAULT_RETRY_ON,
    STANDARD_WEBHOOKS_SCHEDULE,
    Backoff,
    BreakerConfig,
    RetryPolicy,
)
from hookyard.exceptions import ConfigError
from hookyard.signatures.standard_webhooks import StandardWebhooks

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def parse(table: dict[str, Any], **kwargs: Any) -> Destination:
    return parse_destination("orders", table, **kwargs)


def error_of(table: object, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_destination("orders", table, **kwargs)
    message = str(info.value)
    assert "\n" not in message  # one line, always
    return message


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "hookyard_test_handlers_cfg"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def on_event(event):
                return None

            NOT_CALLABLE = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


# -- defaults --------------------------------------------------------------------------------


def test_minimal_url_destination_has_documented_defaults() -> None:
    d = parse({"url": "https://example.com/hooks"})
    assert d.name == "orders"
    assert d.kind == "http"
    assert d.url == "https://example.com/hooks"
    assert d.handler is None and d.handler_func is None
    assert d.sources is None and d.events is None
    assert d.signing.mode == "none"
    assert d.timeout_seconds == 10
    assert d.retry == RetryPolicy()
    assert d.retry.schedule == STANDARD_WEBHOOKS_SCHEDULE
    assert d.max_in_flight == 10
    assert d.rate_limit is None
    assert d.dry_run is False
    assert d.headers == ()
    assert d.forward_headers == ()
    assert d.circuit_breaker == BreakerConfig()


def test_every_key() -> None:
    d = parse(
        {
            "url": "http://127.0.0.1:9000/in?x=1",
            "sources": ["stripe", "github"],
            "events": ["invoice.*", "charge.succeeded"],
            "signing": {"scheme": "standard-webhooks", "secret": SECRET},
            "timeout_seconds": "2.5s",
            "retry": {"backoff": {"initial": "1s", "multiplier": 3, "max": "10m"}},
            "max_in_flight": 4,
            "rate_limit": 12.5,
            "dry_run": True,
            "headers": {"Authorization": "Bearer t0ken", "X-Team": "payments"},
            "forward_headers": ["X-GitHub-Event", "X-Shopify-*"],
            "circuit_breaker": {"failure_threshold": 3, "open_seconds": "1m"},
        },
        sources={"stripe", "github", "other"},
    )
    assert d.sources == ("stripe", "github")
    assert d.events == ("invoice.*", "charge.succeeded")
    assert d.signing.mode == "scheme"
    assert d.signing.scheme_name == "standard-webhooks"
    assert isinstance(d.signing.scheme, StandardWebhooks)
    assert d.signing.secret == SECRET
    assert d.timeout_seconds == 2.5
    assert d.retry.backoff == Backoff(initial=1, multiplier=3, max=600)
    assert d.retry.max_attempts == 10
    assert d.max_in_flight == 4
    assert d.rate_limit == 12.5
    assert d.dry_run is True
    assert d.headers == (("Authorization", "Bearer t0ken"), ("X-Team", "payments"))
    assert d.forward_headers == ("X-GitHub-Event", "X-Shopify-*")
    assert d.circuit_breaker == BreakerConfig(3, 60, 600)


def test_parse_destinations_keeps_file_order() -> None:
    parsed = parse_destinations(
        {
            "zeta": {"url": "https://z.example/"},
            "alpha": {"url": "https://a.example/"},
        }
    )
    assert list(parsed) == ["zeta", "alpha"]
    assert parsed["alpha"].name == "alpha"


def test_a_single_string_is_a_one_item_list_and_repeats_collapse() -> None:
    d = parse({"url": "https://x.example/", "sources": "stripe", "events": ["a", "a", "b"]})
    assert d.sources == ("stripe",)
    assert d.events == ("a", "b")


def test_repr_never_shows_secrets() -> None:
    d = parse(
        {
            "url": "https://x.example/",
            "signing": {"scheme": "standard-webhooks", "secret": SECRET},
            "headers": {"Authorization": "Bearer sekrit"},
        }
    )
    text = repr(d)
    assert SECRET not in text
    assert "sekrit" not in text


# -- url / handler ---------------------------------------------------------------------------


def test_handler_destination(handler_module: str) -> None:
    d = parse({"handler": f"{handler_module}:on_event"})
    assert d.kind == "handler"
    assert d.url is None
    assert d.handler == f"{handler_module}:on_event"
    assert d.handler_func is not None
    assert d.handler_func.__name__ == "on_event"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, "destinations.orders: give exactly one of url or handler"),
        (
            {"url": "https://x.example/", "handler": "a:b"},
            "destinations.orders: give exactly one of url or handler",
        ),
        ({"url": 5}, "destinations.orders.url: must be a string"),
        (
            {"url": "ftp://x.example/"},
            "destinations.orders.url: must start with http:// or https://",
        ),
        ({"url": "x.example/hooks"}, "destinations.orders.url: must start with http://"),
        ({"url": "https:///path"}, "destinations.orders.url: has no host"),
        ({"url": "https://x.example/a b"}, "destinations.orders.url: must not contain spaces"),
        ({"url": "https://x.example:99999/"}, "destinations.orders.url: not a valid URL"),
        ({"url": "https://x.example/#top"}, "destinations.orders.url: must not have a #fragment"),
        ({"handler": 3}, "destinations.orders.handler: must be a string"),
        ({"handler": "nocolon"}, "destinations.orders.handler: expected 'package.module:function'"),
        (
            {"handler": "hookyard_no_such_module_xyz:f"},
            "destinations.orders.handler: cannot import module 'hookyard_no_such_module_xyz'",
        ),
        ({"handler": "json:nope"}, "destinations.orders.handler: 'json' has no attribute 'nope'"),
        ({"url": "https://x.example/", "colour": "red"}, "destinations.orders.colour: unknown key"),
        ("https://x.example/", "destinations.orders: must be a table"),
    ],
)
def test_url_and_handler_errors(table: object, expected: str) -> None:
    assert error_of(table).startswith(expected)


def test_handler_that_is_not_callable(handler_module: str) -> None:
    message = error_of({"handler": f"{handler_module}:NOT_CALLABLE"})
    assert message.startswith("destinations.orders.handler: ")
    assert "is not callable" in message


def test_handler_destinations_take_no_signing_or_headers(handler_module: str) -> None:
    spec = f"{handler_module}:on_event"
    assert error_of({"handler": spec, "signing": "passthrough"}).startswith(
        "destinations.orders.signing: only HTTP destinations are signed"
    )
    assert error_of({"handler": spec, "headers": {"X-A": "b"}}).startswith(
        "destinations.orders.headers: only HTTP destinations send headers"
    )


# -- routing keys ----------------------------------------------------------------------------


def test_unknown_source_is_an_error_when_sources_are_known() -> None:
    message = error_of({"url": "https://x.example/", "sources": ["strpie"]}, sources={"stripe"})
    assert message == "destinations.orders.sources: unknown source 'strpie' (sources: stripe)"


def test_sources_are_not_checked_without_a_list() -> None:
    assert parse({"url": "https://x.example/", "sources": ["anything"]}).sources == ("anything",)


@pytest.mark.parametrize("key", ["sources", "events"])
@pytest.mark.parametrize("value", [[], [""], [1], {"a": 1}, 5])
def test_bad_lists(key: str, value: object) -> None:
    assert error_of({"url": "https://x.example/", key: value}).startswith(
        f"destinations.orders.{key}: must"
    )


# -- signing ---------------------------------------------------------------------------------


def test_signing_passthrough_forms() -> None:
    assert parse({"url": "https://x.example/", "signing": "passthrough"}).signing.mode == (
        "passthrough"
    )
    d = parse(
        {
            "url": "https://x.example/",
            "signing": {"scheme": "passthrough", "headers": ["X-Custom-Sig"]},
        }
    )
    assert d.signing.mode == "passthrough"
    assert d.signing.headers == ("X-Custom-Sig",)
    assert parse({"url": "https://x.example/", "signing": "none"}).signing.mode == "none"


def test_signing_secret_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOOKYARD_TEST_DEST_SECRET", SECRET)
    d = parse(
        {
            "url": "https://x.example/",
            "signing": {"scheme": "standard-webhooks", "secret": "env:HOOKYARD_TEST_DEST_SECRET"},
        }
    )
    assert d.signing.secret == SECRET
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    d = parse(
        {
            "url": "https://x.example/",
            "signing": {"scheme": "standard-webhooks", "secret": f"file:{path}"},
        }
    )
    assert d.signing.secret == SECRET


def test_signing_with_another_registered_scheme_and_options() -> None:
    d = parse({"url": "https://x.example/", "signing": {"scheme": "none", "secret": "x"}})
    assert d.signing.mode == "none"


@pytest.mark.parametrize(
    ("signing", "expected"),
    [
        ("hmac-ish", 'destinations.orders.signing: must be "passthrough", "none" or a table'),
        (5, "destinations.orders.signing: must be a string or a table"),
        ({"secret": SECRET}, "destinations.orders.signing.scheme: required"),
        ({"scheme": "standard-webhooks"}, "destinations.orders.signing.secret: required"),
        (
            {"scheme": "standard-webhooks", "secret": 5},
            "destinations.orders.signing.secret: must be a string",
        ),
        (
            {"scheme": "standard-webhooks", "secret": "env:HOOKYARD_TEST_SURELY_UNSET"},
            "destinations.orders.signing.secret: environment variable HOOKYARD_TEST_SURELY_UNSET",
        ),
        (
            {"scheme": "standard-webhooks", "secret": "not base64!"},
            "destinations.orders.signing: standard-webhooks secret must be base64",
        ),
        (
            {"scheme": "carrier-pigeon", "secret": "x"},
            "destinations.orders.signing: unknown scheme 'carrier-pigeon'",
        ),
        (
            {"scheme": "standard-webhooks", "secret": SECRET, "colour": "red"},
            "destinations.orders.signing: scheme 'standard-webhooks' has no option 'colour'",
        ),
        (
            {"scheme": "passthrough", "secret": SECRET},
            "destinations.orders.signing.secret: not used with passthrough",
        ),
        (
            {"scheme": "passthrough", "headers": ["bad header"]},
            "destinations.orders.signing.headers: 'bad header' is not a header name",
        ),
    ],
)
def test_signing_errors(signing: object, expected: str) -> None:
    assert error_of({"url": "https://x.example/", "signing": signing}).startswith(expected)


# -- scalar keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout_seconds", 0, "must be more than 0"),
        ("timeout_seconds", "soon", "expected a duration"),
        ("timeout_seconds", True, "expected a duration"),
        ("max_in_flight", 0, "must be an integer of at least 1"),
        ("max_in_flight", 2.5, "must be an integer of at least 1"),
        ("max_in_flight", True, "must be an integer of at least 1"),
        ("rate_limit", 0, "must be a number of requests per second above 0"),
        ("rate_limit", "10/s", "must be a number of requests per second above 0"),
        ("dry_run", "yes", "must be true or false"),
        ("headers", ["X-A: b"], "must be a table"),
        ("forward_headers", ["X Bad"], "'X Bad' is not a header name or pattern"),
        ("circuit_breaker", "off", "must be a table or false"),
    ],
)
def test_scalar_errors(key: str, value: object, expected: str) -> None:
    message = error_of({"url": "https://x.example/", key: value})
    assert message.startswith(f"destinations.orders.{key}: ")
    assert expected in message


def test_durations_and_numbers() -> None:
    d = parse({"url": "https://x.example/", "timeout_seconds": 3, "rate_limit": 2})
    assert d.timeout_seconds == 3.0
    assert d.rate_limit == 2.0


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "content-length",
        "Host",
        "Idempotency-Key",
        "X-Hookyard-Id",
        "X-HOOKYARD-ATTEMPT",
    ],
)
def test_reserved_headers_cannot_be_set(name: str) -> None:
    message = error_of({"url": "https://x.example/", "headers": {name: "x"}})
    assert message == f"destinations.orders.headers.{name}: set by hookyard on every delivery; " + (
        "cannot be changed"
    )


def test_header_values_may_reference_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKYARD_TEST_TOKEN", "Bearer abc")
    d = parse(
        {"url": "https://x.example/", "headers": {"Authorization": "env:HOOKYARD_TEST_TOKEN"}}
    )
    assert d.headers == (("Authorization", "Bearer abc"),)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Bad Name": "x"}, "destinations.orders.headers: 'Bad Name' is not a valid header name"),
        ({"X-A": 1}, "destinations.orders.headers.X-A: must be a string"),
        ({"X-A": "a\r\nX-Injected: 1"}, "destinations.orders.headers.X-A: value has a line break"),
        ({"X-A": "snowman ☃"}, "destinations.orders.headers.X-A: value has a line break, NUL or"),
        (
            {"X-A": "env:HOOKYARD_TEST_SURELY_UNSET"},
            "destinations.orders.headers.X-A: environment variable",
        ),
    ],
)
def test_header_errors(headers: dict[str, object], expected: str) -> None:
    assert error_of({"url": "https://x.example/", "headers": headers}).startswith(expected)


# -- retry and circuit breaker tables --------------------------------------------------------


def test_retry_schedule_table() -> None:
    d = parse(
        {
            "url": "https://x.example/",
            "retry": {
                "schedule": ["10s", "1m", 600],
                "jitter": 0.1,
                "retry_on": [429, "5xx"],
                "disable_on": [],
                "retry_after_max": "2h",
            },
        }
    )
    assert d.retry.schedule == (10, 60, 600)
    assert d.retry.max_attempts == 4  # the first attempt plus one per schedule entry
    assert d.retry.jitter == 0.1
    assert d.retry.retry_on == frozenset({429, *range(500, 600)})
    assert d.retry.disable_on == frozenset()
    assert d.retry.retry_after_max == 7200


def test_retry_jitter_forms() -> None:
    full = parse({"url": "https://x.example/", "retry": {"jitter": "full"}}).retry
    assert full.jitter_mode == "full"
    off = parse({"url": "https://x.example/", "retry": {"jitter": False}}).retry
    assert off.jitter == 0.0 and off.jitter_mode == "proportional"


def test_retry_backoff_defaults() -> None:
    policy = parse({"url": "https://x.example/", "retry": {"backoff": {"initial": 2}}}).retry
    assert policy.backoff == Backoff(initial=2, multiplier=2, max=3600)
    assert policy.max_attempts == 10
    assert policy.retry_on == DEFAULT_RETRY_ON


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ("fast", "destinations.orders.retry: must be a table"),
        ({"tries": 3}, "destinations.orders.retry.tries: unknown key"),
        (
            {"schedule": ["1s"], "backoff": {"initial": 1}},
            "destinations.orders.retry: give either schedule or backoff, not both",
        ),
        ({"schedule": []}, "destinations.orders.retry.schedule: must be a non-empty list"),
        (
            {"schedule": ["1s", "soon"]},
            "destinations.orders.retry.schedule[1]: expected a duration",
        ),
        ({"backoff": 5}, "destinations.orders.retry.backoff: must be a table"),
        ({"backoff": {}}, "destinations.orders.retry.backoff.initial: required"),
        (
            {"backoff": {"initial": 1, "factor": 2}},
            "destinations.orders.retry.backoff.factor: unknown",
        ),
        (
            {"backoff": {"initial": 1, "multiplier": 0.5}},
            "destinations.orders.retry.backoff.multiplier: must be a number of at least 1",
        ),
        (
            {"backoff": {"initial": "1h", "max": "1m"}},
            "destinations.orders.retry.backoff.max: must be at least initial",
        ),
        ({"max_attempts": 0}, "destinations.orders.retry.max_attempts: must be an integer"),
        ({"max_attempts": "3"}, "destinations.orders.retry.max_attempts: must be an integer"),
        ({"jitter": 1.5}, "destinations.orders.retry.jitter: must be a fraction in [0, 1)"),
        ({"jitter": "lots"}, "destinations.orders.retry.jitter: must be a fraction"),
        ({"retry_on": 500}, "destinations.orders.retry.retry_on: must be a list of status codes"),
        ({"retry_on": [600]}, "destinations.orders.retry.retry_on: 600 is not a status code"),
        ({"retry_on": ["6xx"]}, "destinations.orders.retry.retry_on: '6xx' is not a status code"),
        ({"retry_on": [True]}, "destinations.orders.retry.retry_on: True is not a status code"),
        ({"disable_on": ["gone"]}, "destinations.orders.retry.disable_on: 'gone' is not"),
        ({"retry_after_max": -1}, "destinations.orders.retry.retry_after_max: duration must not"),
    ],
)
def test_retry_errors(retry: object, expected: str) -> None:
    assert error_of({"url": "https://x.example/", "retry": retry}).startswith(expected)


def test_circuit_breaker_forms() -> None:
    assert parse({"url": "https://x.example/", "circuit_breaker": False}).circuit_breaker is None
    assert parse({"url": "https://x.example/", "circuit_breaker": True}).circuit_breaker == (
        BreakerConfig()
    )
    config = parse(
        {"url": "https://x.example/", "circuit_breaker": {"open_seconds": "20m"}}
    ).circuit_breaker
    assert config == BreakerConfig(10, 1200, 1200)  # the bound grows to the open time


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"threshold": 3}, "destinations.orders.circuit_breaker.threshold: unknown key"),
        ({"failure_threshold": 0}, "destinations.orders.circuit_breaker.failure_threshold: must"),
        ({"open_seconds": "x"}, "destinations.orders.circuit_breaker.open_seconds: expected"),
        (
            {"open_seconds": 60, "max_open_seconds": 30},
            "destinations.orders.circuit_breaker.max_open_seconds: must be at least open_seconds",
        ),
    ],
)
def test_circuit_breaker_errors(table: dict[str, object], expected: str) -> None:
    assert error_of({"url": "https://x.example/", "circuit_breaker": table}).startswith(expected)

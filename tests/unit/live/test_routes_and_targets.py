"""``listen``'s --map routes and its local destinations from flags (pure, no I/O but a file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookyard.exceptions import UsageError
from hookyard.live.backoff import Backoff
from hookyard.live.routes import load_routes, parse_routes
from hookyard.live.targets import (
    headers_from_flag,
    local_destinations,
    signing_from_flag,
    timeout_from_flag,
)

BASE = "http://127.0.0.1:3000/hooks"


def test_first_matching_glob_wins_and_paths_join_the_origin() -> None:
    routes = parse_routes(
        BASE,
        {"invoice.*": "/billing?x=1", "invoice.paid": "/never", "*.created": "http://h:4/c"},
    )
    assert routes.target("invoice.paid") == "http://127.0.0.1:3000/billing?x=1"
    assert routes.target("customer.created") == "http://h:4/c"
    assert routes.target("other") == BASE
    assert routes.target(None) == BASE  # an untyped event matches no glob
    assert routes.urls[0] == BASE and len(routes.urls) == 4


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({}, "no routes"),
        ({"a.*": 3}, "must map to a path or URL"),
        ({"a.*": "ftp://x/y"}, "neither a path"),
        ({"a\x01": "/x"}, "not an event type glob"),
    ],
)
def test_bad_tables(table: dict[str, object], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_routes(BASE, table)


def test_map_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read it"):
        load_routes(BASE, str(tmp_path / "none.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="cannot read it: not UTF-8"):
        load_routes(BASE, str(bad))
    assert load_routes(BASE, None).routes == ()


def test_signing_headers_and_timeout_flags() -> None:
    generated = signing_from_flag(None)
    assert generated.generated_secret is not None
    assert generated.generated_secret.startswith("whsec_")
    assert signing_from_flag("stripe:whsec_abc").table == {
        "scheme": "stripe",
        "secret": "whsec_abc",
    }
    assert signing_from_flag("none").table == "none"
    with pytest.raises(UsageError, match="--sign-with: expected SCHEME:SECRET"):
        signing_from_flag("stripe")
    assert headers_from_flag(["X-A: 1", "X-B:two words"]) == {"X-A": "1", "X-B": "two words"}
    with pytest.raises(UsageError, match="--headers"):
        headers_from_flag(["nocolon"])
    assert timeout_from_flag("2s") == 2.0
    with pytest.raises(UsageError, match="--timeout"):
        timeout_from_flag("soon")


def test_destinations_are_checked_by_the_delivery_parser_and_named_by_flag() -> None:
    signing = signing_from_flag("standard-webhooks:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    [dest] = local_destinations("local:dev", [BASE], signing, {"X-Dev": "1"}, 3.0).values()
    assert dest.signing.mode == "scheme" and dest.timeout_seconds == 3.0
    assert dest.headers == (("X-Dev", "1"),)
    with pytest.raises(UsageError, match=r"^--sign-with: .*unknown"):
        local_destinations("local:dev", [BASE], signing_from_flag("nope:x"), {}, 1.0)
    with pytest.raises(UsageError, match=r"^--headers: .*set by hookyard"):
        local_destinations("local:dev", [BASE], signing, {"Idempotency-Key": "x"}, 1.0)
    with pytest.raises(UsageError, match=r"^--forward-to: must start with http"):
        local_destinations("local:dev", ["ftp://x/"], signing, {}, 1.0)


def test_backoff_doubles_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5

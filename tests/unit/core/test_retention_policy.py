"""Retention settings and the purge passes they make (pure: no store, no clock)."""

from __future__ import annotations

import pytest

from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError
from hookyard.models import PurgeSelector
from hookyard.retention.policy import RetentionPolicy, parse_retention

DAY = 86_400.0
NOW = 10_000 * int(DAY) * 1_000_000


def test_a_retention_is_a_duration_or_keep() -> None:
    assert parse_retention("30d") == 30 * DAY
    assert parse_retention(" Keep ") == "keep"
    for bad in ("0", 0, "forever", "-1d", True, "99999999999w"):
        with pytest.raises(ValueError):
            parse_retention(bad)


def test_nothing_configured_purges_nothing() -> None:
    policy = settings_from_mapping({}).retention_policy
    assert not policy.active
    assert policy.selectors(NOW) == []
    assert policy.replay_cutoff(NOW) is None


def test_sources_with_their_own_retention_get_a_pass_each_and_the_rest_one() -> None:
    settings = settings_from_mapping(
        {
            "server": {"retention": "30d", "dlq_retention": "90d", "purge_interval": "5m"},
            "sources": {
                "short": {"retention": "1d"},
                "audit": {"retention": "keep"},
                "plain": {},
            },
        }
    )
    assert settings.server.purge_interval == 300
    policy = settings.retention_policy
    assert policy.selectors(NOW) == [
        PurgeSelector(cutoff_us=NOW - int(DAY * 1e6), sources=("short",)),
        PurgeSelector(cutoff_us=NOW - int(30 * DAY * 1e6), excluded=("audit", "short")),
        PurgeSelector(cutoff_us=NOW - int(90 * DAY * 1e6), dead=True),
    ]
    assert policy.replay_cutoff(NOW) == NOW - int(DAY * 1e6)
    # A 1-day retention beside the default 72-hour dedup window leaves keys to sweep.
    assert policy.outlives_dedup_keys


def test_dead_letters_are_kept_unless_dlq_retention_says_otherwise() -> None:
    policy = settings_from_mapping({"server": {"retention": "30d"}}).retention_policy
    assert [s.dead for s in policy.selectors(NOW)] == [False]
    assert not policy.outlives_dedup_keys


def test_older_than_overrides_every_source() -> None:
    policy = RetentionPolicy(default=None, sources={"audit": None}, dead=None)
    forced = policy.overridden(7 * DAY, None)
    assert forced.selectors(NOW) == [PurgeSelector(cutoff_us=NOW - int(7 * DAY * 1e6))]
    assert policy.overridden(None, None) is policy


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"server": {"retention": "soon"}}, "server.retention: expected a duration"),
        ({"server": {"dlq_retention": 0}}, "server.dlq_retention: must be more than 0"),
        ({"server": {"purge_interval": "0s"}}, "server.purge_interval: must be more than 0"),
        ({"sources": {"a": {"retention": []}}}, "sources.a.retention: expected a duration"),
    ],
)
def test_bad_retention_settings_name_their_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(data)

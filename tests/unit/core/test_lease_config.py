"""``[server] lease_seconds``: how long a worker's claim lasts unless renewed."""

from __future__ import annotations

import pytest

from hookyard.config import settings_from_mapping
from hookyard.delivery.worker import DEFAULT_LEASE_SECONDS, DeliveryService
from hookyard.exceptions import ConfigError
from hookyard.store.memory import MemoryStore


def lease(value: object) -> float | None:
    return settings_from_mapping(
        {"server": {"lease_seconds": value}}, "hy.toml"
    ).server.lease_seconds


def test_a_lease_is_a_duration_of_at_least_a_second() -> None:
    assert lease(15) == 15.0 and lease("2m") == 120.0 and lease(1) == 1.0
    assert settings_from_mapping({}).server.lease_seconds is None
    for bad, message in [
        (0.5, "must be at least 1 second"),
        (0, "must be more than 0"),
        ("soon", ""),
    ]:
        with pytest.raises(ConfigError, match="hy.toml: server.lease_seconds: " + message):
            lease(bad)


def test_the_worker_default_outlasts_three_renewals() -> None:
    store = MemoryStore("memory://")
    assert DeliveryService(store, {}).lease_seconds == DEFAULT_LEASE_SECONDS
    assert DeliveryService(store, {}, state_interval=5).lease_seconds == 15
    assert DeliveryService(store, {}, lease_seconds=3).lease_seconds == 3

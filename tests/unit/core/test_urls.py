"""Passwords never print: database, destination and alert URLs go through ``mask_url``."""

from __future__ import annotations

import pytest

from hookyard.config import default_settings, settings_from_mapping, with_overrides
from hookyard.exceptions import ConfigError
from hookyard.store.registry import check_configured_url
from hookyard.urls import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:hunter2@db:5432/hy", "postgresql://app:***@db:5432/hy"),
        ("postgresql://app@db/hy", "postgresql://app@db/hy"),
        ("sqlite:///var/lib/hookyard.db", "sqlite:///var/lib/hookyard.db"),
        ("postgresql:///hy?user=a&password=hunter2", "postgresql:///hy?user=a&password=***"),
        ("https://u:hunter2@hooks.example/in?x=1", "https://u:***@hooks.example/in?x=1"),
        ("postgresql://u:hun/ter2@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:hun@ter2@h/db", "postgresql://u:***@h/db"),
        ("mysql://u:hunter2@h:99999/x", "mysql://u:***@h:99999/x"),
        ("https://hooks.example/a@b", "https://hooks.example/a@b"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_config_errors_mask_the_database_password() -> None:
    with pytest.raises(ValueError) as direct:
        check_configured_url("mysql://root:hunter2@db/x")
    with pytest.raises(ConfigError) as flag:
        with_overrides(default_settings(), host=None, port=None, database="mysql://r:hunter2@h/x")
    with pytest.raises(ConfigError) as key:
        settings_from_mapping({"server": {"database": "mysql://r:hunter2@h/x"}})
    for caught in (direct, flag, key):
        assert "hunter2" not in str(caught.value) and "***" in str(caught.value)


def test_destination_url_errors_mask_the_password() -> None:
    for url in ("ftp://u:hunter2@files.example/", "https://u:hunter2@/path"):
        with pytest.raises(ConfigError) as caught:
            settings_from_mapping({"destinations": {"app": {"url": url}}})
        assert "hunter2" not in str(caught.value) and "u:***@" in str(caught.value)

"""Config for operations: ``[server] metrics``/``sample_interval`` and ``[canary]``."""

from __future__ import annotations

from typing import Any

import pytest

from hookyard.canary import NAME
from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError

BASE: dict[str, Any] = {
    "sources": {"shop": {"scheme": "none"}, "crm": {"scheme": "none"}},
    "destinations": {
        "everything": {"url": "https://hooks.example/a"},
        "shop-only": {"url": "https://hooks.example/b", "sources": ["shop"]},
    },
}


def test_server_operations_keys_have_defaults_and_are_read() -> None:
    default = settings_from_mapping(BASE)
    assert default.server.metrics is True and default.server.sample_interval == 5
    tuned = settings_from_mapping({**BASE, "server": {"metrics": False, "sample_interval": "2s"}})
    assert tuned.server.metrics is False and tuned.server.sample_interval == 2


def test_a_canary_adds_its_source_and_sink_and_narrows_catch_all_destinations() -> None:
    settings = settings_from_mapping({**BASE, "canary": {"interval": "30s"}})
    assert settings.canary is not None and settings.canary.interval == 30
    assert settings.sources[NAME].scheme_name == "standard-webhooks"
    assert settings.sources[NAME].secrets == (settings.canary.secret,)
    sink = settings.destinations[NAME]
    assert sink.kind == "handler" and sink.sources == (NAME,)
    # A destination that took every source now takes every configured one, not the canary.
    assert settings.destinations["everything"].sources == ("shop", "crm")
    assert settings.destinations["shop-only"].sources == ("shop",)
    assert "secret" not in repr(settings.canary)
    assert settings_from_mapping(BASE).destinations["everything"].sources is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"server": {"metrics": "yes"}}, "server.metrics: must be true or false"),
        ({"server": {"sample_interval": 0}}, "server.sample_interval: must be more than 0"),
        ({"canary": {"interval": "often"}}, "canary.interval: expected a duration"),
        ({"canary": {"interval": "10ms"}}, "canary.interval: must be at least 0.1 s"),
        ({"canary": {"url": "ftp://x"}}, "canary.url: must be an http:// or https:// URL"),
        ({"canary": {"every": "1m"}}, "canary.every: unknown key"),
        (
            {
                "canary": {"interval": "1m"},
                "sources": {**BASE["sources"], NAME: {"scheme": "none"}},
            },
            f"sources.{NAME}: is reserved while [canary] is set",
        ),
    ],
)
def test_bad_operations_config_is_one_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**BASE, **data})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)

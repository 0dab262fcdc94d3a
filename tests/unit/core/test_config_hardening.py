"""Config rules against mistakes that cost later: source names, alert URLs."""

from __future__ import annotations

import pytest

from hookyard.config import settings_from_mapping
from hookyard.exceptions import ConfigError


@pytest.mark.parametrize("name", ["a b", "a/b", "ünï", "a\nb", "", "x?y", "a%2Fb"])
def test_a_source_name_outside_the_safe_alphabet_is_refused(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"sources": {name: {"scheme": "none"}}})
    assert f"sources.{name!r}: a source name may hold only" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_safe_source_names_load() -> None:
    names = ["demo", "Stripe-Live", "shop_2.eu", "a.b-c_d"]
    settings = settings_from_mapping({"sources": {n: {"scheme": "none"} for n in names}})
    assert list(settings.sources) == names


@pytest.mark.parametrize(
    "url", ["https://alerts.example/\r\nX-Injected: 1", "https://alerts.example/\n", "http://a b/"]
)
def test_an_alert_url_with_cr_lf_or_spaces_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.url: must not contain spaces or control"):
        settings_from_mapping({"alerts": {"url": url}})

"""Config rules against mistakes that cost later: source names, alert URLs, secrets in clear."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookyard.config import literal_secret_warning, load_settings, settings_from_mapping
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


LITERAL = """
[server]
admin_token = "tok_in_clear"

[sources.demo]
scheme = "none"
"""
REFERENCES = """
[server]
admin_token = "env:HY_CONFIG_TEST_TOKEN"

[sources.stripe]
scheme = "stripe"
secrets = ["env:HY_CONFIG_TEST_TOKEN"]

[destinations.app]
url = "https://app.example/hook"
signing = { scheme = "standard-webhooks", secret = "env:HY_CONFIG_TEST_SIGNING" }
"""
NESTED_LITERAL = """
[sources.demo]
scheme = "none"

[destinations.app]
url = "https://app.example/hook"
signing = { scheme = "standard-webhooks", secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }
"""


def write(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "hookyard.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_a_readable_config_with_a_literal_secret_warns_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, LITERAL, 0o644)
    warning = literal_secret_warning(load_settings(path))
    assert warning == (
        f"warning: {path} holds a secret in clear (server.admin_token) and is readable by "
        "others (mode 0644); chmod 600 it, or use env:NAME or file:PATH"
    )
    assert "tok_in_clear" not in warning
    nested = write(tmp_path, NESTED_LITERAL, 0o640)
    found = literal_secret_warning(load_settings(nested))
    assert found is not None and "(destinations.app.signing.secret)" in found


def test_no_warning_for_a_private_file_or_references_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert literal_secret_warning(load_settings(write(tmp_path, LITERAL, 0o600))) is None
    monkeypatch.setenv("HY_CONFIG_TEST_TOKEN", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    monkeypatch.setenv("HY_CONFIG_TEST_SIGNING", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert literal_secret_warning(load_settings(write(tmp_path, REFERENCES, 0o644))) is None

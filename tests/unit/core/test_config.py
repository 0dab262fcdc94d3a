from __future__ import annotations

from pathlib import Path

import pytest

from hookyard.config import default_settings, load_settings, settings_from_mapping, with_overrides
from hookyard.exceptions import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hookyard.toml"
    path.write_text(text)
    return path


def test_example_config_loads() -> None:
    settings = load_settings(Path(__file__).parents[3] / "examples" / "hookyard.toml")
    assert set(settings.sources) >= {"demo", "app"}
    assert settings.server.database.startswith("sqlite:///")


def test_secrets_resolve_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HY_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    (tmp_path / "secret.txt").write_text("whsec_dGVzdA==\n")
    path = write(
        tmp_path,
        f"""
[sources.a]
scheme = "standard-webhooks"
secrets = ["env:HY_SECRET", "file:{tmp_path / "secret.txt"}"]
""",
    )
    source = load_settings(path).sources["a"]
    assert source.secrets == ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dGVzdA==")
    assert "whsec" not in repr(source)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 'x'", "server.port: must be an integer, got 'x'"),
        ("[server]\nport = -1", "server.port: must be at least 0, got -1"),
        ("[server]\ndatabase = 'mysql://x'", "server.database: unsupported database"),
        ("[server]\nbogus = 1", "server.bogus: unknown key"),
        ("[server]\nallow_networks = '10.0.0.0/8'", "server.allow_networks: must be a list"),
        ("[server]\nallow_networks = [10]", "server.allow_networks: must be a list of CIDRs"),
        ("[server]\nallow_networks = ['10.0.0.0/40']", "'10.0.0.0/40' is not an IP network"),
        ("[nonsense]\n", "nonsense: unknown section"),
        (
            "[mirror]\nurl = 'https://staging.example/'",
            "mirror: unknown section (known: server, sources, destinations, alerts, mirrors, canary)",
        ),
        ("[alerts]\nurl = 'https://x.example/'\nbogus = 1", "alerts.bogus: unknown key"),
        (
            "[destinations.d]\nurl = 'https://x.example/'\nsigning = {scheme = 'none', hdr = 1}",
            "destinations.d.signing.hdr: not used with scheme 'none'",
        ),
        (
            "[destinations.d]\nurl = 'https://x.example/'\nretry = {tries = 3}",
            "destinations.d.retry.tries: unknown key",
        ),
        ("[sources.a]\nscheme = 'nope'", "sources.a: unknown scheme 'nope'"),
        (
            "[sources.a]\nscheme = 'standard-webhooks'",
            "sources.a.secrets: scheme 'standard-webhooks' needs at least one secret",
        ),
        (
            "[sources.a]\nscheme = 'standard-webhooks'\nsecrets = ['not base64!']",
            "sources.a: standard-webhooks secret must be base64",
        ),
        (
            "[sources.a]\nsecrets = ['env:HY_DEFINITELY_UNSET']",
            "sources.a.secrets[0]: environment variable HY_DEFINITELY_UNSET is not set",
        ),
        (
            "[sources.a]\nsecrets = ['file:/nonexistent/secret']",
            "sources.a.secrets[0]: cannot read secret file /nonexistent/secret",
        ),
        ("[sources.a]\ndedup_window = 'forever'", "sources.a.dedup_window: expected a duration"),
        ("[sources.a]\nfrobnicate = 1", "sources.a: scheme 'none' has no option 'frobnicate'"),
        (
            "[sources.a]\nid_field = 'data..id'",
            "sources.a: none option 'id_field' must be a dotted path of JSON keys",
        ),
        ("[sources]\na = 3", "sources.a: must be a table"),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_file_key_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    text_of_error = str(info.value)
    assert text_of_error.startswith(str(path))
    assert message in text_of_error
    assert "\n" not in text_of_error


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings("/nonexistent/hookyard.toml")


def test_defaults_have_an_unsigned_demo_source() -> None:
    settings = default_settings()
    assert settings.server.database == "sqlite:///hookyard.db"
    assert settings.sources["demo"].scheme_name == "none"
    assert settings.server.max_body_bytes == 1024 * 1024


def test_flags_override_the_file() -> None:
    settings = with_overrides(default_settings(), host="0.0.0.0", port=9, database="sqlite:///x.db")
    assert (settings.server.host, settings.server.port, settings.server.database) == (
        "0.0.0.0",
        9,
        "sqlite:///x.db",
    )
    with pytest.raises(ConfigError, match="--db: unsupported database"):
        with_overrides(default_settings(), host=None, port=None, database="oracle://x")


def test_allow_networks_become_the_servers_policy() -> None:
    settings = settings_from_mapping({"server": {"allow_networks": ["10.1.0.0/16", "::1"]}})
    policy = settings.server.net_policy
    assert policy.check("10.1.2.3") is None and policy.check("::1") is None
    blocked = policy.check("10.2.0.1")
    assert blocked is not None and blocked.rule == "private"
    default = settings_from_mapping({}).server.net_policy
    assert default.check("10.1.2.3") is not None  # nothing is allowed unless listed

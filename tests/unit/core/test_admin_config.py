"""Config for the admin API's exposure: the token, allow_open_admin, allowed hosts and origins."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookyard.admin_tokens import AdminToken
from hookyard.config import ServerConfig, load_settings
from hookyard.exceptions import ConfigError


def load(tmp_path: Path, server: str) -> ServerConfig:
    path = tmp_path / "hookyard.toml"
    path.write_text(f"[server]\n{server}\n")
    return load_settings(path).server


@pytest.mark.parametrize(
    ("server", "key"),
    [
        ('admin_token = ""', "server.admin_token"),
        ('admin_token = "   "', "server.admin_token"),
        ('admin_token = "\\t\\n"', "server.admin_token"),
        ('admin_token = "env:HY_EMPTY_TOKEN"', "server.admin_token"),
        ('admin_token = "env:HY_BLANK_TOKEN"', "server.admin_token"),
        ('admin_token = "file:EMPTY_FILE"', "server.admin_token"),
        ("allow_open_admin = 1", "server.allow_open_admin: must be true or false"),
        ('allowed_hosts = "a.example"', "server.allowed_hosts: must be a list"),
        ('allowed_hosts = [""]', "server.allowed_hosts: must be a list of non-empty strings"),
        ('allowed_hosts = ["a b"]', "server.allowed_hosts: 'a b' is not a host name"),
        ('allowed_hosts = ["https://a.example"]', "server.allowed_hosts: 'https://a.example'"),
        ('allowed_origins = ["a.example"]', "server.allowed_origins: 'a.example' is not an origin"),
        ('allowed_origins = ["ftp://a.example"]', "server.allowed_origins: 'ftp://a.example'"),
        ('allowed_origins = ["https://a.example/x"]', "server.allowed_origins: 'https://a"),
        ('allowed_origins = ["https://"]', "server.allowed_origins: 'https://' is not an origin"),
    ],
)
def test_refused_values_are_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str, key: str
) -> None:
    monkeypatch.setenv("HY_EMPTY_TOKEN", "")
    monkeypatch.setenv("HY_BLANK_TOKEN", "  \n")
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    server = server.replace("EMPTY_FILE", str(empty))
    with pytest.raises(ConfigError) as info:
        load(tmp_path, server)
    assert key in str(info.value) and "\n" not in str(info.value)
    if "admin_token" in key:
        assert "empty or blank" in str(info.value)


def test_accepted_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HY_TOKEN", "t0ken")
    server = load(
        tmp_path,
        'admin_token = "env:HY_TOKEN"\nallow_open_admin = true\n'
        'allowed_hosts = ["hooks.example.com", "*"]\n'
        'allowed_origins = ["https://admin.example.com", "HTTP://localhost:3000/"]',
    )
    assert server == ServerConfig(
        admin_token="t0ken",
        allow_open_admin=True,
        allowed_hosts=("hooks.example.com", "*"),
        allowed_origins=("https://admin.example.com", "HTTP://localhost:3000/"),
        admin_tokens=(AdminToken("admin", "t0ken", "operate"),),
    )


def test_defaults_serve_loopback_only(tmp_path: Path) -> None:
    server = load(tmp_path, "")
    assert (server.admin_token, server.allow_open_admin) == (None, False)
    assert (server.allowed_hosts, server.allowed_origins) == ((), ())

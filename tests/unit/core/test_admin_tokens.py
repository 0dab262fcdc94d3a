"""``[server] admin_tokens``: names, roles, the legacy ``admin_token``, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookyard.admin_tokens import AdminToken
from hookyard.config import literal_secret_warning, load_settings, settings_from_mapping
from hookyard.exceptions import ConfigError


def server(**table: object) -> tuple[AdminToken, ...]:
    return settings_from_mapping({"server": table}, "hy.toml").server.admin_tokens


def test_named_tokens_with_roles_follow_the_legacy_token_named_admin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HY_CI_TOKEN", "ci-t0ken")
    tokens = server(
        admin_token="0ld",
        admin_tokens=[
            {"name": "ci", "token": "env:HY_CI_TOKEN", "role": "read"},
            {"name": "ops.on-call", "token": "0ps", "role": "operate"},
        ],
    )
    assert tokens == (
        AdminToken("admin", "0ld", "operate"),
        AdminToken("ci", "ci-t0ken", "read"),
        AdminToken("ops.on-call", "0ps", "operate"),
    )
    assert [t.may_change for t in tokens] == [True, False, True]
    assert "0ps" not in repr(tokens)  # tokens never show in a repr
    assert server() == ()


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ("x", "server.admin_tokens: must be a list of tables"),
        (["x"], "server.admin_tokens[0]: must be a table"),
        ([{"name": "a", "token": "t", "role": "admin"}], 'admin_tokens[0].role: required, "read"'),
        ([{"name": "a", "token": "t"}], "server.admin_tokens[0].role: required"),
        ([{"name": "a", "role": "read"}], "server.admin_tokens[0].token: required"),
        ([{"token": "t", "role": "read"}], "server.admin_tokens[0].name: required"),
        ([{"name": "a b", "token": "t", "role": "read"}], "admin_tokens[0].name: required"),
        ([{"name": "a", "token": "  ", "role": "read"}], "[0].token: is empty or blank"),
        ([{"name": "a", "token": "t t", "role": "read"}], "[0].token: must not hold spaces"),
        ([{"name": "a", "token": "env:HY_UNSET_9", "role": "read"}], "[0].token: "),
        ([{"name": "a", "token": "t", "role": "read", "x": 1}], "[0].x: unknown key"),
        (
            [
                {"name": "a", "token": "t", "role": "read"},
                {"name": "a", "token": "u", "role": "read"},
            ],
            "the name 'a' is used twice",
        ),
        (
            [
                {"name": "a", "token": "t", "role": "read"},
                {"name": "b", "token": "t", "role": "read"},
            ],
            "two tokens are the same",
        ),
    ],
)
def test_a_bad_token_list_is_one_line_naming_the_key(tokens: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        server(admin_tokens=tokens)
    text = str(caught.value)
    assert text.startswith("hy.toml: server.admin_tokens") and message in text
    assert "\n" not in text


def test_the_name_admin_is_taken_by_admin_token() -> None:
    with pytest.raises(ConfigError, match="'admin' is used twice \\(admin_token is named admin\\)"):
        server(admin_token="a", admin_tokens=[{"name": "admin", "token": "b", "role": "read"}])


def test_a_token_in_clear_in_a_readable_file_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "hy.toml"
    path.write_text('[server]\nadmin_tokens = [{name = "ci", token = "t0k", role = "read"}]\n')
    path.chmod(0o644)
    warning = literal_secret_warning(load_settings(path))
    assert warning is not None and "server.admin_tokens[0].token" in warning
    path.chmod(0o600)
    assert literal_secret_warning(load_settings(path)) is None

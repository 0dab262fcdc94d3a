"""``[server] encryption_key``: its forms, and one-line errors for a missing or bad key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hookyard.config import literal_secret_warning, load_settings, settings_from_mapping
from hookyard.exceptions import ConfigError
from hookyard.keyring import derived_key_id

RAW_A, RAW_B = bytes(range(32)), bytes(range(100, 132))
KEY_A, KEY_B = base64.b64encode(RAW_A).decode(), RAW_B.hex()


def server(**table: object) -> dict[str, object]:
    return {"server": table}


def test_no_key_stores_in_clear() -> None:
    assert settings_from_mapping({}).server.keyring.keys == ()


def test_one_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HY_KEY", KEY_A)
    ring = settings_from_mapping(server(encryption_key="env:HY_KEY")).server.keyring
    assert ring.ids == (derived_key_id(RAW_A),)
    assert KEY_A not in repr(settings_from_mapping(server(encryption_key="env:HY_KEY")))


def test_a_list_seals_with_the_first_and_tables_give_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HY_NEW", KEY_B)
    (tmp_path / "old.key").write_text(KEY_A + "\n")
    ring = settings_from_mapping(
        server(encryption_key=[{"id": "2026-12", "key": "env:HY_NEW"}, f"file:{tmp_path}/old.key"])
    ).server.keyring
    assert ring.ids == ("2026-12", derived_key_id(RAW_A))
    assert ring.current is not None and ring.current.material == RAW_B


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("env:HY_UNSET_KEY", "server.encryption_key: environment variable HY_UNSET_KEY is not set"),
        ([], "server.encryption_key: is an empty list"),
        ("c2hvcnQ=", "server.encryption_key: key #1 is 5 bytes, not 32"),
        ([KEY_A, KEY_A], "server.encryption_key: the same encryption key is listed twice"),
        ([{"key": KEY_A, "colour": "red"}], "server.encryption_key[0]: a table must be"),
        ([{"id": "x"}], "server.encryption_key[0]: a table must be"),
        ([{"id": 3, "key": KEY_A}], "server.encryption_key[0].id: must be a string"),
        ([{"id": "a/b", "key": KEY_A}], "key id 'a/b' must be"),
        (
            [{"id": "a", "key": KEY_A}, {"id": "a", "key": KEY_B}],
            "encryption key id 'a' is listed twice",
        ),
        (42, "server.encryption_key: must be a string"),
    ],
)
def test_a_missing_or_bad_key_is_one_config_error(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(server(encryption_key=value))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert KEY_A not in str(caught.value) and KEY_B not in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_literal_key_in_a_readable_file_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "hookyard.toml"
    path.write_text(f'[server]\nencryption_key = "{KEY_A}"\n')
    path.chmod(0o644)
    warning = literal_secret_warning(load_settings(path))
    assert warning is not None and "server.encryption_key" in warning

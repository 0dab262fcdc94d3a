from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookyard.delivery.destinations import parse_destination
from hookyard.exceptions import ConfigError
from hookyard.secrets import MAX_FILE_BYTES, resolve_secret, resolve_secret_value


def test_a_literal_is_itself() -> None:
    assert resolve_secret("whsec_abc") == "whsec_abc"
    assert resolve_secret("") == ""


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HY_SECRET_UNDER_TEST", "s3cret")
    assert resolve_secret("env:HY_SECRET_UNDER_TEST") == "s3cret"
    monkeypatch.delenv("HY_SECRET_UNDER_TEST")
    with pytest.raises(ValueError, match=r"^environment variable HY_SECRET_UNDER_TEST is not set$"):
        resolve_secret("env:HY_SECRET_UNDER_TEST")


def test_file_reference_drops_the_trailing_newline_only(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("  padded value \r\n")
    assert resolve_secret(f"file:{path}") == "  padded value "
    with pytest.raises(ValueError, match=r"^cannot read secret file /nonexistent/s: "):
        resolve_secret("file:/nonexistent/s")


def test_a_value_from_toml_must_be_text() -> None:
    with pytest.raises(
        ValueError, match=r"^must be a string \(a literal, env:NAME or file:PATH\)$"
    ):
        resolve_secret_value(42)
    assert resolve_secret_value("plain") == "plain"


def test_destinations_name_the_key_with_the_same_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HY_UNSET_SIGNING", raising=False)
    signing = {"scheme": "standard-webhooks", "secret": "env:HY_UNSET_SIGNING"}
    with pytest.raises(ConfigError) as caught:
        parse_destination("d", {"url": "https://example.com/", "signing": signing})
    assert str(caught.value) == (
        "destinations.d.signing.secret: environment variable HY_UNSET_SIGNING is not set"
    )
    with pytest.raises(ConfigError) as caught:
        parse_destination("d", {"url": "https://example.com/", "signing": {**signing, "secret": 1}})
    assert str(caught.value) == (
        "destinations.d.signing.secret: must be a string (a literal, env:NAME or file:PATH)"
    )


def test_destinations_do_not_import_config() -> None:
    # The cycle config -> destinations -> config is gone: destinations stands on its own.
    code = (
        "import sys, hookyard.delivery.destinations\n"
        "assert 'hookyard.config' not in sys.modules, 'destinations imported config'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fifo_secret_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(ValueError, match=r"^secret file .*secret\.fifo is not a regular file$"):
        resolve_secret(f"file:{fifo}")


def test_a_device_secret_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^secret file /dev/zero is not a regular file$"):
        resolve_secret("file:/dev/zero")


def test_a_secret_file_is_bounded_in_size_and_must_be_text(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"k" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ValueError, match=r"is larger than 64 KiB$"):
        resolve_secret(f"file:{big}")
    exact = tmp_path / "exact"
    exact.write_bytes(b"k" * MAX_FILE_BYTES)
    assert resolve_secret(f"file:{exact}") == "k" * MAX_FILE_BYTES
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"is not UTF-8 text$"):
        resolve_secret(f"file:{binary}")
    with pytest.raises(ValueError, match=r"is not a regular file$"):
        resolve_secret(f"file:{tmp_path}")

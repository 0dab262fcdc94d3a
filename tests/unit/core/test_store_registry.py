"""``open_store`` picks the backend by the URL's prefix, and refuses any other URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookyard.exceptions import ConfigError
from hookyard.store import open_store


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite:///{tmp}/h.db", "SqliteStore"),
        ("postgresql://127.0.0.1/none", "PostgresStore"),
        ("postgres://127.0.0.1/none", "PostgresStore"),
    ],
)
def test_each_prefix_opens_its_backend_without_connecting(
    url: str, backend: str, tmp_path: Path
) -> None:
    store = open_store(url.format(tmp=tmp_path), queue_size=7)
    assert type(store).__name__ == backend
    assert store.url == url.format(tmp=tmp_path)
    assert vars(store)["queue_size"] == 7
    assert not (tmp_path / "h.db").exists()  # opening is start()'s job


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://relative.db", "", "SQLITE:///x.db"])
def test_any_other_url_is_a_config_error_naming_the_choices(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        open_store(url)
    assert str(raised.value) == (
        f"unsupported database {url!r}; use sqlite:///PATH or postgresql://..."
    )

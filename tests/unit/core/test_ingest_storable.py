"""What of a request's text ingest keeps: ids and types only when storable, other text repaired."""

from __future__ import annotations

import pytest

from hookyard.storable import MAX_LABEL_CHARS, label, storable, text


@pytest.mark.parametrize(
    "value", ["evt_1", "order.created", "caf\u00e9", "\u6f22\u5b57", "\U0001f600", "", "a\ufffd"]
)
def test_valid_text_is_kept_as_it_is(value: str) -> None:
    assert storable(value)
    assert label(value) == value
    assert text(value) is value


@pytest.mark.parametrize("value", ["evt\x00x", "\x00", "t\ud800", "\udfff", "\u00e9\ud800"])
def test_nul_or_a_lone_surrogate_is_no_id_or_type(value: str) -> None:
    assert not storable(value)
    assert label(value) is None


def test_an_id_is_kept_up_to_the_bound_and_is_none_beyond_it() -> None:
    assert label("x" * MAX_LABEL_CHARS) == "x" * MAX_LABEL_CHARS
    assert label("x" * (MAX_LABEL_CHARS + 1)) is None
    # The bound holds in bytes too: four UTF-8 bytes a character fit a btree entry.
    assert len(("\U0001f600" * MAX_LABEL_CHARS).encode()) < 2704


def test_absent_stays_absent() -> None:
    assert label(None) is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("/in/demo\x00", "/in/demo\ufffd"),
        ("text/pl\x00ain", "text/pl\ufffdain"),
        ("a\ud800b\udfffc", "a\ufffdb\ufffdc"),
        ("\x00\x00", "\ufffd\ufffd"),
    ],
)
def test_other_text_has_each_unstorable_character_replaced(value: str, stored: str) -> None:
    assert text(value) == stored
    assert storable(text(value))

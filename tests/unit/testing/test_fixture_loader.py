"""One loader for ``NAME.body`` + ``NAME.json``: the battery's fixtures and the corpus helper
read the same files the same way, and refuse the same broken ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookyard.exceptions import UsageError
from hookyard.testing.conformance import Fixture, load_fixtures
from hookyard.testing.corpus import load_corpus
from support.exports import write_export

HEADERS = [["Content-Type", "application/json"], ["Stripe-Signature", "t=1,v1=00"]]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    write_export(
        tmp_path,
        "02_refund",
        b'{"id": "evt_2"}',
        {"source": "stripe", "event_type": "charge.refunded", "headers": HEADERS},
    )
    write_export(tmp_path, "01_bare", b"\x00\xffraw bytes\r\n")  # no NAME.json at all
    write_export(
        tmp_path,
        "03_odd",
        b"a=1",
        {"source": 7, "event_type": None, "headers": [], "content_type": "text/plain"},
    )
    (tmp_path / "notes.txt").write_text("not a fixture")
    (tmp_path / "orphan.json").write_text("{}")
    return tmp_path


def test_fixtures_and_corpus_read_the_same_cases(export: Path) -> None:
    fixtures = load_fixtures(export)
    cases = load_corpus(export)
    assert [f.name for f in fixtures] == ["01_bare", "02_refund", "03_odd"]
    assert [(c.name, c.body, c.headers, c.source, c.event_type) for c in cases] == [
        (f.name, f.body, f.headers, f.source, f.event_type) for f in fixtures
    ]
    assert [c.meta for c in cases] == [f.meta for f in fixtures]


def test_values_come_through_exactly(export: Path) -> None:
    bare, refund, odd = load_fixtures(export)
    assert bare == Fixture("01_bare", b"\x00\xffraw bytes\r\n")
    assert refund.headers == (
        ("Content-Type", "application/json"),
        ("Stripe-Signature", "t=1,v1=00"),
    )
    assert (refund.source, refund.event_type) == ("stripe", "charge.refunded")
    # Fields of the wrong type are absent, not coerced.
    assert (odd.source, odd.event_type) == (None, None)


def test_corpus_content_type_prefers_the_exported_field(export: Path) -> None:
    bare, refund, odd = load_corpus(export)
    assert bare.content_type == ""
    assert refund.content_type == "application/json"  # from the captured header
    assert odd.content_type == "text/plain"  # from "content_type"


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"headers": {"a": "b"}}', "headers must be a list of [name, value] pairs"),
        ('{"headers": [["a", "b", "c"]]}', "headers must be a list of [name, value] pairs"),
        ('{"headers": [["a", 1]]}', "headers must be a list of [name, value] pairs"),
    ],
)
def test_both_refuse_a_broken_meta_file(tmp_path: Path, meta: str, message: str) -> None:
    (tmp_path / "bad.body").write_bytes(b"{}")
    (tmp_path / "bad.json").write_text(meta)
    with pytest.raises(UsageError, match=rf"^fixture .*bad\.json.*{re.escape(message)}"):
        load_fixtures(tmp_path)
    with pytest.raises(UsageError, match=rf"^corpus file .*bad\.json.*{re.escape(message)}"):
        load_corpus(tmp_path)


def test_both_refuse_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(UsageError, match=r"^fixtures directory .* does not exist"):
        load_fixtures(missing)
    with pytest.raises(UsageError, match=r"^corpus directory .* does not exist"):
        load_corpus(missing)


def test_an_empty_directory_is_refused_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no bodies here")
    with pytest.raises(UsageError, match=r"no NAME\.body files in fixtures directory"):
        load_fixtures(tmp_path)
    with pytest.raises(UsageError, match=r"no NAME\.body files in corpus directory"):
        load_corpus(tmp_path)
    assert load_fixtures(tmp_path, allow_empty=True) == []
    assert load_corpus(tmp_path, allow_empty=True) == []

"""``hookyard.testing.corpus``: a corpus directory as parametrised pytest cases."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from hookyard.exceptions import UsageError
from hookyard.signatures.base import SignedMessage
from hookyard.signatures.registry import create_scheme
from hookyard.testing.corpus import CorpusCase, corpus_cases, load_corpus
from support.exports import write_export
from support.user_suite import run_user_suite

SECRET = "whsec_corpus_test"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    write_export(
        tmp_path,
        "01A_invoice.paid",
        b'{"id": "evt_1", "type": "invoice.paid", "amount": 2000}',
        {
            "source": "stripe",
            "event_type": "invoice.paid",
            "content_type": "application/json",
            "headers": [
                ["Content-Type", "application/json"],
                ["Stripe-Signature", "t=1,v1=00"],
                ["Content-Length", "55"],
                ["X-Trace", "a"],
            ],
        },
    )
    write_export(tmp_path, "01B_binary", b"\x00\xff\x10 raw", None)
    write_export(
        tmp_path,
        "01C_charge.failed",
        b'{"type": "charge.failed"}',
        {"event_type": "charge.failed", "headers": [["content-type", "application/json"]]},
    )
    (tmp_path / "notes.txt").write_text("not a case")
    return tmp_path


def test_cases_are_read_in_name_order_with_exact_bytes(corpus: Path) -> None:
    cases = load_corpus(corpus)
    assert [c.name for c in cases] == ["01A_invoice.paid", "01B_binary", "01C_charge.failed"]
    first, binary, third = cases
    assert first.body == (corpus / "01A_invoice.paid.body").read_bytes()
    assert first.source == "stripe" and first.event_type == "invoice.paid"
    assert first.header("stripe-signature") == "t=1,v1=00"
    assert first.json()["amount"] == 2000
    assert binary.body == b"\x00\xff\x10 raw" and binary.headers == () and binary.meta == {}
    assert third.content_type == "application/json"  # from the headers when not given


def test_signed_replaces_the_scheme_headers_and_verifies(corpus: Path) -> None:
    case = load_corpus(corpus)[0]
    request = case.signed("stripe", SECRET, url="http://receiver.test/hooks")
    names = [n.lower() for n, _ in request.headers]
    assert names.count("stripe-signature") == 1
    assert "content-length" not in names  # hop-by-hop: the client sets it
    assert ("X-Trace", "a") in request.headers
    assert request.body == case.body
    verdict = create_scheme("stripe").verify(
        SignedMessage.from_text_headers(request.headers, request.body),
        [SECRET],
        now=time.time(),
    )
    assert verdict.status == "valid", verdict.reason


def test_fresh_message_ids_each_time(corpus: Path) -> None:
    case = load_corpus(corpus)[0]
    first = case.signed_headers("standard-webhooks", "whsec_" + "QUJD" * 8)
    second = case.signed_headers("standard-webhooks", "whsec_" + "QUJD" * 8)
    assert first["webhook-id"] != second["webhook-id"]


def test_corpus_cases_are_pytest_params_named_after_files(corpus: Path) -> None:
    params = corpus_cases(corpus)
    assert [p.id for p in params] == ["01A_invoice.paid", "01B_binary", "01C_charge.failed"]
    case = params[0].values[0]
    assert isinstance(case, CorpusCase) and case.name == "01A_invoice.paid"
    only = corpus_cases(corpus, event_types=["invoice.*"])
    assert [p.id for p in only] == ["01A_invoice.paid"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: root, "no NAME.body files"),
    ],
)
def test_missing_or_empty_directory_is_an_error(
    tmp_path: Path, setup: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        load_corpus(setup(tmp_path))  # type: ignore[operator]


def test_empty_allowed_when_asked(tmp_path: Path) -> None:
    assert corpus_cases(tmp_path, allow_empty=True) == []


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"headers": [["a"]]}', "headers must be a list"),
        ('{"headers": {"a": "b"}}', "headers must be a list"),
    ],
)
def test_malformed_metadata_is_an_error(tmp_path: Path, meta: str, message: str) -> None:
    (tmp_path / "x.body").write_bytes(b"{}")
    (tmp_path / "x.json").write_text(meta)
    with pytest.raises(UsageError, match=message):
        load_corpus(tmp_path)


USER_TESTS = """
import pytest

from hookyard.testing.corpus import corpus_cases


@pytest.mark.parametrize("case", corpus_cases({corpus!r}))
def test_amount_is_an_integer(case):
    assert isinstance(case.json().get("amount", 0), int)
"""


def test_a_user_suite_gets_one_test_per_fixture(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_export(corpus, "good", b'{"amount": 1}', {"headers": []})
    write_export(corpus, "drifted", b'{"amount": "1"}', {"headers": []})
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_corpus.py").write_text(textwrap.dedent(USER_TESTS.format(corpus=str(corpus))))
    code, output = run_user_suite(suite)
    assert code == 1, output
    assert "1 failed, 1 passed" in output
    assert "test_amount_is_an_integer[drifted]" in output

"""Real traffic as test cases: read a corpus written by ``hookyard export``.

A corpus is a directory of ``NAME.body`` (the request body, exact bytes) and
``NAME.json`` (headers, source, event type, verdict, receipt time). Parametrise a test
over it and every captured request becomes one test, named after its file::

    from hookyard.testing.corpus import corpus_cases

    @pytest.mark.parametrize("case", corpus_cases("tests/corpus"))
    def test_handler_accepts_real_payloads(case):
        response = client.post("/webhooks", content=case.body, headers=case.signed_headers(
            "stripe", "whsec_test"))
        assert response.status_code == 200

``case.json()`` parses the body, ``case.header(name)`` reads a captured header, and
``case.signed(...)`` signs the body afresh for a receiver that verifies signatures (a
masked body no longer matches the signature it arrived with).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookyard.signatures.registry import create_scheme
from hookyard.testing.conformance.fixtures import CORPUS, Fixture, load_fixture, load_fixtures
from hookyard.testing.signing import (
    Headers,
    SignedRequest,
    sign_request,
    wire_profile,
    without_owned_headers,
)

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet


@dataclass(frozen=True, slots=True)
class CorpusCase:
    """One captured request: ``body`` is exactly the bytes of ``NAME.body``."""

    name: str
    body: bytes
    headers: Headers = ()
    source: str | None = None
    event_type: str | None = None
    content_type: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, fixture: Fixture) -> CorpusCase:
        """The case for a fixture read by the shared loader; the content type is the
        exported ``content_type``, else the captured Content-Type header."""
        content_type = fixture.meta.get("content_type")
        if not isinstance(content_type, str):
            content_type = next((v for n, v in fixture.headers if n.lower() == "content-type"), "")
        return cls(
            name=fixture.name,
            body=fixture.body,
            headers=fixture.headers,
            source=fixture.source,
            event_type=fixture.event_type,
            content_type=content_type,
            meta=fixture.meta,
        )

    def header(self, name: str) -> str | None:
        """The first captured value of a header, matched case-insensitively."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body)

    def signed(
        self,
        scheme: str,
        secret: str,
        *,
        url: str = "http://testserver/",
        options: Mapping[str, Any] | None = None,
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """The request signed afresh: captured headers minus the scheme's own, new signature.

        ``msg_id`` defaults to a fresh id, ``timestamp`` to now, so a receiver that
        deduplicates or checks a time window treats it as a new delivery.
        """
        resolved = create_scheme(scheme, options)
        profile = wire_profile(resolved)
        return sign_request(
            resolved,
            url,
            self.body,
            secret,
            msg_id=msg_id or f"{profile.id_prefix}{uuid.uuid4().hex}",
            timestamp=int(time.time()) if timestamp is None else timestamp,
            headers=without_owned_headers(profile, self.headers),
        )

    def signed_headers(self, scheme: str, secret: str, **kwargs: Any) -> dict[str, str]:
        """``signed(...)``'s headers as a dict, ready for a test client."""
        return dict(self.signed(scheme, secret, **kwargs).headers)


def load_case(body_path: Path) -> CorpusCase:
    """``NAME.body`` and, when present, ``NAME.json`` next to it."""
    return CorpusCase.of(load_fixture(body_path, wording=CORPUS))


def load_corpus(directory: str | Path, *, allow_empty: bool = False) -> list[CorpusCase]:
    """Every case in ``directory``, sorted by name (``hookyard export`` names sort by receipt).

    Raises ``UsageError`` for a missing or unreadable directory, a malformed
    ``NAME.json``, and, unless ``allow_empty``, a directory without cases (a corpus
    that silently vanished would otherwise pass every test).
    """
    fixtures = load_fixtures(directory, allow_empty=allow_empty, wording=CORPUS)
    return [CorpusCase.of(fixture) for fixture in fixtures]


def corpus_cases(
    directory: str | Path,
    *,
    event_types: Sequence[str] = (),
    allow_empty: bool = False,
) -> list[ParameterSet]:
    """``pytest.param`` per case, with the case's name as the test id.

    ``event_types`` keeps only cases whose event type is one of them (``fnmatch``
    globs, e.g. ``["invoice.*"]``).
    """
    import fnmatch

    import pytest

    cases = load_corpus(directory, allow_empty=allow_empty)
    if event_types:
        cases = [
            case
            for case in cases
            if case.event_type is not None
            and any(fnmatch.fnmatchcase(case.event_type, pattern) for pattern in event_types)
        ]
    return [pytest.param(case, id=case.name) for case in cases]

"""``hookyard trigger``'s events: samples shipped per scheme (``live/samples/SCHEME/``), or
any corpus directory ``hookyard export`` wrote, in the same ``NAME.body`` + ``NAME.json``
layout and read by the same loader.

A shipped sample may hold ``{{id}}`` (a fresh provider event id, in the scheme's own
form), ``{{now}}`` (Unix seconds) and ``{{now_iso}}``: filled in at run time, so every
trigger is a new event to a receiver that deduplicates or checks a time window. A corpus
file is sent as it is. Either way it is signed afresh (``CorpusCase.signed``, the
signing code every other test helper uses).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from hookyard.exceptions import UsageError
from hookyard.signatures.registry import create_scheme, scheme_names
from hookyard.testing.corpus import CorpusCase, load_corpus
from hookyard.testing.signing import wire_profile

SAMPLES = "samples"


def shipped(scheme: str) -> list[CorpusCase]:
    """The samples shipped for ``scheme`` (a ``UsageError`` for an unknown scheme)."""
    if scheme not in scheme_names():
        raise UsageError(f"unknown scheme {scheme!r}; one of: {', '.join(scheme_names())}")
    folder = resources.files("hookyard.live").joinpath(SAMPLES, scheme)
    return load_corpus(Path(str(folder)), allow_empty=True)


def choose(cases: list[CorpusCase], event: str, where: str) -> CorpusCase:
    """The case whose event type (or file name) is ``event``."""
    for case in cases:
        if event in (case.event_type, case.name):
            return case
    known = ", ".join(sorted(case.event_type or case.name for case in cases)) or "none"
    raise UsageError(f"no {event!r} event in {where}; there are: {known}")


def fill(case: CorpusCase, scheme: str, *, now: float | None = None) -> CorpusCase:
    """``case`` with its placeholders filled in (a fresh id, the time now)."""
    moment = time.time() if now is None else now
    prefix = wire_profile(create_scheme(scheme, {})).id_prefix if scheme != "hmac" else "evt_"
    values = {
        b"{{id}}": f"{prefix}{uuid.uuid4().hex}".encode(),
        b"{{now}}": str(int(moment)).encode(),
        b"{{now_iso}}": datetime.fromtimestamp(moment, tz=UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .encode(),
    }
    body = case.body
    for placeholder, value in values.items():
        body = body.replace(placeholder, value)
    return dataclasses.replace(case, body=body)

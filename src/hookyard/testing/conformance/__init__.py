"""The receiver conformance battery: attack a webhook receiver the way the real world will.

Two halves, kept apart so each can be tested alone:

- **Checks** are pure. Each one *plans* the requests it sends (from the scheme, the
  secret, a body and the current time) and *judges* what came back. Nothing in a check
  touches the network.
- **The runner** does the I/O: it sends the planned requests through an
  ``httpx.AsyncClient`` (a real URL, or an ASGI app in-process through
  ``httpx.ASGITransport``), reads the side-effect counter, and collects a ``Report``.

Every check signs its requests at run time with a fresh message id, so checks never
see each other's messages (a receiver that dedups must not make the duplicate check
pass because the valid check already used the id). Checks that cannot apply to a
scheme (no signed timestamp, no message id in the signature) are reported as not
applicable, never as passed.

``model``     the value types: target, material, probe, answer, check, results
``checks``    the checks themselves, pure: plans, judges, applicability, ``CHECKS``
``report``    ``Report``, its table, ``assert_conformant`` and ``ConformanceFailure``
``fixtures``  captured requests read from disk (shared with ``hookyard.testing.corpus``)
``runner``    the I/O: ``run_conformance``, the httpx client or ASGI transport, lifespan
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hookyard.testing.conformance.checks import (
        CHECK_NAMES,
        CHECKS,
        SKEW_SECONDS,
        accepts,
        aggregate,
        judge_duplicate,
        judge_oversized,
        judge_side_effect,
        rejects,
    )
    from hookyard.testing.conformance.fixtures import Fixture, load_fixtures
    from hookyard.testing.conformance.model import (
        DEFAULT_MAX_BODY_BYTES,
        SYNTHETIC,
        Answer,
        ASGIApp,
        CaseResult,
        Check,
        CheckResult,
        Material,
        NotApplicable,
        Observation,
        Target,
    )
    from hookyard.testing.conformance.report import ConformanceFailure, Report, assert_conformant
    from hookyard.testing.conformance.runner import (
        DEFAULT_SETTLE_SECONDS,
        DEFAULT_TIMEOUT_SECONDS,
        Unreachable,
        parse_count,
        run_conformance,
        run_conformance_sync,
    )

# Names resolve on first use (PEP 562), as in ``hookyard.testing``: the corpus helper reads
# fixtures through ``.fixtures`` and should not pay for importing the runner and httpx.
_EXPORTS: dict[str, str] = {
    "CHECKS": "checks",
    "CHECK_NAMES": "checks",
    "DEFAULT_MAX_BODY_BYTES": "model",
    "DEFAULT_SETTLE_SECONDS": "runner",
    "DEFAULT_TIMEOUT_SECONDS": "runner",
    "SKEW_SECONDS": "checks",
    "SYNTHETIC": "model",
    "ASGIApp": "model",
    "Answer": "model",
    "CaseResult": "model",
    "Check": "model",
    "CheckResult": "model",
    "ConformanceFailure": "report",
    "Fixture": "fixtures",
    "Material": "model",
    "NotApplicable": "model",
    "Observation": "model",
    "Report": "report",
    "Target": "model",
    "Unreachable": "runner",
    "accepts": "checks",
    "aggregate": "checks",
    "assert_conformant": "report",
    "judge_duplicate": "checks",
    "judge_oversized": "checks",
    "judge_side_effect": "checks",
    "load_fixtures": "fixtures",
    "parse_count": "runner",
    "rejects": "checks",
    "run_conformance": "runner",
    "run_conformance_sync": "runner",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


# The documented API (what ``hookyard.testing`` re-exports), and the parts a check is
# made of plus the runner's settings, for the CLI and for tests that plan and judge
# without a receiver.
__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SETTLE_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "SKEW_SECONDS",
    "SYNTHETIC",
    "ASGIApp",
    "Answer",
    "CaseResult",
    "Check",
    "CheckResult",
    "ConformanceFailure",
    "Fixture",
    "Material",
    "NotApplicable",
    "Observation",
    "Report",
    "Target",
    "Unreachable",
    "accepts",
    "aggregate",
    "assert_conformant",
    "judge_duplicate",
    "judge_oversized",
    "judge_side_effect",
    "load_fixtures",
    "parse_count",
    "rejects",
    "run_conformance",
    "run_conformance_sync",
]

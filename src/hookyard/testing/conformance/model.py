"""The battery's value types: what a check is, what it sends, what came back, what it found.

Plain frozen data with no I/O, shared by the checks (which plan and judge), the runner
(which sends) and the report (which shows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hookyard.asgi import ASGIApp as ASGIApp  # one of the battery's public types
from hookyard.signatures.base import Scheme
from hookyard.testing.signing import Headers, SignedRequest, WireProfile

Outcome = Literal["pass", "fail", "n/a"]

#: The largest body a receiver is assumed to accept; the oversized check sends one byte more.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024

# -- what goes out and what comes back ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    """One HTTP POST a check sends."""

    url: str
    headers: Headers
    body: bytes

    @classmethod
    def of(cls, request: SignedRequest, *, body: bytes | None = None) -> Probe:
        return cls(request.url, request.headers, request.body if body is None else body)


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's reply to one probe: a status, or why there was none."""

    status: int | None
    error: str | None = None
    excerpt: str = ""

    def shown(self) -> str:
        return str(self.status) if self.status is not None else "no answer"


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything one planned case produced: answers in order, and the side-effect counts
    (before the first probe, then after each) when they were read."""

    answers: tuple[Answer, ...]
    counts: tuple[int, ...] = ()
    count_error: str | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    outcome: Outcome
    got: str
    why: str


@dataclass(frozen=True, slots=True)
class Material:
    """A body to attack with: a synthetic one, or one captured from real traffic.

    ``body`` is None for synthetic material, which is generated for each message id.
    """

    label: str
    body: bytes | None = None
    headers: Headers = ()


SYNTHETIC = Material("synthetic")


@dataclass(frozen=True, slots=True)
class Target:
    """What checks need to know about the receiver under test; plain data, no I/O."""

    url: str
    scheme: Scheme
    profile: WireProfile
    secret: str
    wrong_secret: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    side_effects: bool = False


class NotApplicable(Exception):
    """Raised while planning when a check cannot apply to this body or scheme."""


IdSource = Callable[[], str]
Planner = Callable[[Target, Material, IdSource, int], tuple[Probe, ...]]
Judge = Callable[[Target, Observation], Judgement]


def _always(target: Target) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    expected: str
    summary: str
    plan: Planner
    judge: Judge
    applies: Callable[[Target], str | None] = _always
    #: False: the check builds its own body and runs once, whatever the fixtures.
    per_body: bool = True
    counts_side_effects: bool = False


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One check against one body."""

    body: str
    outcome: Outcome
    got: str
    why: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    expected: str
    got: str
    outcome: Outcome
    why: str
    cases: tuple[CaseResult, ...] = ()
    #: What the check sends, in a few words.
    sends: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "sends": self.sends,
            "expected": self.expected,
            "got": self.got,
            "outcome": self.outcome,
            "why": self.why,
            "cases": [
                {"body": c.body, "outcome": c.outcome, "got": c.got, "why": c.why}
                for c in self.cases
            ],
        }

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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from hookyard import __version__
from hookyard.exceptions import UsageError
from hookyard.signatures.base import Scheme
from hookyard.testing.signing import (
    Headers,
    SignedRequest,
    WireProfile,
    combine_signatures,
    malform,
    resolve,
    sign_request,
    synthetic_body,
    tamper,
    wire_profile,
    with_event_id,
    without_owned_headers,
    wrong_secret,
)

Outcome = Literal["pass", "fail", "n/a"]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

#: The largest body a receiver is assumed to accept; the oversized check sends one byte more.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
#: How far off the clock the stale and future checks sign: twice the usual 5-minute window.
SKEW_SECONDS = 600
DEFAULT_TIMEOUT_SECONDS = 10.0
#: How long to wait for a side effect to show in the counter, and for a second one not to.
DEFAULT_SETTLE_SECONDS = 0.25
IN_PROCESS_BASE = "http://testserver"
LIFESPAN_TIMEOUT_SECONDS = 30.0
_USER_AGENT = f"hookyard-conformance/{__version__}"
_EXCERPT = 120


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


# -- planning helpers -------------------------------------------------------------------------


def body_for(target: Target, material: Material, event_id: str) -> bytes:
    """The material's body carrying ``event_id`` where the scheme keeps it."""
    if material.body is None:
        return synthetic_body(target.profile, event_id)
    body = with_event_id(target.profile, material.body, event_id)
    if body is None:
        path = ".".join(str(p) for p in target.profile.id_path)
        raise NotApplicable(f"the body has no event id at {path} to make fresh")
    return body


def headers_for(target: Target, material: Material) -> Headers:
    if material.body is None:
        return (("Content-Type", target.profile.content_type), *target.profile.extra_headers)
    return without_owned_headers(target.profile, material.headers)


def signed(
    target: Target,
    material: Material,
    event_id: str,
    now: int,
    *,
    secret: str | None = None,
    body: bytes | None = None,
) -> SignedRequest:
    return sign_request(
        target.scheme,
        target.url,
        body_for(target, material, event_id) if body is None else body,
        target.secret if secret is None else secret,
        msg_id=event_id,
        timestamp=now,
        headers=headers_for(target, material),
    )


def _is_signature_header(target: Target, name: str) -> bool:
    return name.lower() in {h.lower() for h in target.profile.signature_headers}


# -- the checks: plans ----------------------------------------------------------------------


def plan_valid(target: Target, material: Material, ids: IdSource, now: int) -> tuple[Probe, ...]:
    return (Probe.of(signed(target, material, ids(), now)),)


def plan_stale(target: Target, material: Material, ids: IdSource, now: int) -> tuple[Probe, ...]:
    return (Probe.of(signed(target, material, ids(), now - SKEW_SECONDS)),)


def plan_future(target: Target, material: Material, ids: IdSource, now: int) -> tuple[Probe, ...]:
    return (Probe.of(signed(target, material, ids(), now + SKEW_SECONDS)),)


def plan_tampered(target: Target, material: Material, ids: IdSource, now: int) -> tuple[Probe, ...]:
    request = signed(target, material, ids(), now)
    return (Probe.of(request, body=tamper(request.body)),)


def plan_wrong_secret(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    return (Probe.of(signed(target, material, ids(), now, secret=target.wrong_secret)),)


def plan_missing_signature(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    request = signed(target, material, ids(), now)
    headers = tuple((n, v) for n, v in request.headers if not _is_signature_header(target, n))
    return (Probe(request.url, headers, request.body),)


def plan_malformed_signature(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    request = signed(target, material, ids(), now)
    headers = tuple(
        (n, malform(v) if _is_signature_header(target, n) else v) for n, v in request.headers
    )
    return (Probe(request.url, headers, request.body),)


def plan_other_message_id(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    """Signed for message A, sent as message B: the id must be bound to the signature,
    or an attacker replays a captured request under fresh ids to get past dedup."""
    signed_id, sent_id = ids(), ids()
    request = signed(target, material, signed_id, now)
    if target.profile.id_binding == "body":
        return (Probe.of(request, body=body_for(target, material, sent_id)),)
    headers = tuple((n, sent_id if v == signed_id else v) for n, v in request.headers)
    return (Probe(request.url, headers, request.body),)


def plan_rotation(target: Target, material: Material, ids: IdSource, now: int) -> tuple[Probe, ...]:
    event_id = ids()
    body = body_for(target, material, event_id)
    right = signed(target, material, event_id, now, body=body)
    wrong = signed(target, material, event_id, now, body=body, secret=target.wrong_secret)
    headers = tuple(
        (
            n,
            combine_signatures(target.profile.scheme, wrong.header(n) or "", v)
            if _is_signature_header(target, n)
            else v,
        )
        for n, v in right.headers
    )
    return (Probe(right.url, headers, right.body),)


def plan_duplicate(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    probe = Probe.of(signed(target, material, ids(), now))
    return (probe, probe)


def plan_oversized(
    target: Target, material: Material, ids: IdSource, now: int
) -> tuple[Probe, ...]:
    event_id = ids()
    body = synthetic_body(target.profile, event_id, size=target.max_body_bytes + 1)
    return (Probe.of(signed(target, SYNTHETIC, event_id, now, body=body)),)


# -- the checks: judges -----------------------------------------------------------------------


def _excerpt(answer: Answer) -> str:
    return f": {answer.excerpt}" if answer.excerpt else ""


def _not_answered(answer: Answer) -> Judgement | None:
    """The verdict for answers that are wrong whatever the check expected."""
    if answer.status is None:
        return Judgement("fail", "no answer", f"no answer: {answer.error}")
    if answer.status >= 500:
        return Judgement(
            "fail",
            answer.shown(),
            "server error: the receiver failed on this request instead of answering it "
            "on purpose, and providers retry 5xx" + _excerpt(answer),
        )
    if answer.status < 200 or 300 <= answer.status < 400:
        return Judgement(
            "fail", answer.shown(), "neither accepted nor refused: providers do not follow this"
        )
    return None


def rejects(hint: str) -> Judge:
    """Expect a 4xx; ``hint`` explains what accepting means for this attack."""

    def judge(target: Target, observation: Observation) -> Judgement:
        answer = observation.answers[0]
        if (problem := _not_answered(answer)) is not None:
            return problem
        assert answer.status is not None
        if answer.status < 300:
            return Judgement("fail", answer.shown(), hint)
        return Judgement("pass", answer.shown(), "refused" + _excerpt(answer))

    return judge


def accepts(hint: str) -> Judge:
    """Expect a 2xx; ``hint`` explains what refusing means."""

    def judge(target: Target, observation: Observation) -> Judgement:
        answer = observation.answers[0]
        if (problem := _not_answered(answer)) is not None:
            return problem
        assert answer.status is not None
        if answer.status >= 300:
            return Judgement("fail", answer.shown(), hint + _excerpt(answer))
        return Judgement("pass", answer.shown(), "accepted")

    return judge


def judge_duplicate(target: Target, observation: Observation) -> Judgement:
    first, second = observation.answers
    got = f"{first.shown()}, {second.shown()}"
    for index, answer in enumerate((first, second)):
        problem = _not_answered(answer)
        if problem is not None:
            which = "first delivery" if index == 0 else "repeat"
            return Judgement("fail", got, f"{which}: {problem.why}")
    assert first.status is not None and second.status is not None
    if first.status >= 300:
        return Judgement(
            "fail",
            got,
            "the first delivery was refused, so dedup cannot be judged" + _excerpt(first),
        )
    if second.status >= 300:
        return Judgement(
            "fail",
            got,
            "a repeat of an accepted message was refused: providers retry anything but 2xx, "
            "so a duplicate must be acknowledged and ignored" + _excerpt(second),
        )
    return Judgement("pass", got, "both deliveries acknowledged")


def judge_side_effect(target: Target, observation: Observation) -> Judgement:
    answers = observation.answers
    statuses = ", ".join(a.shown() for a in answers)
    if observation.count_error is not None:
        return Judgement("fail", statuses, f"side-effect URL: {observation.count_error}")
    before, after_first, after_second = observation.counts
    got = f"count {before}→{after_first}→{after_second}"
    if any(a.status is None or not 200 <= a.status < 300 for a in answers):
        return Judgement(
            "fail", f"{statuses}; {got}", "both deliveries must be acknowledged (2xx) first"
        )
    if after_first <= before:
        return Judgement(
            "fail",
            got,
            "the first delivery caused no side effect, so the side-effect URL does not count "
            "this receiver's work (or it counts later than --settle allows)",
        )
    if after_second > after_first:
        return Judgement(
            "fail",
            got,
            "the repeat caused a second side effect: no dedup on the message id, so every "
            "provider retry is processed again",
        )
    return Judgement("pass", got, "one side effect for two deliveries of one message")


def judge_oversized(target: Target, observation: Observation) -> Judgement:
    answer = observation.answers[0]
    size = target.max_body_bytes + 1
    if (problem := _not_answered(answer)) is not None:
        return problem
    assert answer.status is not None
    if answer.status < 300:
        return Judgement(
            "fail",
            answer.shown(),
            f"accepted a {size}-byte body: without a size limit anyone can make the receiver "
            "buffer and store as much as they like",
        )
    if answer.status == 413:
        return Judgement("pass", "413", "refused as too large")
    return Judgement("pass", answer.shown(), "refused (413 would say why)" + _excerpt(answer))


# -- the checks: applicability -----------------------------------------------------------------


def needs_signature(target: Target) -> str | None:
    return None if target.profile.signed else "the source is not signed"


def needs_timestamp(target: Target) -> str | None:
    if target.profile.timestamped:
        return None
    return needs_signature(target) or (
        f"{target.profile.scheme} signs no timestamp: only dedup stops a replay"
    )


def needs_signed_id(target: Target) -> str | None:
    if (unsigned := needs_signature(target)) is not None:
        return unsigned
    if target.profile.id_binding in ("signed-header", "body"):
        return None
    if target.profile.id_binding == "header":
        return f"{target.profile.scheme}'s signature does not cover the message id"
    return f"{target.profile.scheme} has no message id"


def needs_multi_signature(target: Target) -> str | None:
    if target.profile.multi_signature:
        return None
    return needs_signature(target) or (
        f"{target.profile.scheme}'s signature header carries one signature; "
        "rotation is the receiver's own list of secrets"
    )


def needs_side_effects(target: Target) -> str | None:
    if target.profile.id_binding == "none":
        return f"{target.profile.scheme} has no message id to dedup on"
    return None if target.side_effects else "no side-effect URL given"


CHECKS: tuple[Check, ...] = (
    Check(
        "valid-signature",
        "2xx",
        "a correctly signed, fresh request",
        plan_valid,
        accepts(
            "refused a correctly signed, fresh request: check the scheme and secret, and that "
            "the raw body bytes are verified, not re-serialised JSON"
        ),
    ),
    Check(
        "stale-timestamp",
        "4xx",
        f"signed {SKEW_SECONDS // 60} minutes ago",
        plan_stale,
        rejects(
            "accepted a request signed 10 minutes ago: no timestamp window, so a captured "
            "request can be replayed at any time"
        ),
        needs_timestamp,
    ),
    Check(
        "future-timestamp",
        "4xx",
        f"signed {SKEW_SECONDS // 60} minutes in the future",
        plan_future,
        rejects(
            "accepted a request dated 10 minutes ahead: the window must bound both sides, or a "
            "forged-ahead timestamp stays replayable"
        ),
        needs_timestamp,
    ),
    Check(
        "tampered-body",
        "4xx",
        "body changed after signing",
        plan_tampered,
        rejects("accepted a body that differs from the signed one: the body is not verified"),
        needs_signature,
    ),
    Check(
        "wrong-secret",
        "4xx",
        "signed with a secret the receiver does not have",
        plan_wrong_secret,
        rejects("accepted a signature made with an unknown secret: anyone can forge requests"),
        needs_signature,
    ),
    Check(
        "missing-signature",
        "4xx",
        "signature header removed",
        plan_missing_signature,
        rejects("accepted a request without a signature: verification is optional"),
        needs_signature,
    ),
    Check(
        "malformed-signature",
        "4xx",
        "signature header garbled",
        plan_malformed_signature,
        rejects("accepted a request whose signature cannot even be decoded"),
        needs_signature,
    ),
    Check(
        "other-message-id",
        "4xx",
        "signature made for another message id",
        plan_other_message_id,
        rejects(
            "accepted a signature made for another message id: a captured request can be "
            "replayed under fresh ids to get past dedup"
        ),
        needs_signed_id,
    ),
    Check(
        "key-rotation",
        "2xx",
        "an unknown key's signature, then a valid one",
        plan_rotation,
        accepts(
            "refused a request carrying a valid signature after an unknown one: only the first "
            "signature is read, which breaks when the provider rotates its key"
        ),
        needs_multi_signature,
    ),
    Check(
        "duplicate-delivery",
        "2xx, 2xx",
        "the same message delivered twice",
        plan_duplicate,
        judge_duplicate,
    ),
    Check(
        "duplicate-side-effect",
        "1 side effect",
        "the same message twice, counting side effects",
        plan_duplicate,
        judge_side_effect,
        needs_side_effects,
        counts_side_effects=True,
    ),
    Check(
        "oversized-body",
        "413 or 4xx",
        "a correctly signed body one byte over the limit",
        plan_oversized,
        judge_oversized,
        per_body=False,
    ),
)

CHECK_NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)


# -- results ------------------------------------------------------------------------------------


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


def aggregate(check: Check, cases: Sequence[CaseResult]) -> CheckResult:
    """One row per check: it fails if any body fails, and is n/a only if every body is."""
    applied = [c for c in cases if c.outcome != "n/a"]
    if not applied:
        why = "; ".join(dict.fromkeys(c.why for c in cases)) or "not applicable"
        return CheckResult(check.name, check.expected, "—", "n/a", why, tuple(cases), check.summary)
    failed = [c for c in applied if c.outcome == "fail"]
    several = len(cases) > 1
    if failed:
        first = failed[0]
        why = f"{first.body}: {first.why}" if several else first.why
        if several:
            why += f" ({len(failed)} of {len(cases)} bodies failed)"
        return CheckResult(
            check.name, check.expected, first.got, "fail", why, tuple(cases), check.summary
        )
    got = ", ".join(dict.fromkeys(c.got for c in applied))
    why = applied[0].why
    skipped = len(cases) - len(applied)
    if skipped:
        why += f" ({skipped} of {len(cases)} bodies not applicable)"
    return CheckResult(check.name, check.expected, got, "pass", why, tuple(cases), check.summary)


class ConformanceFailure(AssertionError):
    """A receiver failed checks it was expected to pass (or passed ones expected to fail)."""


@dataclass(frozen=True, slots=True)
class Report:
    target: str
    scheme: str
    results: tuple[CheckResult, ...]
    bodies: tuple[str, ...] = ("synthetic",)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "fail")

    @property
    def passed(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "pass")

    @property
    def not_applicable(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "n/a")

    def result(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(check)

    def summary(self) -> str:
        return (
            f"{len(self.passed)} passed, {len(self.failed)} failed, "
            f"{len(self.not_applicable)} not applicable ({self.scheme} at {self.target})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "scheme": self.scheme,
            "ok": self.ok,
            "summary": {
                "pass": len(self.passed),
                "fail": len(self.failed),
                "n/a": len(self.not_applicable),
            },
            "bodies": list(self.bodies),
            "checks": [r.as_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def table(self, *, only: Collection[str] | None = None) -> str:
        """A plain-text table (for assertion messages and logs); ``only`` picks checks."""
        rows = [
            (r.check, r.expected, r.got, r.outcome, r.why)
            for r in self.results
            if only is None or r.check in only
        ]
        return format_table(("check", "expected", "got", "result", "why"), rows)

    def assert_conformant(self, *, expect_failures: Collection[str] = ()) -> None:
        """Raise ``ConformanceFailure`` unless exactly ``expect_failures`` failed.

        Listing known gaps keeps a suite green while they exist and turns it red the day
        one is fixed or another appears, so the list stays true.
        """
        __tracebackhide__ = True  # pytest: the failure is the message, not this frame
        unknown = set(expect_failures) - set(CHECK_NAMES)
        if unknown:
            raise ValueError(f"unknown checks in expect_failures: {', '.join(sorted(unknown))}")
        unexpected = self.failed - set(expect_failures)
        missing = set(expect_failures) - self.failed
        if not unexpected and not missing:
            return
        lines = [self.summary()]
        if unexpected:
            lines += ["", "failed:", self.table(only=unexpected)]
        if missing:
            lines += ["", "expected to fail but did not:", self.table(only=missing)]
        raise ConformanceFailure("\n".join(lines))


def assert_conformant(report: Report, *, expect_failures: Collection[str] = ()) -> None:
    """Fail unless exactly ``expect_failures`` failed; the message is the table of rows."""
    __tracebackhide__ = True
    report.assert_conformant(expect_failures=expect_failures)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    widths[-1] = 0  # the last column (why) is not padded: it is free text
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)


# -- fixtures -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fixture:
    """A captured request in the layout ``hookyard export`` writes: NAME.body + NAME.json."""

    name: str
    body: bytes
    headers: Headers = ()
    source: str | None = None
    event_type: str | None = None

    def material(self) -> Material:
        return Material(self.name, self.body, self.headers)


def load_fixtures(directory: str | Path) -> list[Fixture]:
    """Every ``NAME.body`` in ``directory`` with its ``NAME.json`` (headers, source, …)."""
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"fixtures directory {root} does not exist or is not a directory")
    try:
        bodies = sorted(root.glob("*.body"))
    except OSError as exc:
        raise UsageError(f"cannot read fixtures directory {root}: {exc.strerror or exc}") from None
    if not bodies:
        raise UsageError(f"no NAME.body files in fixtures directory {root}")
    return [_load_fixture(path) for path in bodies]


def _load_fixture(body_path: Path) -> Fixture:
    meta_path = body_path.with_suffix(".json")
    try:
        body = body_path.read_bytes()
        meta: Any = json.loads(meta_path.read_bytes()) if meta_path.exists() else {}
    except OSError as exc:
        raise UsageError(f"cannot read fixture {body_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"fixture {meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"fixture {meta_path} must hold a JSON object")
    raw_headers = meta.get("headers", [])
    if not isinstance(raw_headers, list) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in raw_headers
    ):
        raise UsageError(f"fixture {meta_path}: headers must be a list of [name, value] pairs")
    source, event_type = meta.get("source"), meta.get("event_type")
    return Fixture(
        name=body_path.stem,
        body=body,
        headers=tuple((str(n), str(v)) for n, v in raw_headers),
        source=source if isinstance(source, str) else None,
        event_type=event_type if isinstance(event_type, str) else None,
    )


# -- the runner: I/O ------------------------------------------------------------------------------


def _id_source(profile: WireProfile, run: str) -> IdSource:
    """Fresh ids of the provider's shape, unique to this run."""
    counter = 0

    def fresh() -> str:
        nonlocal counter
        counter += 1
        seed = f"{run}/{counter}"
        if not profile.id_prefix:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        return f"{profile.id_prefix}hy{hashlib.sha256(seed.encode()).hexdigest()[:24]}"

    return fresh


class Unreachable(UsageError):
    """The receiver could not be reached at all: a usage problem, not a failed check."""


class _Runner:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        side_effect_url: str | None,
        settle_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.http = http
        self.side_effect_url = side_effect_url
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.reached = False

    async def send(self, probe: Probe) -> Answer:
        headers = [
            (n.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for n, v in probe.headers
        ]
        try:
            response = await self.http.post(probe.url, content=probe.body, headers=headers)
        except httpx.TimeoutException:
            return Answer(None, "timed out")
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            if not self.reached:
                # Nothing answered yet: a wrong URL or a receiver that is not running.
                reason = str(exc) or type(exc).__name__
                raise Unreachable(f"cannot reach {probe.url}: {reason}") from None
            return Answer(None, f"connection failed: {exc or type(exc).__name__}")
        except httpx.HTTPError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}".rstrip(": "))
        self.reached = True
        return Answer(response.status_code, excerpt=_response_excerpt(response))

    async def count(self) -> int:
        assert self.side_effect_url is not None
        response = await self.http.get(self.side_effect_url)
        if response.status_code != 200:
            raise ValueError(f"GET {self.side_effect_url} answered {response.status_code}")
        return parse_count(response.content)

    async def observe(self, probes: Sequence[Probe], *, count: bool) -> Observation:
        if not count:
            return Observation(tuple([await self.send(p) for p in probes]))
        answers: list[Answer] = []
        counts: list[int] = []
        try:
            counts.append(await self.count())
            for index, probe in enumerate(probes):
                answers.append(await self.send(probe))
                counts.append(await self._count_after(counts[-1], first=index == 0))
        except (httpx.HTTPError, ValueError) as exc:
            answers += [Answer(None, "not sent")] * (len(probes) - len(answers))
            return Observation(tuple(answers), count_error=str(exc) or type(exc).__name__)
        return Observation(tuple(answers), tuple(counts))

    async def _count_after(self, previous: int, *, first: bool) -> int:
        """After the first delivery, wait until the side effect shows (it may be async);
        after a repeat, wait the whole settle time, since nothing should show."""
        deadline = time.monotonic() + self.settle_seconds
        while True:
            current = await self.count()
            if (first and current > previous) or time.monotonic() >= deadline:
                return current
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    async def run_check(
        self, check: Check, target: Target, materials: Sequence[Material], ids: IdSource
    ) -> CheckResult:
        reason = check.applies(target)
        if reason is not None:
            return CheckResult(check.name, check.expected, "—", "n/a", reason, sends=check.summary)
        cases = []
        for material in materials if check.per_body else [SYNTHETIC]:
            try:
                probes = check.plan(target, material, ids, int(self.clock()))
            except NotApplicable as exc:
                cases.append(CaseResult(material.label, "n/a", "—", str(exc)))
                continue
            observation = await self.observe(probes, count=check.counts_side_effects)
            judgement = check.judge(target, observation)
            cases.append(
                CaseResult(material.label, judgement.outcome, judgement.got, judgement.why)
            )
        return aggregate(check, cases)


def parse_count(content: bytes) -> int:
    """A side-effect count: JSON ``{"count": N}`` or a bare integer."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict):
        value = value.get("count")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f'side-effect URL must return {{"count": N}} or an integer, got {content[:60]!r}'
        )
    return value


def _response_excerpt(response: httpx.Response) -> str:
    """The receiver's own reason, short: a JSON error message if it gives one, else text."""
    text = response.content[: _EXCERPT * 4].decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        parsed = json.loads(response.content) if len(response.content) < 65536 else None
        if isinstance(parsed, dict):
            for key in ("detail", "message", "reason", "error"):
                if isinstance(parsed.get(key), str) and parsed[key]:
                    text = parsed[key]
                    break
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def _check_url(url: str, what: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{what} must be an http:// or https:// URL, got {url[:80]!r}")


def check_secret(target: Target) -> None:
    """Refuse a key that cannot sign before any request is sent (a public key, say)."""
    if not target.profile.signed:
        return
    probe = signed(target, SYNTHETIC, "probe", int(time.time()))
    names = {n.lower() for n, _ in probe.headers}
    if not names & {h.lower() for h in target.profile.signature_headers}:
        raise UsageError(
            f"{target.profile.scheme} cannot sign with this key: give the secret (or private "
            "key) the sender signs with, not a public key"
        )


@contextlib.asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the checks, as a server would.

    Apps that do not speak lifespan raise on the scope or never answer startup; both
    are allowed by the ASGI spec, and then the checks simply run without it.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: Mapping[str, Any]) -> None:
        await outbox.put(dict(message))

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, receive, send))
    reply: dict[str, Any] | None = None
    try:
        await inbox.put({"type": "lifespan.startup"})
        reply = await _next_message(outbox, task)
        if reply is not None and reply["type"] == "lifespan.startup.failed":
            raise UsageError(f"the app failed to start: {reply.get('message', '')}")
        yield
        if reply is not None:
            await inbox.put({"type": "lifespan.shutdown"})
            await _next_message(outbox, task)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _next_message(
    outbox: asyncio.Queue[dict[str, Any]], task: asyncio.Future[None]
) -> dict[str, Any] | None:
    """The app's next lifespan message, or None when it ended without one (no lifespan)."""
    getter: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(outbox.get())
    waiting: set[asyncio.Future[Any]] = {getter, task}
    done, _ = await asyncio.wait(
        waiting, timeout=LIFESPAN_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    if getter in done:
        return getter.result()
    getter.cancel()
    if not done:
        raise UsageError(
            f"the app did not answer its lifespan events within {LIFESPAN_TIMEOUT_SECONDS:g}s; "
            "pass lifespan=False to skip them"
        )
    return None


@contextlib.asynccontextmanager
async def _client(
    target: str | ASGIApp,
    client: httpx.AsyncClient | None,
    request_timeout: float,
    lifespan: bool,
) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    headers = {"User-Agent": _USER_AGENT}
    if isinstance(target, str):
        async with httpx.AsyncClient(timeout=request_timeout, headers=headers) as http:
            yield http
        return
    # raise_app_exceptions=False: an app that crashes is a 500 for the report, as a real
    # server would answer, rather than an exception that aborts the whole battery.
    transport = httpx.ASGITransport(app=target, raise_app_exceptions=False)
    async with contextlib.AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(_lifespan(target))
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=transport,
                base_url=IN_PROCESS_BASE,
                timeout=request_timeout,
                headers=headers,
            )
        )
        yield http


def _select(checks: Collection[str] | None) -> tuple[Check, ...]:
    if checks is None:
        return CHECKS
    unknown = sorted(set(checks) - set(CHECK_NAMES))
    if unknown:
        raise UsageError(f"unknown check {unknown[0]!r}; known: {', '.join(CHECK_NAMES)}")
    return tuple(check for check in CHECKS if check.name in checks)


def _materials(fixtures: str | Path | Sequence[Fixture] | None) -> list[Material]:
    if fixtures is None:
        return [SYNTHETIC]
    loaded = load_fixtures(fixtures) if isinstance(fixtures, str | Path) else list(fixtures)
    if not loaded:
        raise UsageError("no fixtures given")
    return [fixture.material() for fixture in loaded]


def _resolve_url(target: str | ASGIApp, path: str, client: httpx.AsyncClient | None) -> str:
    if not isinstance(target, str):
        return IN_PROCESS_BASE + "/" + path.lstrip("/")
    if client is not None and not urllib.parse.urlsplit(target).scheme:
        return str(client.base_url.join(target))
    return target


async def run_conformance(
    target: str | ASGIApp,
    scheme: str | Scheme,
    secret: str,
    *,
    options: Mapping[str, Any] | None = None,
    path: str = "/",
    client: httpx.AsyncClient | None = None,
    side_effect_url: str | None = None,
    fixtures: str | Path | Sequence[Fixture] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    request_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    checks: Collection[str] | None = None,
    lifespan: bool = True,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Run the battery against a receiver and return the report; never raises on a failed check.

    ``target`` is the receiver's URL, or an ASGI app called in-process (then ``path`` is
    the webhook route, and a relative ``side_effect_url`` is resolved against the app).
    Pass ``client`` to send through a client (and transport) of your own.
    ``side_effect_url`` answers GET with the number of side effects so far, as
    ``{"count": N}`` or a bare integer. Raises ``UsageError``/``SchemeError`` for a bad
    scheme, key, URL or fixtures directory, and when the receiver cannot be reached.
    """
    if client is not None and not isinstance(target, str):
        raise UsageError("give an ASGI app or client=, not both: the client decides the transport")
    resolved = resolve(scheme, options)
    profile = wire_profile(resolved)
    url = _resolve_url(target, path, client)
    if client is None:
        _check_url(url, "the receiver URL")
    if max_body_bytes < 1:
        raise UsageError("max_body_bytes must be at least 1")
    selected = _select(checks)
    materials = _materials(fixtures)
    effects = None
    if side_effect_url is not None:
        effects = urllib.parse.urljoin(url, side_effect_url)
        _check_url(effects, "the side-effect URL")
    base = Target(
        url=url,
        scheme=resolved,
        profile=profile,
        secret=secret,
        wrong_secret=wrong_secret(profile.scheme, secret) if profile.signed else "",
        max_body_bytes=max_body_bytes,
        side_effects=effects is not None,
    )
    check_secret(base)
    ids = _id_source(profile, uuid.uuid4().hex)
    results: list[CheckResult] = []
    async with _client(target, client, request_timeout, lifespan) as http:
        runner = _Runner(http, side_effect_url=effects, settle_seconds=settle_seconds, clock=clock)
        for check in selected:
            results.append(await runner.run_check(check, base, materials, ids))
    return Report(
        target=url,
        scheme=profile.scheme,
        results=tuple(results),
        bodies=tuple(m.label for m in materials),
    )


def run_conformance_sync(
    target: str | ASGIApp, scheme: str | Scheme, secret: str, **kwargs: Any
) -> Report:
    """``run_conformance`` for synchronous code; in async code, await ``run_conformance``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_conformance(target, scheme, secret, **kwargs))
    raise RuntimeError(
        "run_conformance_sync was called inside a running event loop; "
        "await run_conformance(...) instead"
    )


__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_MAX_BODY_BYTES",
    "CaseResult",
    "Check",
    "CheckResult",
    "ConformanceFailure",
    "Fixture",
    "Report",
    "assert_conformant",
    "load_fixtures",
    "run_conformance",
    "run_conformance_sync",
]

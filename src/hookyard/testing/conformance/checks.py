"""The checks, pure: each *plans* the requests it sends and *judges* what came back.

A plan is built from the target, a body, a source of fresh message ids and the current
time; a judgement from the answers (and side-effect counts) the runner observed.
Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookyard.testing.conformance.model import (
    SYNTHETIC,
    Answer,
    CaseResult,
    Check,
    CheckResult,
    IdSource,
    Judge,
    Judgement,
    Material,
    NotApplicable,
    Observation,
    Probe,
    Target,
)
from hookyard.testing.signing import (
    Headers,
    SignedRequest,
    combine_signatures,
    malform,
    sign_request,
    synthetic_body,
    tamper,
    with_event_id,
    without_owned_headers,
)

#: How far off the clock the stale and future checks sign: twice the usual 5-minute window.
SKEW_SECONDS = 600


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

"""The battery's pure half: what each check sends, when it applies, how it judges."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from hookyard.exceptions import UsageError
from hookyard.signatures import SignedMessage, create_scheme
from hookyard.testing.conformance import (
    CHECK_NAMES,
    CHECKS,
    SKEW_SECONDS,
    SYNTHETIC,
    Answer,
    CaseResult,
    Check,
    CheckResult,
    ConformanceFailure,
    Material,
    NotApplicable,
    Observation,
    Report,
    Target,
    aggregate,
    judge_duplicate,
    judge_oversized,
    judge_side_effect,
    load_fixtures,
    parse_count,
    rejects,
)
from hookyard.testing.conformance.runner import message_ids
from hookyard.testing.signing import wire_profile, wrong_secret
from support.conformance_keys import KEYS, SIGNED_SCHEMES, TIMESTAMPED, options_for, require_scheme
from support.exports import write_export

URL = "http://127.0.0.1:8000/in/source"
BY_NAME = {check.name: check for check in CHECKS}


def target_for(name: str, *, side_effects: bool = False, max_body_bytes: int = 4096) -> Target:
    require_scheme(name)
    scheme = create_scheme(name, options_for(name))
    secret = KEYS[name].signing
    return Target(
        url=URL,
        scheme=scheme,
        profile=wire_profile(scheme),
        secret=secret,
        wrong_secret=wrong_secret(name, secret),
        max_body_bytes=max_body_bytes,
        side_effects=side_effects,
    )


def fresh_ids(prefix: str = "evt_") -> object:
    counter = itertools.count()
    return lambda: f"{prefix}{next(counter)}"


def verify(target: Target, headers: tuple[tuple[str, str], ...], body: bytes, url: str) -> str:
    message = SignedMessage.from_text_headers(list(headers), body, url)
    verdict = target.scheme.verify(
        message, [KEYS[target.profile.scheme].verifying], now=time.time()
    )
    return verdict.status


# What hookyard's own verifier must say about each check's requests: the battery's
# attacks are attacks, and its positives are genuinely valid.
SIGNATURE_VERDICT = {
    "valid-signature": "valid",
    "stale-timestamp": "invalid",
    "future-timestamp": "invalid",
    "tampered-body": "invalid",
    "wrong-secret": "invalid",
    "missing-signature": "invalid",
    "malformed-signature": "invalid",
    "other-message-id": "invalid",
    "key-rotation": "valid",
    "duplicate-delivery": "valid",
    "duplicate-side-effect": "valid",
    "oversized-body": "valid",
}


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_planned_requests_get_the_intended_verdict(name: str) -> None:
    target = target_for(name, side_effects=True)
    id_source = message_ids(target.profile, "run")
    verdicts = {}
    for check in CHECKS:
        if check.applies(target) is not None:
            continue
        probes = check.plan(target, SYNTHETIC, id_source, int(time.time()))
        assert probes
        verdicts[check.name] = {verify(target, p.headers, p.body, p.url) for p in probes}
    assert verdicts == {check: {SIGNATURE_VERDICT[check]} for check in verdicts}
    assert "valid-signature" in verdicts


def test_stale_and_future_are_signed_off_by_the_skew() -> None:
    target = target_for("standard-webhooks")
    now = 1_700_000_000
    stale = BY_NAME["stale-timestamp"].plan(target, SYNTHETIC, fresh_ids(), now)  # type: ignore[arg-type]
    future = BY_NAME["future-timestamp"].plan(target, SYNTHETIC, fresh_ids(), now)  # type: ignore[arg-type]
    assert dict(stale[0].headers)["webhook-timestamp"] == str(now - SKEW_SECONDS)
    assert dict(future[0].headers)["webhook-timestamp"] == str(now + SKEW_SECONDS)


def test_missing_signature_removes_every_signature_header() -> None:
    target = target_for("github")
    (probe,) = BY_NAME["missing-signature"].plan(target, SYNTHETIC, fresh_ids(), 0)  # type: ignore[arg-type]
    names = {n.lower() for n, _ in probe.headers}
    assert "x-hub-signature-256" not in names
    assert "x-hub-signature" not in names  # the SHA-1 fallback would otherwise remain
    assert "x-github-delivery" in names


def test_duplicate_sends_the_same_request_twice() -> None:
    target = target_for("stripe")
    first, second = BY_NAME["duplicate-delivery"].plan(target, SYNTHETIC, fresh_ids(), 0)  # type: ignore[arg-type]
    assert first == second


def test_oversized_body_is_one_byte_over_and_validly_signed() -> None:
    target = target_for("stripe", max_body_bytes=10_000)
    (probe,) = BY_NAME["oversized-body"].plan(target, SYNTHETIC, fresh_ids(), int(time.time()))  # type: ignore[arg-type]
    assert len(probe.body) == 10_001
    assert verify(target, probe.headers, probe.body, probe.url) == "valid"


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_every_check_uses_fresh_message_ids(name: str) -> None:
    """Across a whole battery no two checks share a message id; only the duplicate checks
    send the same one twice, on purpose."""
    target = target_for(name, side_effects=True)
    id_source = message_ids(target.profile, "run")
    seen: dict[str, str] = {}
    for check in CHECKS:
        if check.applies(target) is not None:
            continue
        for probe in check.plan(target, SYNTHETIC, id_source, int(time.time())):
            message = SignedMessage.from_text_headers(list(probe.headers), probe.body, probe.url)
            event_id = target.scheme.event_id(message)
            if event_id is None:
                continue
            assert seen.setdefault(event_id, check.name) == check.name, event_id


def test_id_source_shapes() -> None:
    stripe = message_ids(wire_profile(create_scheme("stripe")), "r1")
    assert stripe().startswith("evt_hy")
    assert stripe() != stripe()
    github = message_ids(wire_profile(create_scheme("github")), "r1")
    assert len(github()) == 36  # a UUID, as GitHub sends
    assert (
        message_ids(wire_profile(create_scheme("stripe")), "r2")()
        != message_ids(wire_profile(create_scheme("stripe")), "r1")()
    )


# -- applicability -----------------------------------------------------------------------------

RELIES_ON_TIMESTAMP = {"stale-timestamp", "future-timestamp"}


@pytest.mark.parametrize("name", SIGNED_SCHEMES)
def test_not_applicable_checks_per_scheme(name: str) -> None:
    target = target_for(name, side_effects=True)
    na = {c.name for c in CHECKS if c.applies(target) is not None}
    expected: set[str] = set()
    if name not in TIMESTAMPED and name != "hmac":
        expected |= RELIES_ON_TIMESTAMP
    if name in ("github", "shopify", "twilio"):
        expected.add("other-message-id")
    if name not in ("standard-webhooks", "stripe", "paddle"):
        expected.add("key-rotation")
    assert na == expected


def test_side_effect_check_needs_a_url() -> None:
    target = target_for("stripe", side_effects=False)
    assert BY_NAME["duplicate-side-effect"].applies(target) == "no side-effect URL given"


def test_unsigned_source_runs_only_what_applies() -> None:
    scheme = create_scheme("none")
    target = Target(URL, scheme, wire_profile(scheme), "", "", side_effects=True)
    applicable = {c.name for c in CHECKS if c.applies(target) is None}
    assert applicable == {"valid-signature", "duplicate-delivery", "oversized-body"}


def test_captured_body_without_an_id_is_not_applicable() -> None:
    target = target_for("stripe")
    material = Material("no-id", b'{"object": "event"}', ())
    with pytest.raises(NotApplicable, match="no event id"):
        BY_NAME["valid-signature"].plan(target, material, fresh_ids(), 0)  # type: ignore[arg-type]


def test_captured_headers_are_kept_and_the_signature_replaced() -> None:
    target = target_for("stripe")
    material = Material(
        "cap",
        b'{"id": "evt_captured", "type": "charge.succeeded"}',
        (("Content-Type", "application/json; charset=utf-8"), ("Stripe-Signature", "t=1,v1=00")),
    )
    (probe,) = BY_NAME["valid-signature"].plan(target, material, fresh_ids(), int(time.time()))  # type: ignore[arg-type]
    headers = dict(probe.headers)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Stripe-Signature"] != "t=1,v1=00"
    assert json.loads(probe.body)["id"] == "evt_0"
    assert verify(target, probe.headers, probe.body, probe.url) == "valid"


# -- judges --------------------------------------------------------------------------------------


def observe(*statuses: int | None, counts: tuple[int, ...] = ()) -> Observation:
    answers = tuple(Answer(s, None if s else "refused") for s in statuses)
    return Observation(answers, counts)


TARGET = Target(URL, create_scheme("none"), wire_profile(create_scheme("none")), "", "")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (401, "pass"),
        (400, "pass"),
        (413, "pass"),
        (200, "fail"),
        (202, "fail"),
        (500, "fail"),
        (503, "fail"),
        (302, "fail"),
        (None, "fail"),
    ],
)
def test_rejecting_checks(status: int | None, outcome: str) -> None:
    judgement = rejects("hint")(TARGET, observe(status))
    assert judgement.outcome == outcome
    if status in (200, 202):
        assert judgement.why == "hint"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "pass"), (202, "pass"), (204, "pass"), (401, "fail"), (500, "fail"), (None, "fail")],
)
def test_accepting_checks(status: int | None, outcome: str) -> None:
    assert BY_NAME["valid-signature"].judge(TARGET, observe(status)).outcome == outcome


def test_a_server_error_is_never_a_refusal() -> None:
    judgement = rejects("hint")(TARGET, Observation((Answer(500, excerpt="Traceback"),)))
    assert judgement.outcome == "fail"
    assert "server error" in judgement.why
    assert "Traceback" in judgement.why


@pytest.mark.parametrize(
    ("statuses", "outcome", "why"),
    [
        ((202, 200), "pass", "both deliveries acknowledged"),
        ((200, 200), "pass", "both deliveries acknowledged"),
        ((202, 409), "fail", "must be acknowledged"),
        ((401, 401), "fail", "first delivery was refused"),
        ((202, 500), "fail", "repeat: server error"),
    ],
)
def test_duplicate_judge(statuses: tuple[int, int], outcome: str, why: str) -> None:
    judgement = judge_duplicate(TARGET, observe(*statuses))
    assert judgement.outcome == outcome
    assert why in judgement.why
    assert judgement.got == f"{statuses[0]}, {statuses[1]}"


@pytest.mark.parametrize(
    ("counts", "outcome", "why"),
    [
        ((3, 4, 4), "pass", "one side effect"),
        ((3, 4, 5), "fail", "second side effect"),
        ((3, 3, 3), "fail", "no side effect"),
    ],
)
def test_side_effect_judge(counts: tuple[int, int, int], outcome: str, why: str) -> None:
    judgement = judge_side_effect(TARGET, observe(202, 200, counts=counts))
    assert judgement.outcome == outcome
    assert why in judgement.why
    assert judgement.got == f"count {counts[0]}→{counts[1]}→{counts[2]}"


def test_side_effect_judge_reports_a_broken_counter() -> None:
    observation = Observation((Answer(202), Answer(200)), count_error="GET /count answered 404")
    judgement = judge_side_effect(TARGET, observation)
    assert judgement.outcome == "fail"
    assert "404" in judgement.why


def test_side_effect_judge_needs_acknowledged_deliveries() -> None:
    judgement = judge_side_effect(TARGET, observe(401, 401, counts=(0, 0, 0)))
    assert judgement.outcome == "fail"


@pytest.mark.parametrize(
    ("status", "outcome", "got"),
    [(413, "pass", "413"), (400, "pass", "400"), (202, "fail", "202"), (500, "fail", "500")],
)
def test_oversized_judge(status: int, outcome: str, got: str) -> None:
    judgement = judge_oversized(TARGET, observe(status))
    assert (judgement.outcome, judgement.got) == (outcome, got)


@pytest.mark.parametrize(("text", "count"), [(b'{"count": 3}', 3), (b"7", 7), (b"0\n", 0)])
def test_parse_count(text: bytes, count: int) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize("text", [b"", b"{}", b'{"count": "3"}', b"true", b"<html>"])
def test_parse_count_refuses_anything_else(text: bytes) -> None:
    with pytest.raises(ValueError, match="count"):
        parse_count(text)


# -- aggregation and the report ------------------------------------------------------------------

CHECK = Check("valid-signature", "2xx", "", lambda *a: (), lambda *a: None)  # type: ignore[arg-type]


def test_aggregate_fails_if_any_body_fails() -> None:
    result = aggregate(
        CHECK,
        [
            CaseResult("a", "pass", "202", "accepted"),
            CaseResult("b", "fail", "401", "refused"),
            CaseResult("c", "n/a", "—", "no id"),
        ],
    )
    assert (result.outcome, result.got) == ("fail", "401")
    assert result.why == "b: refused (1 of 3 bodies failed)"


def test_aggregate_passes_and_mentions_skipped_bodies() -> None:
    result = aggregate(
        CHECK,
        [CaseResult("a", "pass", "202", "accepted"), CaseResult("b", "n/a", "—", "no id")],
    )
    assert result.outcome == "pass"
    assert "1 of 2 bodies not applicable" in result.why


def test_aggregate_all_not_applicable() -> None:
    result = aggregate(CHECK, [CaseResult("a", "n/a", "—", "no id")])
    assert (result.outcome, result.why) == ("n/a", "no id")


def make_report(**outcomes: str) -> Report:
    results = tuple(
        CheckResult(name, "x", "y", outcomes.get(name.replace("-", "_"), "pass"), f"why {name}")  # type: ignore[arg-type]
        for name in CHECK_NAMES
    )
    return Report("http://r", "stripe", results)


def test_report_sets_and_json() -> None:
    report = make_report(stale_timestamp="fail", key_rotation="n/a")
    assert not report.ok
    assert report.failed == {"stale-timestamp"}
    assert report.not_applicable == {"key-rotation"}
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert data["summary"] == {"pass": 10, "fail": 1, "n/a": 1}
    assert [c["check"] for c in data["checks"]] == list(CHECK_NAMES)
    assert report.result("key-rotation").outcome == "n/a"


def test_assert_conformant_shows_the_failed_checks() -> None:
    report = make_report(stale_timestamp="fail")
    with pytest.raises(ConformanceFailure) as raised:
        report.assert_conformant()
    message = str(raised.value)
    assert "stale-timestamp" in message
    assert "why stale-timestamp" in message
    assert "valid-signature" not in message


def test_assert_conformant_with_expected_failures() -> None:
    report = make_report(stale_timestamp="fail", future_timestamp="fail")
    report.assert_conformant(expect_failures={"stale-timestamp", "future-timestamp"})
    with pytest.raises(ConformanceFailure, match="expected to fail but did not"):
        report.assert_conformant(
            expect_failures={"stale-timestamp", "future-timestamp", "wrong-secret"}
        )
    with pytest.raises(ValueError, match="unknown checks"):
        report.assert_conformant(expect_failures={"stale"})


def test_conformance_failure_is_an_assertion_error() -> None:
    assert issubclass(ConformanceFailure, AssertionError)


# -- fixtures ------------------------------------------------------------------------------------


def test_load_fixtures_reads_the_export_layout(tmp_path: Path) -> None:
    write_export(
        tmp_path,
        "b-second",
        b'{"id": "evt_2"}',
        {
            "headers": [["Content-Type", "application/json"]],
            "source": "stripe",
            "event_type": "charge.succeeded",
            "verdict": "valid",
            "received_at": "2026-01-01",
        },
    )
    write_export(tmp_path, "a-first", b"\x00raw", {"headers": []})
    fixtures = load_fixtures(tmp_path)
    assert [f.name for f in fixtures] == ["a-first", "b-second"]
    assert fixtures[0].body == b"\x00raw"
    assert fixtures[1].headers == (("Content-Type", "application/json"),)
    assert (fixtures[1].source, fixtures[1].event_type) == ("stripe", "charge.succeeded")


def test_a_body_without_metadata_is_still_a_fixture(tmp_path: Path) -> None:
    (tmp_path / "lonely.body").write_bytes(b"{}")
    assert load_fixtures(tmp_path)[0].headers == ()


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"headers": [["a"]]}', "name, value"),
        ('{"headers": "Content-Type: x"}', "name, value"),
    ],
)
def test_bad_fixture_metadata_is_a_usage_error(tmp_path: Path, meta: str, message: str) -> None:
    (tmp_path / "x.body").write_bytes(b"{}")
    (tmp_path / "x.json").write_text(meta)
    with pytest.raises(UsageError, match=message):
        load_fixtures(tmp_path)


def test_empty_fixtures_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no NAME\.body files"):
        load_fixtures(tmp_path)


def test_missing_fixtures_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_fixtures(tmp_path / "nope")

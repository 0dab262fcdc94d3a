"""The discrepancy report: what counts as compared, as discrepant, and what comes first."""

from __future__ import annotations

from hookyard.mirror.records import MirrorCopyRecord, MirrorPair
from hookyard.mirror.report import body_difference, build_report, ignore_rules


def pair(
    event_id: str,
    staging: int | None,
    production: int | None,
    *,
    event_type: str = "order.paid",
    status: str | None = "delivered",
    reason: str | None = None,
    error: str | None = None,
    staging_body: bytes = b"",
    production_body: bytes = b"",
) -> MirrorPair:
    copy = MirrorCopyRecord(
        "staging",
        event_id,
        "shop",
        event_type,
        0,
        0,
        reason=reason,
        status_code=staging,
        error_class=error,
        response_headers=(("content-type", "application/json"),),
        response_excerpt=staging_body,
    )
    return MirrorPair(
        copy,
        production_status=status,
        production_code=production,
        production_headers=(("content-type", "application/json"),),
        production_excerpt=production_body,
    )


def test_counts_rate_and_regressions_first() -> None:
    pairs = [
        *(pair(f"ok{i}", 200, 200) for i in range(6)),
        *(pair(f"bad{i}", 500, 200, event_type="order.refunded") for i in range(4)),
        pair("both", 500, 500),  # both failed: they agree
        pair("fixed", 200, 500),  # staging succeeds where production failed: differs
        pair("down", None, 200, error="ConnectError"),
        pair("later", 200, None, status="retrying"),  # production not settled yet
        pair("skip", None, None, reason="sampled_out"),
        pair("slow", None, None, reason="rate_limited"),
    ]
    report = build_report("staging", "app", 0, pairs)
    assert (report.logged, report.sent, report.compared) == (16, 14, 13)
    assert report.not_sent == {"sampled_out": 1, "rate_limited": 1}
    assert report.awaiting_production == 1
    assert report.discrepancies == 6 and abs(report.rate - 6 / 13) < 1e-9
    first = report.groups[0]
    assert (first.event_type, first.production, first.staging, first.count) == (
        "order.refunded",
        "200",
        "500",
        4,
    )
    assert first.regression and first.examples == ("bad0", "bad1", "bad2")
    labels = [(g.production, g.staging, g.discrepant) for g in report.groups]
    assert ("200", "error:ConnectError", True) in labels[:3]  # the other regression-like rows
    assert ("500", "200", True) in labels and ("500", "500", False) in labels
    assert labels[-1][2] is False  # agreeing groups last


def test_without_compare_with_staging_is_judged_by_success() -> None:
    report = build_report(
        "staging", None, 0, [pair("a", 200, None, status=None), pair("b", 503, None, status=None)]
    )
    assert report.compared == 2 and report.discrepancies == 1
    assert {g.production for g in report.groups} == {"n/a"}


def test_an_event_production_never_had_is_labelled_none() -> None:
    report = build_report("staging", "app", 0, [pair("a", 200, None, status=None)])
    assert report.groups[0].production == "none" and report.discrepancies == 1


def test_ignore_splits_headers_and_json_paths() -> None:
    headers, pointers = ignore_rules(["Date", "data.created_at", "/meta/trace"])
    assert headers == {"date"}
    assert pointers == ("/Date", "/data/created_at", "/meta/trace")


def test_body_difference_leaves_out_ignored_paths() -> None:
    same = pair(
        "a",
        200,
        200,
        staging_body=b'{"ok": true, "data": {"created_at": 2, "id": 1}}',
        production_body=b'{"ok": true, "data": {"created_at": 1, "id": 1}}',
    )
    assert body_difference(same, ["data.created_at"]) is None
    found = body_difference(same, [])
    assert found is not None and [c.path for c in found.diff.body.changes] == ["/data/created_at"]
    report = build_report("staging", "app", 0, [same], body_differences=[found])
    assert report.discrepancies == 1 and report.groups[0].discrepant

"""Where staging disagrees with production: pure functions over logged pairs.

A pair is *compared* when the copy was sent and both sides have an answer (production's
is the ``compare_with`` destination's original dispatch as it stands now, so a later
production retry counts). It is *discrepant* when one side succeeded (2xx) and the other
did not; with body comparison also when the answers' bodies differ structurally, leaving
out ``ignore`` (header names and JSON paths). Without ``compare_with`` staging is
compared with success itself. Groups where production answered 2xx and staging 4xx/5xx
come first: those are the regressions a deploy must not ship.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hookyard.inspect.diff import DiffSide, EventDiff, diff_events
from hookyard.inspect.sanitize import pointer_token
from hookyard.mirror.records import MirrorPair

EXAMPLES = 3
#: Production dispatch states that mean "not answered for good yet".
_UNSETTLED = frozenset({"pending", "in_flight", "retrying"})


@dataclass(frozen=True, slots=True)
class Group:
    source: str
    event_type: str | None
    production: str
    staging: str
    count: int
    discrepant: bool
    examples: tuple[str, ...]

    @property
    def regression(self) -> bool:
        return self.production.startswith("2") and self.staging[:1] in ("4", "5")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "event_type": self.event_type,
            "production": self.production,
            "staging": self.staging,
            "count": self.count,
            "discrepant": self.discrepant,
            "regression": self.regression,
            "examples": list(self.examples),
        }


@dataclass(frozen=True, slots=True)
class BodyDifference:
    event_id: str
    diff: EventDiff

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "diff": self.diff.to_dict()}


@dataclass(frozen=True, slots=True)
class Report:
    mirror: str
    compare_with: str | None
    since_us: int
    logged: int
    sent: int
    not_sent: dict[str, int]
    #: Sent copies whose production answer is still pending (left out of the rate).
    awaiting_production: int
    compared: int
    discrepancies: int
    groups: tuple[Group, ...]
    body_differences: tuple[BodyDifference, ...] = field(default=())

    @property
    def rate(self) -> float:
        return self.discrepancies / self.compared if self.compared else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mirror": self.mirror,
            "compare_with": self.compare_with,
            "since_us": self.since_us,
            "logged": self.logged,
            "sent": self.sent,
            "not_sent": dict(sorted(self.not_sent.items())),
            "awaiting_production": self.awaiting_production,
            "compared": self.compared,
            "discrepancies": self.discrepancies,
            "discrepancy_rate": self.rate,
            "groups": [group.as_dict() for group in self.groups],
            "body_differences": [d.as_dict() for d in self.body_differences],
        }


def staging_label(pair: MirrorPair) -> str:
    copy = pair.copy
    if copy.status_code is not None:
        return str(copy.status_code)
    return f"error:{copy.error_class}" if copy.error_class else "error"


def production_label(pair: MirrorPair, compare_with: str | None) -> str | None:
    """Production's answer as a label, or None while it is not settled."""
    if compare_with is None:
        return "n/a"
    if pair.production_status is None:
        return "none"  # production never had this event (not routed there)
    if pair.production_code is not None and pair.production_status not in _UNSETTLED:
        return str(pair.production_code)
    if pair.production_status in _UNSETTLED:
        return None
    return pair.production_status  # dead or disabled without an answer, dry_run


def _success(label: str) -> bool:
    return label.startswith("2")


def statuses_disagree(production: str, staging: str) -> bool:
    if production == "n/a":
        return not _success(staging)
    return _success(production) != _success(staging)


def build_report(
    mirror: str,
    compare_with: str | None,
    since_us: int,
    pairs: Iterable[MirrorPair],
    *,
    body_differences: Sequence[BodyDifference] = (),
) -> Report:
    counted: Counter[tuple[str, str | None, str, str]] = Counter()
    examples: dict[tuple[str, str | None, str, str], list[str]] = {}
    not_sent: Counter[str] = Counter()
    differing = {d.event_id for d in body_differences}
    logged = sent = awaiting = compared = discrepancies = 0
    flagged: set[tuple[str, str | None, str, str]] = set()
    for pair in pairs:
        logged += 1
        copy = pair.copy
        if copy.reason is not None:
            not_sent[copy.reason] += 1
            continue
        sent += 1
        production = production_label(pair, compare_with)
        if production is None:
            awaiting += 1
            continue
        staging = staging_label(pair)
        key = (copy.source, copy.event_type, production, staging)
        counted[key] += 1
        compared += 1
        disagree = statuses_disagree(production, staging) or copy.event_id in differing
        if disagree:
            discrepancies += 1
            flagged.add(key)
        seen = examples.setdefault(key, [])
        if len(seen) < EXAMPLES and (disagree or key not in flagged):
            seen.append(copy.event_id)
    groups = [
        Group(*key, count=count, discrepant=key in flagged, examples=tuple(examples[key]))
        for key, count in counted.items()
    ]
    groups.sort(key=lambda g: (not g.regression, not g.discrepant, -g.count, g.source, g.staging))
    return Report(
        mirror=mirror,
        compare_with=compare_with,
        since_us=since_us,
        logged=logged,
        sent=sent,
        not_sent=dict(not_sent),
        awaiting_production=awaiting,
        compared=compared,
        discrepancies=discrepancies,
        groups=tuple(groups),
        body_differences=tuple(body_differences),
    )


def ignore_rules(ignore: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """``ignore`` split into header names (no dot, no slash) and JSON pointers (dotted
    paths, or pointers as written)."""
    headers: set[str] = set()
    pointers: list[str] = []
    for entry in ignore:
        if entry.startswith("/"):
            pointers.append(entry)
        elif "." in entry:
            pointers.append("/" + "/".join(pointer_token(p) for p in entry.split(".")))
        else:
            headers.add(entry.lower())
            pointers.append("/" + pointer_token(entry))  # a top-level member of that name
    return frozenset(headers), tuple(pointers)


def _under(path: str, pointers: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in pointers)


def body_difference(pair: MirrorPair, ignore: Sequence[str]) -> BodyDifference | None:
    """The answers' difference that counts, or None when they agree (after ``ignore``)."""
    headers, pointers = ignore_rules(ignore)
    production = _side(pair.production_headers, pair.production_excerpt)
    staging = _side(pair.copy.response_headers, pair.copy.response_excerpt)
    diff = diff_events(production, staging)
    kept_headers = tuple(h for h in diff.headers if not h.volatile and h.name not in headers)
    kept_changes = tuple(c for c in diff.body.changes if not _under(c.path, pointers))
    body = diff.body
    if body.mode == "json":
        body = dataclasses.replace(body, changes=kept_changes)
    trimmed = EventDiff(kept_headers, body, diff.content_type_a, diff.content_type_b)
    return None if trimmed.is_empty else BodyDifference(pair.copy.event_id, trimmed)


def _side(headers: tuple[tuple[str, str], ...], excerpt: bytes) -> DiffSide:
    raw = tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers)
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    return DiffSide(raw, excerpt, content_type)

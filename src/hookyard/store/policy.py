"""Pure decisions every backend shares: a new event's status, repeats inside one batch,
replay counters, which events a purge may take."""

from __future__ import annotations

from collections.abc import Sequence

from hookyard.models import PurgeSelector, ReplayResult, Submission, WriteResult

#: Dispatch statuses that still have work to do: an event with one is never purged. The
#: SQL backends restate this list in ``sql/*/retention.sql``.
ACTIVE_DISPATCH_STATUSES = frozenset({"pending", "retrying", "in_flight", "disabled"})


def initial_status(submission: Submission) -> str:
    """A new event's status: rejected (bad signature), pending (routed) or stored."""
    if submission.verdict.status == "invalid":
        return "rejected"
    return "pending" if submission.destinations else "stored"


def group_duplicates_in_batch(
    batch: Sequence[Submission],
) -> tuple[list[Submission], dict[str, str]]:
    """Collapse repeats of one dedup key inside a batch onto the first submission.

    Returns the submissions to write and, for each collapsed one, the id of the
    submission it repeats.
    """
    first_by_key: dict[tuple[str, str], Submission] = {}
    leaders: list[Submission] = []
    follower_of: dict[str, str] = {}
    for sub in batch:
        key = sub.dedup_key
        if key is None:
            leaders.append(sub)
            continue
        lookup = (sub.request.source, key)
        leader = first_by_key.get(lookup)
        if leader is None:
            first_by_key[lookup] = sub
            leaders.append(sub)
        else:
            follower_of[sub.request.id] = leader.request.id
    return leaders, follower_of


def resolve_followers(
    batch: Sequence[Submission], leader_results: dict[str, WriteResult], follower_of: dict[str, str]
) -> list[WriteResult]:
    """Results in batch order; a follower is a duplicate of whatever its leader's event is."""
    results = []
    for sub in batch:
        rid = sub.request.id
        if rid in follower_of:
            leader = leader_results[follower_of[rid]]
            results.append(WriteResult(id=rid, duplicate_of=leader.duplicate_of or leader.id))
        else:
            results.append(leader_results[rid])
    return results


def follower_counts(follower_of: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for leader in follower_of.values():
        counts[leader] = counts.get(leader, 0) + 1
    return counts


def replay_counts(results: Sequence[ReplayResult], missing: int = 0) -> tuple[int, int, int]:
    """(delivered, failed, skipped) of a group of results; a dry run counts as skipped."""
    delivered = sum(1 for r in results if r.status == "delivered")
    failed = sum(1 for r in results if r.status == "failed") + missing
    return delivered, failed, len(results) + missing - delivered - failed


def selects_source(selector: PurgeSelector, source: str) -> bool:
    if selector.sources is not None and source not in selector.sources:
        return False
    return source not in selector.excluded


def purgeable(selector: PurgeSelector, dispatch_statuses: Sequence[str]) -> bool:
    """Whether an event whose dispatches have these statuses may go in this pass: nothing
    left to deliver, and a dead letter only in a pass for dead letters (and vice versa)."""
    if any(s in ACTIVE_DISPATCH_STATUSES for s in dispatch_statuses):
        return False
    return ("dead" in dispatch_statuses) == selector.dead

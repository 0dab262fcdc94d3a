"""The mirror log over the in-memory tables, with the SQL backends' conditions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hookyard.keyring import Keyring
from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor, MirrorLaneState, MirrorPair
from hookyard.models import DeliveryEvent
from hookyard.store.memory.tables import Tables, replay_payload
from hookyard.store.mirror_rows import add_counts


def candidates(
    t: Tables,
    *,
    sources: Sequence[str],
    after: MirrorCursor | None,
    until_us: int,
    limit: int,
    keyring: Keyring,
) -> list[DeliveryEvent]:
    wanted = set(sources)
    found = []
    for row in t.events.values():
        request = row.submission.request
        position = MirrorCursor(request.received_us, request.id)
        if (
            request.source in wanted
            and row.submission.verdict.status != "invalid"
            and request.received_us <= until_us
            and (after is None or position > after)
        ):
            found.append((position, row))
    found.sort(key=lambda pair: pair[0])
    return [replay_payload(row, keyring) for _, row in found[:limit]]


def record(
    t: Tables,
    mirror: str,
    copies: Sequence[MirrorCopyRecord],
    cursor: MirrorCursor | None,
    now_us: int,
    lag_us: int | None,
) -> None:
    for copy in copies:
        t.mirror_log[(mirror, copy.event_id)] = copy
    lane = t.mirror_lanes.get(mirror) or MirrorLaneState(mirror, None, now_us)
    counts = dict(lane.counts)
    add_counts(counts, copies)
    moved = lane.cursor
    if cursor is not None and (moved is None or cursor > moved):
        moved = cursor
    t.mirror_lanes[mirror] = dataclasses.replace(
        lane,
        cursor=moved,
        updated_us=now_us,
        counts=counts,
        lag_us=lane.lag_us if lag_us is None else lag_us,
    )


def pairs(
    t: Tables,
    mirror: str,
    *,
    compare_with: str | None,
    since_us: int,
    source: str | None,
    event_ids: Sequence[str] | None,
    with_bodies: bool,
) -> list[MirrorPair]:
    ids = None if event_ids is None else set(event_ids)
    chosen = sorted(
        (
            copy
            for (name, event_id), copy in t.mirror_log.items()
            if name == mirror
            and copy.received_us >= since_us
            and (source is None or copy.source == source)
            and (ids is None or event_id in ids)
        ),
        key=lambda copy: (copy.received_us, copy.event_id),
    )
    return [_pair(t, copy, compare_with, with_bodies) for copy in chosen]


def _pair(
    t: Tables, copy: MirrorCopyRecord, compare_with: str | None, with_bodies: bool
) -> MirrorPair:
    shown = (
        copy
        if with_bodies
        else dataclasses.replace(copy, response_headers=(), response_excerpt=b"")
    )
    for dispatch in t.dispatches_of(copy.event_id):
        if (
            dispatch.destination == compare_with
            and dispatch.replay_of is None
            and dispatch.batch_id is None
        ):
            last = t.attempts.get(dispatch.id, {}).get(dispatch.attempts)
            bodies = with_bodies and last is not None
            return MirrorPair(
                copy=shown,
                production_status=dispatch.status,
                production_code=dispatch.last_status_code,
                production_headers=last.response_headers if bodies and last else (),
                production_excerpt=last.response_excerpt if bodies and last else b"",
            )
    return MirrorPair(copy=shown)

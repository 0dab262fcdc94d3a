"""A mirror's report read from the store: the I/O around the pure ``report`` module."""

from __future__ import annotations

from hookyard.mirror.report import Report, body_difference, build_report
from hookyard.mirror.settings import Mirror
from hookyard.store.base import MirrorLog

#: Answered pairs whose bodies ``--diff`` compares, per report (each holds two excerpts).
MAX_BODY_PAIRS = 10_000


async def make_report(
    store: MirrorLog, mirror: Mirror, since_us: int, *, source: str | None, diff: bool
) -> Report:
    pairs = await store.mirror_pairs(
        mirror.name, compare_with=mirror.compare_with, since_us=since_us, source=source
    )
    differences = []
    if diff and mirror.compare_with is not None:
        answered = [
            p.copy.event_id
            for p in pairs
            if p.copy.reason is None and p.production_code is not None
        ][:MAX_BODY_PAIRS]
        with_bodies = await store.mirror_pairs(
            mirror.name,
            compare_with=mirror.compare_with,
            since_us=since_us,
            event_ids=answered,
            with_bodies=True,
        )
        for pair in with_bodies:
            found = body_difference(pair, mirror.ignore)
            if found is not None:
                differences.append(found)
    return build_report(
        mirror.name, mirror.compare_with, since_us, pairs, body_differences=differences
    )

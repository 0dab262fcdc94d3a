"""One redaction run: each source's events past ``redact_after``, batch after batch.

Each source's walk starts at its mark (events before it are done) and moves the mark
over every event handled, up to the first one that still had a dispatch to deliver:
that one, and what follows, are looked at again next time, so a body is never
changed under a delivery and never left unredacted for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from hookyard.models import BodyRedaction
from hookyard.redaction.fields import FieldRedaction, redact_body
from hookyard.store.base import Redactions

BATCH = 200


@dataclass
class RedactionCounts:
    examined: int = 0
    redacted: int = 0


async def run_redaction(
    store: Redactions,
    plans: Sequence[FieldRedaction],
    *,
    now_us: int,
    dry_run: bool = False,
    batch: int = BATCH,
    pause: float = 0.0,
) -> RedactionCounts:
    counts = RedactionCounts()
    for plan in plans:
        await _run_source(store, plan, counts, now_us, dry_run, batch, pause)
    return counts


async def _run_source(
    store: Redactions,
    plan: FieldRedaction,
    counts: RedactionCounts,
    now_us: int,
    dry_run: bool,
    batch: int,
    pause: float,
) -> None:
    after = await store.redaction_mark(plan.source)
    blocked = False
    while True:
        found = await store.redaction_candidates(
            plan.source, cutoff_us=plan.cutoff_us(now_us), after=after, limit=batch
        )
        if not found:
            return
        counts.examined += len(found)
        writes: list[BodyRedaction] = []
        mark: str | None = None
        for candidate in found:
            if candidate.busy:
                blocked = True
                continue
            redacted = redact_body(plan, candidate, now_us=now_us)
            if redacted is not None:
                writes.append(redacted)
            if not blocked:
                mark = candidate.id
        if dry_run:
            counts.redacted += len(writes)
        elif writes or mark is not None:
            counts.redacted += await store.apply_redactions(plan.source, writes, mark=mark)
        if len(found) < batch:
            return
        after = found[-1].id
        await asyncio.sleep(pause)

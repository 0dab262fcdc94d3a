"""The Overview: the last hour of ingest and delivery from the store, per minute, with the
backlog, the oldest waiting dispatch and the dead letters now."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from hookyard.clock import US_PER_SECOND, now_us
from hookyard.dashboard.auth import Gate, Visit
from hookyard.dashboard.charts import HEIGHT, WIDTH, bars
from hookyard.store.base import ActivityLog

BUCKETS = 60
BUCKET_US = 60 * US_PER_SECOND


def overview_routes(gate: Gate, store: ActivityLog) -> list[Route]:
    async def overview(visit: Visit) -> Response:
        now = now_us()
        # Whole minutes, the current one last, so a refresh does not shift the bars.
        since = (now // BUCKET_US - BUCKETS + 1) * BUCKET_US
        found = await store.activity(since_us=since, bucket_us=BUCKET_US, buckets=BUCKETS)
        charts = [
            ("received", "Requests received", found.received, ""),
            ("delivered", "Attempts answered 2xx", found.delivered, ""),
            ("failed", "Attempts failed", found.failed, "bad"),
        ]
        oldest_s = (
            None
            if found.oldest_due_us is None
            else max(0, (now - found.oldest_due_us) // US_PER_SECOND)
        )
        return gate.templates.render(
            "overview.html",
            visit.context(
                charts=[
                    {
                        "key": key,
                        "title": title,
                        "total": sum(counts),
                        "bars": bars(counts),
                        "tone": tone,
                        "per_minute": round(sum(counts) / BUCKETS, 1),
                    }
                    for key, title, counts, tone in charts
                ],
                width=WIDTH,
                height=HEIGHT,
                activity=found,
                oldest_s=oldest_s,
            ),
        )

    return [Route("/", gate.page(overview))]

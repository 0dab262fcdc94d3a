"""Builders for model objects in tests."""

from __future__ import annotations

import hashlib
import time

from hookyard.ids import UlidFactory
from hookyard.models import CapturedRequest, HeaderList, Submission, Verdict

_ids = UlidFactory()


def captured(
    body: bytes = b'{"type": "thing.happened"}',
    *,
    source: str = "demo",
    headers: HeaderList = ((b"Content-Type", b"application/json"),),
    received_us: int | None = None,
) -> CapturedRequest:
    if received_us is None:
        received_us = time.time_ns() // 1000
        event_id = _ids.new(now_ms=received_us // 1000)
    else:
        # Minted at that receipt time, as ingest does; a fresh factory so the shared one's
        # monotonic guarantee does not pull an old time up to now.
        event_id = UlidFactory().new(now_ms=received_us // 1000)
    return CapturedRequest(
        id=event_id,
        source=source,
        received_us=received_us,
        remote_addr="127.0.0.1",
        method="POST",
        path=f"/in/{source}",
        query_string=b"",
        headers=headers,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        content_type="application/json",
    )


def submission(
    body: bytes = b'{"type": "thing.happened"}',
    *,
    source: str = "demo",
    provider_id: str | None = None,
    event_type: str | None = "thing.happened",
    verdict: str = "unsigned",
    window_s: float = 3600,
    destinations: tuple[str, ...] = (),
    received_us: int | None = None,
    headers: HeaderList = ((b"Content-Type", b"application/json"),),
) -> Submission:
    return Submission(
        request=captured(body, source=source, received_us=received_us, headers=headers),
        verdict=Verdict(status=verdict, reason="test"),  # type: ignore[arg-type]
        provider_event_id=provider_id,
        event_type=event_type,
        dedup_window_us=int(window_s * 1_000_000),
        destinations=destinations,
    )

"""``POST /in/{source}``: capture, verify, dedup, group-commit, answer.

No framework sits on this path: it is the hot loop of the product, and each layer
costs throughput. Every outcome is deliberate (see DESIGN.md, "Ingest"); an
unexpected error still answers 503 with a record-free body, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from hookyard.asgi import Receive, Scope, Send
from hookyard.clock import now_us, us_from_seconds
from hookyard.config import SourceConfig
from hookyard.exceptions import RowRefused, StoreError, StoreSaturated
from hookyard.ingest.capture import (
    BodyTooLarge,
    ClientGone,
    capture,
    declared_length,
    raw_headers,
    read_body,
)
from hookyard.ingest.encoding import for_fields
from hookyard.ingest.responses import send_error, send_json, send_text
from hookyard.logs import AccessLog
from hookyard.metrics import UNKNOWN_SOURCE, count_ingest, observe_body
from hookyard.models import CapturedRequest, HeaderList, Submission, Verdict
from hookyard.redaction.headers import redact
from hookyard.signatures.base import SignedMessage
from hookyard.storable import label, text
from hookyard.store.base import Ingest

log = logging.getLogger("hookyard.ingest")
Router = Callable[[str, str | None], tuple[str, ...]]
RETRY_AFTER = [(b"retry-after", b"1")]


def no_routes(source: str, event_type: str | None) -> tuple[str, ...]:
    return ()


@dataclass(slots=True)
class _Outcome:
    status: int
    outcome: str
    request: CapturedRequest | None = None
    verdict: Verdict | None = None
    event_type: str | None = None
    record_id: str | None = None


def request_url(scope: Scope, source: SourceConfig) -> str:
    """The URL the provider signed: configured, or rebuilt from the Host header."""
    if source.public_url:
        return source.public_url
    host = ""
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
            break
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
    return f"{url}?{query.decode('latin-1')}" if query else url


def judge(source: SourceConfig, message: SignedMessage, now: float) -> Verdict:
    try:
        verdict = source.scheme.verify(
            message, source.secrets, now=now, tolerance=source.tolerance_seconds
        )
    except Exception as exc:  # a scheme bug must not become a 500 or an acceptance
        log.exception("scheme %s failed on input", source.scheme_name)
        return Verdict(status="invalid", reason=f"verifier error: {type(exc).__name__}")
    # A reason may quote what was received; it is stored as text.
    reason = text(verdict.reason)
    return verdict if reason is verdict.reason else replace(verdict, reason=reason)


def extract(source: SourceConfig, message: SignedMessage) -> tuple[str | None, str | None]:
    """Provider event id and type; parsing is best effort and never an error.

    A value that cannot be stored as text is no id or type (``storable.label``).
    """
    try:
        event_id = label(source.scheme.event_id(message))
    except Exception:
        event_id = None
    try:
        event_type = label(source.scheme.event_type(message))
    except Exception:
        event_type = None
    return event_id, event_type


def handshake_answer(source: SourceConfig, message: SignedMessage) -> str | None:
    try:
        return source.scheme.handshake(message)
    except Exception:
        return None


class IngestApp:
    def __init__(
        self,
        sources: Mapping[str, SourceConfig],
        store: Ingest,
        *,
        router: Router = no_routes,
        access_log: bool = True,
        metrics: bool = True,
    ) -> None:
        self.sources = sources
        #: Off only to measure what metrics cost (``[server] metrics = false``).
        self.metrics = metrics
        self.store = store
        self.router = router
        self.access_log = access_log
        self._access = AccessLog(log, "ingest")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        name = scope["path"][len("/in/") :]
        result = await self._handle(scope, receive, send, name)
        elapsed = time.perf_counter() - started
        if self.metrics:
            count_ingest(result.outcome, elapsed, name if name in self.sources else UNKNOWN_SOURCE)
            if result.request is not None:
                observe_body(name, len(result.request.body))
        if self.access_log:
            self._access.write(
                event_id=result.record_id,
                source=name,
                event_type=result.event_type,
                verdict=result.verdict.status if result.verdict else None,
                outcome=result.outcome,
                status=result.status,
                latency_ms=round(elapsed * 1000, 3),
            )

    async def _handle(self, scope: Scope, receive: Receive, send: Send, name: str) -> _Outcome:
        source = self.sources.get(name)
        if source is None:
            await send_error(send, 404, "unknown_source", f"no source named {name!r}")
            return _Outcome(404, "unknown_source")
        if scope["method"] != "POST":
            await send_error(
                send, 405, "method_not_allowed", "use POST", extra_headers=[(b"allow", b"POST")]
            )
            return _Outcome(405, "method_not_allowed")
        received_us = now_us()
        headers = raw_headers(scope)
        limit = source.max_body_bytes
        declared = declared_length(headers)
        try:
            if declared is not None and declared > limit:
                raise BodyTooLarge
            body = await read_body(receive, limit)
        except BodyTooLarge:
            await send_error(send, 413, "too_large", f"body is larger than {limit} bytes")
            return _Outcome(413, "too_large")
        except ClientGone:
            return _Outcome(499, "client_gone")
        # Stored with credentials as a marker (redact_headers); verified on what arrived.
        stored_headers = redact(headers, source.redact_headers)
        request = capture(scope, name, stored_headers, body, received_us)
        return await self._store(scope, send, source, request, headers)

    async def _store(
        self,
        scope: Scope,
        send: Send,
        source: SourceConfig,
        request: CapturedRequest,
        received_headers: HeaderList,
    ) -> _Outcome:
        message = SignedMessage(headers=received_headers, body=request.body, url=None)
        if source.scheme.needs_url:
            message = SignedMessage(received_headers, request.body, request_url(scope, source))
        verdict = judge(source, message, request.received_us / 1e6)
        # A gzip sender's id and type are read from the inflated body (dedup and routing).
        event_id, event_type = extract(source, for_fields(message, source.max_body_bytes))
        accepted = verdict.status != "invalid"
        handshake = handshake_answer(source, message) if verdict.status == "valid" else None
        submission = Submission(
            request=request,
            verdict=verdict,
            provider_event_id=event_id,
            event_type=event_type,
            dedup_window_us=us_from_seconds(source.dedup_window_seconds),
            # A subscription handshake is kept as a record but is not an event to deliver.
            destinations=self.router(source.name, event_type)
            if accepted and handshake is None
            else (),
        )
        outcome = _Outcome(0, "", request, verdict, event_type)
        try:
            written = await self.store.submit(submission)
        except RowRefused as exc:
            # Not for retrying: the same request would be refused again.
            log.error("source %s: request %s not stored: %.300s", source.name, request.id, exc)
            await send_error(send, 422, "unstorable", "the store refused this request")
            outcome.status, outcome.outcome = 422, "unstorable"
            return outcome
        except StoreSaturated as exc:
            await send_error(send, 503, "overloaded", str(exc), extra_headers=RETRY_AFTER)
            outcome.status, outcome.outcome = 503, "overloaded"
            return outcome
        except StoreError as exc:
            await send_error(send, 503, "store_unavailable", str(exc), extra_headers=RETRY_AFTER)
            outcome.status, outcome.outcome = 503, "store_unavailable"
            return outcome
        if written.duplicate_of is not None:
            outcome.record_id = written.duplicate_of
            await send_json(
                send,
                200,
                {"id": written.duplicate_of, "duplicate": True},
                record_id=written.duplicate_of,
            )
            outcome.status, outcome.outcome = 200, "duplicate"
        elif handshake is not None:
            outcome.record_id = written.id
            await send_text(send, 200, handshake, record_id=written.id)
            outcome.status, outcome.outcome = 200, "handshake"
        elif not accepted:
            outcome.record_id = written.id
            await send_error(send, 401, "invalid_signature", verdict.reason, record_id=written.id)
            outcome.status, outcome.outcome = 401, "rejected"
        else:
            outcome.record_id = written.id
            await send_json(send, 202, {"id": written.id}, record_id=written.id)
            outcome.status, outcome.outcome = 202, "accepted"
        return outcome

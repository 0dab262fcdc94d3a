"""Fetch what the pure inspect functions need from a store: shared by the API and the CLI.

The rest of ``hookyard.inspect`` never touches a store; this module is the one place
that reads a record and its exact body and hands them to ``diff_events`` or
``explain_event``. A missing id raises :class:`EventNotFound` (an ``UnknownName``), which
the API answers with 404 and the CLI reports in one line, exit 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookyard.exceptions import UnknownName
from hookyard.filtering import text_problem
from hookyard.inspect.diff import DiffSide, EventDiff, diff_events
from hookyard.inspect.explain import Explanation, explain_event
from hookyard.models import EventRecord
from hookyard.store.base import EventReader

if TYPE_CHECKING:
    from hookyard.config import SourceConfig


class EventNotFound(UnknownName):
    def __init__(self, event_id: str) -> None:
        super().__init__(f"no event with id {event_id!r}")
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored request: its record (metadata, headers, dispatches) and its exact body."""

    record: EventRecord
    body: bytes

    @property
    def side(self) -> DiffSide:
        return DiffSide(self.record.headers, self.body, self.record.summary.content_type)


async def fetch_event(store: EventReader, event_id: str) -> StoredEvent:
    if text_problem(event_id) is not None:  # not storable text: no event has it (PG raises)
        raise EventNotFound(event_id[:40])
    record = await store.get_event(event_id)
    found = None if record is None else await store.get_body(event_id)
    if record is None or found is None:
        raise EventNotFound(event_id)
    return StoredEvent(record, found[0])


async def diff_stored(store: EventReader, a: str, b: str) -> EventDiff:
    """Compare two stored requests (A the old side, B the new)."""
    first = await fetch_event(store, a)
    second = await fetch_event(store, b)
    return diff_events(first.side, second.side)


async def explain_stored(
    store: EventReader, event_id: str, sources: Mapping[str, SourceConfig]
) -> Explanation:
    """Re-verify a stored request with its source's current configuration."""
    event = await fetch_event(store, event_id)
    return explain_event(event.record, event.body, sources.get(event.record.summary.source))

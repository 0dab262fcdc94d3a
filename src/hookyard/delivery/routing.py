"""Which destinations an event goes to: a pure function of (source, event type).

Ingest calls the router for every accepted request, so all parsing happens once in
``make_router``: each destination's globs become one compiled regex, and answers are
memoised per (source, type). The memo is bounded because event types come from
request bodies, and an unsigned source could send endless distinct ones.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hookyard.delivery.destinations import Destination, is_catch_all

Router = Callable[[str, str | None], tuple[str, ...]]
CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    sources: frozenset[str] | None
    #: None: every event. Otherwise typed events must match ``pattern``.
    pattern: re.Pattern[str] | None
    #: Whether an event without a type matches: only with no ``events`` or a ``*`` pattern.
    untyped: bool

    def matches(self, source: str, event_type: str | None) -> bool:
        if self.sources is not None and source not in self.sources:
            return False
        if event_type is None:
            return self.untyped
        return self.pattern is None or self.pattern.fullmatch(event_type) is not None


def compile_rule(destination: Destination) -> _Rule:
    sources = None if destination.sources is None else frozenset(destination.sources)
    events = destination.events
    if events is None or any(is_catch_all(p) for p in events):
        return _Rule(destination.name, sources, None, True)
    # fnmatch.translate anchors with \Z; fullmatch keeps the whole type in play. Matching
    # is case-sensitive: provider event types are identifiers, not prose.
    joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in events)
    return _Rule(destination.name, sources, re.compile(joined, re.DOTALL), False)


def matches(destination: Destination, source: str, event_type: str | None) -> bool:
    """One-off check; the router is the fast path."""
    return compile_rule(destination).matches(source, event_type)


def make_router(destinations: Iterable[Destination]) -> Router:
    """``router(source, event_type)`` → names of matching destinations, in config order."""
    rules = tuple(compile_rule(d) for d in destinations)
    if not rules:
        return _no_routes

    @functools.lru_cache(maxsize=CACHE_SIZE)
    def route(source: str, event_type: str | None) -> tuple[str, ...]:
        return tuple(rule.name for rule in rules if rule.matches(source, event_type))

    return route


def _no_routes(source: str, event_type: str | None) -> tuple[str, ...]:
    return ()

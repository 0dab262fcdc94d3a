"""Destination controls over a store: what ``destinations list`` shows, and pause,
resume and enable (each recorded in the audit trail)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from hookyard.clock import now_us
from hookyard.control import audit
from hookyard.control.policy import Action, next_state, reason_for
from hookyard.exceptions import UnknownName
from hookyard.models import CircuitState, DestinationMode, DestinationState
from hookyard.store.base import AuditLog, DestinationControl
from hookyard.timeparse import iso_from_us

#: The Destinations view counts attempts over this window.
HOUR_US = 3_600_000_000


class ControlStore(DestinationControl, AuditLog, Protocol):
    """What the controls need of a store."""


@dataclass(frozen=True, slots=True)
class DestinationView:
    name: str
    #: False for a name the store knows (state, backlog) that the config no longer has.
    configured: bool
    state: DestinationMode = "active"
    reason: str = ""
    since_us: int | None = None
    circuit: CircuitState = "closed"
    circuit_until_us: int | None = None
    backlog: dict[str, int] = field(default_factory=dict)
    last_success_us: int | None = None
    last_error_us: int | None = None
    last_error: str | None = None
    #: Attempts in the last hour answered 2xx, and every other.
    delivered_last_hour: int = 0
    failed_last_hour: int = 0

    @property
    def owed(self) -> int:
        return sum(self.backlog.values())


async def destination_views(
    store: DestinationControl, configured: Collection[str]
) -> list[DestinationView]:
    """Configured destinations in config order, then any other the store knows of."""
    states = await store.destination_states()
    backlog = await store.destination_backlog()
    hour = await store.destination_outcomes(since_us=now_us() - HOUR_US)
    names = list(dict.fromkeys([*configured, *sorted(states), *sorted(backlog)]))
    return [
        _view(n, n in configured, states.get(n), backlog.get(n, {}), hour.get(n, (0, 0)))
        for n in names
    ]


def _view(
    name: str,
    configured: bool,
    st: DestinationState | None,
    backlog: dict[str, int],
    hour: tuple[int, int],
) -> DestinationView:
    view = DestinationView(
        name, configured, backlog=backlog, delivered_last_hour=hour[0], failed_last_hour=hour[1]
    )
    if st is None:
        return view
    return dataclasses.replace(
        view,
        state=st.state,
        reason=st.reason,
        since_us=st.updated_us if st.state != "active" else None,
        circuit=st.circuit,
        circuit_until_us=st.circuit_until_us,
        last_success_us=st.last_success_us,
        last_error_us=st.last_error_us,
        last_error=st.last_error,
    )


@dataclass(frozen=True, slots=True)
class Change:
    name: str
    before: DestinationMode
    after: DestinationMode
    #: Dispatches held (pause) or released (resume, enable).
    moved: int


async def change_destination(
    store: ControlStore, name: str, action: Action, *, actor: str, known: Collection[str]
) -> Change:
    """Apply ``action`` to ``name`` for every process and record it in the audit trail.

    ``known`` are the configured names; a name only the store knows (removed from the
    config, its dispatches still held) may be changed too. Raises ``UnknownName`` or
    ``Refused``."""
    states = await store.destination_states()
    if name not in known and name not in states:
        listed = ", ".join(sorted(set(known) | set(states))) or "none configured"
        raise UnknownName(f"no destination {name!r} (destinations: {listed})")
    current = states.get(name)
    before: DestinationMode = current.state if current is not None else "active"
    after = next_state(name, current, action)
    moved = 0
    if after != before:
        moved = await store.set_destination_mode(
            name, after, reason=reason_for(action, actor), now_us=now_us()
        )
    await audit.record(
        store,
        actor=actor,
        action=f"destination.{action}",
        target=name,
        count=moved,
        detail={"before": before, "after": after},
    )
    return Change(name, before, after, moved)


def view_json(view: DestinationView) -> dict[str, Any]:
    return {
        "name": view.name,
        "configured": view.configured,
        "state": view.state,
        "reason": view.reason,
        "since": iso_from_us(view.since_us),
        "circuit": view.circuit,
        "circuit_until": iso_from_us(view.circuit_until_us) if view.circuit == "open" else None,
        "backlog": view.owed,
        "backlog_by_status": dict(sorted(view.backlog.items())),
        "last_success": iso_from_us(view.last_success_us),
        "last_error": iso_from_us(view.last_error_us),
        "last_error_reason": view.last_error,
        "last_hour": {"delivered": view.delivered_last_hour, "failed": view.failed_last_hour},
    }


def change_json(change: Change) -> dict[str, Any]:
    return {
        "name": change.name,
        "before": change.before,
        "state": change.after,
        "moved": change.moved,
    }

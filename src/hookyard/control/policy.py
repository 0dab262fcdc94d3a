"""Which state an operator action leads a destination to, or why it is refused (pure)."""

from __future__ import annotations

from typing import Literal, get_args

from hookyard.exceptions import Refused
from hookyard.models import DestinationMode, DestinationState

Action = Literal["pause", "resume", "enable"]
ACTIONS: tuple[str, ...] = get_args(Action)


def next_state(name: str, current: DestinationState | None, action: Action) -> DestinationMode:
    """``pause``: active → paused. ``resume``: paused → active. ``enable``: anything →
    active (it is how a destination disabled by a 410 comes back). Pausing or resuming
    a disabled destination is refused: its receiver asked to stop, so only an explicit
    ``enable`` undoes that."""
    state = current.state if current is not None else "active"
    if state == "disabled" and action != "enable":
        why = f" ({current.reason})" if current is not None and current.reason else ""
        raise Refused(
            f"destination {name!r} is disabled{why}; "
            f"`hookyard destinations enable {name}` sends its held dispatches again"
        )
    return "paused" if action == "pause" else "active"


def reason_for(action: Action, actor: str) -> str:
    return f"paused by {actor}" if action == "pause" else ""

"""Which state an operator action leads a destination to (pure policy)."""

from __future__ import annotations

import pytest

from hookyard.control.policy import next_state, reason_for
from hookyard.exceptions import Refused
from hookyard.models import DestinationState


def test_pause_and_resume_move_between_active_and_paused() -> None:
    assert next_state("app", None, "pause") == "paused"
    assert next_state("app", DestinationState("app", "paused"), "pause") == "paused"
    assert next_state("app", DestinationState("app", "paused"), "resume") == "active"
    assert next_state("app", DestinationState("app", "active"), "resume") == "active"


def test_only_enable_brings_back_a_destination_its_receiver_disabled() -> None:
    gone = DestinationState("app", "disabled", reason="HTTP 410: asked to stop")
    for action in ("pause", "resume"):
        with pytest.raises(Refused, match=r"disabled \(HTTP 410: asked to stop\).*enable app"):
            next_state("app", gone, action)
    assert next_state("app", gone, "enable") == "active"
    assert next_state("app", DestinationState("app", "paused"), "enable") == "active"


def test_a_pause_says_who_paused() -> None:
    assert reason_for("pause", "cli:ops") == "paused by cli:ops"
    assert reason_for("resume", "cli:ops") == ""

"""The ``[alerts]`` conditions: one notice an episode, never one a sample."""

from __future__ import annotations

import pytest

from hookyard.alerting import BacklogAge, DeadLetterSummary, Observation, conditions_for, evaluate
from hookyard.delivery.alerts import parse_alerts
from hookyard.exceptions import ConfigError
from hookyard.store.backlog import BacklogSample

S = 1_000_000
T0 = 1_800_000_000 * S


def seen(
    at_s: float, *, due_ago: dict[str, float] | None = None, dead: dict[str, int] | None = None
) -> Observation:
    at = T0 + int(at_s * S)
    oldest = {name: at - int(ago * S) for name, ago in (due_ago or {}).items()}
    counts = {(name, "dead"): n for name, n in (dead or {}).items()}
    counts[("app", "pending")] = 7
    return Observation(at, BacklogSample(at, counts, oldest), destinations=("app", "crm"))


def test_backlog_age_fires_once_when_crossing_and_once_when_back_under_half() -> None:
    condition = BacklogAge(threshold=60)
    assert condition.check(seen(0, due_ago={"app": 30})) == []
    [fired] = condition.check(seen(5, due_ago={"app": 61}))
    assert fired["type"] == "hookyard.backlog"
    assert fired["destination"] == "app" and fired["oldest_due_seconds"] == 61
    assert fired["pending"] == 7
    for later in range(10, 100, 5):  # still old: no second page
        assert condition.check(seen(later, due_ago={"app": 50 + later})) == []
    assert condition.check(seen(100, due_ago={"app": 45})) == []  # under, not under half
    [recovered] = condition.check(seen(105, due_ago={}))  # drained
    assert recovered["type"] == "hookyard.backlog.recovered"
    [again] = condition.check(seen(110, due_ago={"app": 90}))
    assert again["type"] == "hookyard.backlog"


def test_backlog_age_judges_each_destination_alone() -> None:
    condition = BacklogAge(threshold=60)
    fired = condition.check(seen(0, due_ago={"app": 61, "crm": 120}))
    assert sorted(n["destination"] for n in fired) == ["app", "crm"]
    [recovered] = condition.check(seen(5, due_ago={"crm": 120}))
    assert recovered["destination"] == "app"


def test_dead_letter_summary_posts_at_most_once_a_period() -> None:
    condition = DeadLetterSummary(period=86_400)
    assert condition.check(seen(0, dead={"app": 2})) == []  # the first sample starts it
    assert condition.check(seen(3600, dead={"app": 50})) == []
    [summary] = condition.check(seen(86_400, dead={"app": 5, "crm": 1}))
    assert summary["type"] == "hookyard.dead_letters.summary"
    assert summary["dead"] == 6
    assert summary["destinations"] == {"app": {"dead": 5, "new": 3}, "crm": {"dead": 1, "new": 1}}
    assert condition.check(seen(86_401, dead={"app": 9})) == []
    # A queue that was empty and still is: nothing to say.
    quiet = DeadLetterSummary(period=10)
    assert quiet.check(seen(0)) == []
    assert quiet.check(seen(20)) == []


def test_the_config_chooses_the_conditions() -> None:
    default = parse_alerts({"url": "https://alerts.example/h"})
    assert default is not None
    assert default.dead_letters == "each" and default.backlog_age == 900
    assert [type(c).__name__ for c in conditions_for(default)] == ["BacklogAge"]
    daily = parse_alerts(
        {"url": "https://alerts.example/h", "dead_letters": "daily", "backlog_age": "off"}
    )
    assert daily is not None
    assert [type(c).__name__ for c in conditions_for(daily)] == ["DeadLetterSummary"]
    tuned = parse_alerts(
        {"url": "https://a.example/h", "backlog_age": "5m", "summary_every": "12h"}
    )
    assert tuned is not None and tuned.backlog_age == 300 and tuned.summary_every == 43_200
    fired = evaluate(conditions_for(tuned), seen(0, due_ago={"app": 301}))
    assert [n["type"] for n in fired] == ["hookyard.backlog"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"dead_letters": "sometimes"}, "alerts.dead_letters: must be one of each, daily, off"),
        ({"backlog_age": "soon"}, "alerts.backlog_age: expected a duration"),
        ({"backlog_age": 0}, "alerts.backlog_age: must be more than 0"),
        ({"summary_every": -1}, "alerts.summary_every:"),
    ],
)
def test_bad_alert_keys_are_one_line_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_alerts({"url": "https://alerts.example/h", **table})

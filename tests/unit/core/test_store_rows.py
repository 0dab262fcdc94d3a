"""Rows of either driver to model objects: the pairing of dispatches with their attempts."""

from __future__ import annotations

from typing import Any

from hookyard.store.rows import attach_attempts


def dispatch(dispatch_id: str, attempts: int = 0) -> tuple[Any, ...]:
    return (dispatch_id, "ev", "billing", "retrying", attempts, None, 1, 2, None, None)


def attempt(dispatch_id: str, number: int) -> tuple[Any, ...]:
    return (dispatch_id, number, 10 * number, 1.5, 500, "[]", b"", None, None, "retry", None)


def test_each_dispatch_gets_its_own_attempts_in_number_order() -> None:
    rows = [attempt("b", 2), attempt("a", 1), attempt("b", 1), attempt("b", 3)]
    found = attach_attempts([dispatch("b", 3), dispatch("a", 1)], rows)
    assert [d.id for d in found] == ["b", "a"]  # the dispatches' order, not the attempts'
    assert [(a.dispatch_id, a.number) for a in found[0].attempt_log] == [
        ("b", 1),
        ("b", 2),
        ("b", 3),
    ]
    assert [(a.dispatch_id, a.number) for a in found[1].attempt_log] == [("a", 1)]


def test_a_dispatch_without_attempts_has_an_empty_log() -> None:
    [found] = attach_attempts([dispatch("a")], [attempt("other", 1)])
    assert found.attempt_log == ()
    assert attach_attempts([], [attempt("a", 1)]) == []

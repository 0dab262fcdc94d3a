"""Routing: sources and event-type globs to destination names, fast and in config order."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from hookyard.delivery.destinations import Destination
from hookyard.delivery.routing import make_router, matches


def dest(
    name: str, sources: tuple[str, ...] | None = None, events: tuple[str, ...] | None = None
) -> Destination:
    return Destination(name=name, url="https://x.example/", sources=sources, events=events)


def test_no_destinations_routes_nowhere() -> None:
    route = make_router([])
    assert route("stripe", "invoice.paid") == ()
    assert route("stripe", None) == ()


def test_defaults_match_every_event_including_untyped() -> None:
    route = make_router([dest("all")])
    assert route("stripe", "invoice.paid") == ("all",)
    assert route("anything", None) == ("all",)


def test_sources_filter() -> None:
    route = make_router([dest("s", sources=("stripe",)), dest("g", sources=("github", "gitlab"))])
    assert route("stripe", "x") == ("s",)
    assert route("gitlab", "x") == ("g",)
    assert route("shopify", "x") == ()


def test_event_globs() -> None:
    route = make_router([dest("inv", events=("invoice.*", "charge.succeeded"))])
    assert route("s", "invoice.paid") == ("inv",)
    assert route("s", "invoice.payment.failed") == ("inv",)  # * crosses dots
    assert route("s", "charge.succeeded") == ("inv",)
    assert route("s", "charge.failed") == ()
    assert route("s", "invoice") == ()
    assert route("s", "xinvoice.paid") == ()  # anchored at the start
    assert route("s", "charge.succeeded.extra") == ()  # and at the end


def test_untyped_events_match_only_catch_all() -> None:
    route = make_router(
        [
            dest("typed", events=("invoice.*",)),
            dest("star", events=("invoice.*", "*")),
            dest("stars", events=("**",)),
            dest("suffix", events=("*.created",)),
            dest("default"),
        ]
    )
    assert route("s", None) == ("star", "stars", "default")
    assert route("s", "invoice.paid") == ("typed", "star", "stars", "default")
    assert route("s", "") == ("star", "stars", "default")  # an empty type is still a type


def test_matching_is_case_sensitive_and_literal() -> None:
    route = make_router([dest("d", events=("Order.Created", "a+b", "x?y", "[ab]c"))])
    assert route("s", "Order.Created") == ("d",)
    assert route("s", "order.created") == ()
    assert route("s", "a+b") == ("d",)
    assert route("s", "aab") == ()  # + is not a regex quantifier here
    assert route("s", "x-y") == ("d",)
    assert route("s", "bc") == ("d",)
    assert route("s", "line\nbreak") == ()


def test_results_keep_config_order() -> None:
    route = make_router([dest("b"), dest("a"), dest("c", events=("x",))])
    assert route("s", "x") == ("b", "a", "c")


def test_answers_are_memoised() -> None:
    route = make_router([dest("d", events=("a.*",))])
    for _ in range(5):
        route("s", "a.b")
    info = route.cache_info()  # type: ignore[attr-defined]
    assert info.hits == 4
    assert info.misses == 1
    assert info.maxsize == 4096  # bounded: event types are attacker-controlled on open sources


def test_matches_helper() -> None:
    assert matches(dest("d", sources=("s",), events=("a*",)), "s", "abc")
    assert not matches(dest("d", sources=("s",), events=("a*",)), "t", "abc")


names = st.text(alphabet="abc.*?", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    configs=st.lists(
        st.tuples(
            st.one_of(st.none(), st.lists(st.sampled_from("pqr"), min_size=1).map(tuple)),
            st.one_of(st.none(), st.lists(names, min_size=1, max_size=3).map(tuple)),
        ),
        max_size=5,
    ),
    source=st.sampled_from("pqr"),
    event_type=st.one_of(st.none(), st.text(alphabet="abc.", max_size=6)),
)
def test_router_agrees_with_fnmatch(
    configs: list[tuple[tuple[str, ...] | None, tuple[str, ...] | None]],
    source: str,
    event_type: str | None,
) -> None:
    destinations = [dest(f"d{i}", s, e) for i, (s, e) in enumerate(configs)]

    def oracle(d: Destination) -> bool:
        if d.sources is not None and source not in d.sources:
            return False
        if d.events is None:
            return True
        if event_type is None:
            return any(set(p) == {"*"} for p in d.events)
        return any(fnmatch.fnmatchcase(event_type, p) for p in d.events)

    expected = tuple(d.name for d in destinations if oracle(d))
    assert make_router(destinations)(source, event_type) == expected

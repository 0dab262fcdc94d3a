"""The mirror log on every backend: candidates by cursor, the log, the lane and the join
with production's answers."""

from __future__ import annotations

import time

from hookyard.mirror.records import MirrorCopyRecord, MirrorCursor
from hookyard.models import AttemptRecord
from hookyard.store import open_store
from hookyard.store.base import Store
from support.factories import submission

T0 = 1_700_000_000_000_000


def copy(event_id: str, *, received_us: int = T0, **fields: object) -> MirrorCopyRecord:
    return MirrorCopyRecord(
        mirror="staging",
        event_id=event_id,
        source="demo",
        event_type="thing.happened",
        received_us=received_us,
        sent_us=received_us + 1,
        **fields,  # type: ignore[arg-type]
    )


async def stored(store: Store, at_us: int, **kwargs: object) -> str:
    return (await store.submit(submission(received_us=at_us, **kwargs))).id  # type: ignore[arg-type]


async def test_candidates_come_in_receipt_order_after_the_cursor(store: Store) -> None:
    ids = [await stored(store, T0 + offset) for offset in (30, 10, 20)]
    await stored(store, T0 + 15, verdict="invalid")  # never mirrored
    await stored(store, T0 + 16, source="other")  # not a mirrored source
    await stored(store, T0 + 99)  # after until_us
    found = await store.mirror_candidates(sources=["demo"], after=None, until_us=T0 + 50, limit=10)
    assert [e.id for e in found] == [ids[1], ids[2], ids[0]]
    assert found[0].received_us == T0 + 10 and found[0].body == b'{"type": "thing.happened"}'
    after = MirrorCursor(found[0].received_us, found[0].id)
    rest = await store.mirror_candidates(sources=["demo"], after=after, until_us=T0 + 50, limit=1)
    assert [e.id for e in rest] == [ids[2]]


async def test_two_events_in_one_microsecond_are_both_read(store: Store) -> None:
    first = await stored(store, T0)
    second = await stored(store, T0)
    one = await store.mirror_candidates(sources=["demo"], after=None, until_us=T0, limit=1)
    after = MirrorCursor(T0, one[0].id)
    two = await store.mirror_candidates(sources=["demo"], after=after, until_us=T0, limit=5)
    assert {one[0].id, *(e.id for e in two)} == {first, second} and len(two) == 1


async def test_the_cursor_is_durable_and_never_moves_back(store_url: str) -> None:
    keeper = open_store(store_url)  # in memory, tables live while a store has them open
    await keeper.start()
    store = open_store(store_url)
    await store.start()
    try:
        assert await store.mirror_lane("staging") is None
        later = MirrorCursor(T0 + 5, "01B")
        await store.record_mirror_copies(
            "staging", [copy("01A", status_code=200)], cursor=later, now_us=T0 + 10, lag_us=7
        )
        await store.record_mirror_copies(
            "staging",
            [copy("01C", reason="sampled_out"), copy("01D", status_code=503)],
            cursor=MirrorCursor(T0 + 1, "01Z"),  # behind: ignored
            now_us=T0 + 20,
        )
        await store.record_mirror_copies(
            "staging", [copy("01E", error_class="ConnectError")], cursor=None, now_us=T0 + 30
        )
    finally:
        await store.close()
    reopened = open_store(store_url)
    await reopened.start()
    try:
        lane = await reopened.mirror_lane("staging")
        assert lane is not None and lane.cursor == later and lane.updated_us == T0 + 30
        assert lane.counts == {"2xx": 1, "5xx": 1, "sampled_out": 1, "error": 1}
        assert lane.lag_us == 7  # None left it as it was
    finally:
        await reopened.close()
        await keeper.close()


async def test_a_resent_event_replaces_its_row(store: Store) -> None:
    event_id = await stored(store, T0)
    await store.record_mirror_copies(
        "staging", [copy(event_id, status_code=500)], cursor=None, now_us=T0
    )
    await store.record_mirror_copies(
        "staging",
        [copy(event_id, status_code=200, response_excerpt=b"ok", body_sha256="ab" * 32)],
        cursor=None,
        now_us=T0,
    )
    pairs = await store.mirror_pairs("staging", compare_with=None, since_us=0, with_bodies=True)
    assert len(pairs) == 1
    assert pairs[0].copy.status_code == 200 and pairs[0].copy.response_excerpt == b"ok"
    assert pairs[0].copy.body_sha256 == "ab" * 32
    assert pairs[0].production_code is None and pairs[0].production_status is None


async def attempt_production(store: Store, code: int, number: int, status: str) -> None:
    now = time.time_ns() // 1000
    claimed = await store.claim_due(
        "w", now_us=now + 10**9, lease_us=60_000_000, limit=10, destinations=["app"]
    )
    assert len(claimed) == 1
    attempt = AttemptRecord(
        claimed[0].dispatch_id,
        number,
        now,
        2.0,
        code,
        (("content-type", "application/json"),),
        b'{"prod": %d}' % code,
        None,
        None,
        "retry" if status == "retrying" else "delivered",
        now if status == "retrying" else None,
    )
    assert await store.record_attempt("w", attempt, status=status)


async def test_pairs_join_production_as_it_stands_now(store: Store) -> None:
    event_id = await stored(store, T0, destinations=("app",))
    other = await stored(store, T0 + 1)
    await store.record_mirror_copies(
        "staging",
        [
            copy(event_id, status_code=500, response_excerpt=b'{"staging": 1}'),
            copy(other, received_us=T0 + 1, reason="rate_limited"),
        ],
        cursor=None,
        now_us=T0,
    )
    before = await store.mirror_pairs("staging", compare_with="app", since_us=0)
    assert [p.copy.event_id for p in before] == [event_id, other]
    assert before[0].production_status == "pending" and before[0].production_code is None
    assert before[1].production_status is None  # no production dispatch at all
    assert before[0].copy.response_excerpt == b""  # bodies only when asked

    await attempt_production(store, 503, 1, "retrying")
    await attempt_production(store, 200, 2, "delivered")
    (pair,) = await store.mirror_pairs(
        "staging", compare_with="app", since_us=0, event_ids=[event_id], with_bodies=True
    )
    assert (pair.production_status, pair.production_code) == ("delivered", 200)
    assert pair.production_excerpt == b'{"prod": 200}'
    assert pair.production_headers == (("content-type", "application/json"),)
    assert pair.copy.response_excerpt == b'{"staging": 1}'

    assert await store.mirror_pairs("staging", compare_with="app", since_us=T0 + 1) != []
    assert await store.mirror_pairs("staging", compare_with="app", since_us=T0 + 2) == []
    assert await store.mirror_pairs("staging", compare_with="app", since_us=0, source="x") == []
    assert await store.mirror_pairs("other", compare_with="app", since_us=0) == []


async def test_one_lane_per_mirror_across_store_instances(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    await first.start()
    await second.start()
    try:
        release = await first.hold_mirror_lane("staging")
        assert release is not None
        assert await second.hold_mirror_lane("staging") is None
        other = await second.hold_mirror_lane("other")  # another mirror is its own lane
        assert other is not None
        await release()
        again = await second.hold_mirror_lane("staging")
        assert again is not None
        await again()
        await other()
    finally:
        await second.close()
        await first.close()

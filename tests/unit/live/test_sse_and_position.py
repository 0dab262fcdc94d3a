"""The SSE wire format both ways, and the stream's position policy (pure)."""

from __future__ import annotations

import pytest

from hookyard.live import sse
from hookyard.live.position import Recheck, horizon, is_event_id, live_start
from hookyard.store.filters import lowest_id_at


def test_encode_then_decode_in_any_chunking() -> None:
    messages = [
        sse.Message(event="ready", data='{"after": null}', retry=1000),
        sse.Message(event="event", data="two\nlines", id="01ABC"),
        sse.Message(data="plain"),
    ]
    wire = b"".join(sse.encode(m) for m in messages) + sse.comment("heartbeat")
    for size in (1, 2, 7, len(wire)):
        decoder = sse.Decoder()
        got = []
        for start in range(0, len(wire), size):
            got.extend(decoder.feed(wire[start : start + size]))
        assert got == messages
        assert decoder.last_id == "01ABC"


def test_decoder_follows_the_specification_on_line_ends_and_fields() -> None:
    decoder = sse.Decoder()
    wire = b"id: 1\r\ndata:no space\rdata:  two spaces\r\n\r\n: comment\n\nevent: x\n\n"
    assert decoder.feed(wire) == [sse.Message(data="no space\n two spaces", id="1")]


def test_a_field_cannot_be_split_by_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        sse.encode(sse.Message(id="a\nb"))


def test_ids_and_horizon() -> None:
    assert is_event_id("01M8ZBZT5R3DX1K3G8DDCS2QA4")
    assert not is_event_id("01m8zbzt5r3dx1k3g8ddcs2qa4")  # the API spells them upper-case
    assert not is_event_id("01M8ZBZT5R3DX1K3G8DDCS2QA")
    now = 1_800_000_000_000_000
    assert horizon(now, 1.0) == lowest_id_at(1_799_999_999_000)
    assert live_start(now) == lowest_id_at(1_800_000_000_000)


def test_recheck_waits_for_the_settle_after_the_last_commit_else_the_heartbeat() -> None:
    recheck = Recheck(settle_seconds=1.0)
    assert recheck.wait(10.0, idle_until=25.0) == 15.0
    recheck.heard(10.0)
    assert recheck.wait(10.5, idle_until=25.0) == 0.5
    assert recheck.wait(11.0, idle_until=25.0) == 14.0  # due and read: back to the heartbeat

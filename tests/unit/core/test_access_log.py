"""The ingest access log: JSON lines, batched per event-loop turn, or plain logging."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from hookyard.logs import AccessLog, JsonFormatter


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def json_logger(name: str, stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


async def test_lines_of_one_loop_turn_leave_in_one_write() -> None:
    stream = CountingStream()
    access = AccessLog(json_logger("test.access.batched", stream), "ingest")
    for n in range(5):
        access.write(event_id=f"evt_{n}", outcome="accepted", latency_ms=1.5)
    assert stream.writes == 0  # nothing yet: the flush waits for the end of the turn
    await asyncio.sleep(0)
    assert stream.writes == 1
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event_id"] for line in lines] == [f"evt_{n}" for n in range(5)]
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "test.access.batched"
    assert lines[0]["msg"] == "ingest" and lines[0]["latency_ms"] == 1.5
    assert lines[0]["ts"].endswith("Z") and "T" in lines[0]["ts"]


async def test_the_line_matches_what_json_formatter_writes_for_the_same_fields() -> None:
    batched, plain = io.StringIO(), io.StringIO()
    AccessLog(json_logger("test.access.same", batched), "ingest").write(source="demo", status=202)
    await asyncio.sleep(0)
    logger = json_logger("test.access.plain", plain)
    logger.info("ingest", extra={"fields": {"source": "demo", "status": 202}})
    ours, theirs = json.loads(batched.getvalue()), json.loads(plain.getvalue())
    assert ours.keys() == theirs.keys()
    assert {k: v for k, v in ours.items() if k not in ("ts", "logger")} == {
        k: v for k, v in theirs.items() if k not in ("ts", "logger")
    }


async def test_without_a_json_handler_lines_go_through_logging() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("test.access.embedded")
    logger.handlers[:] = [Keep()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    AccessLog(logger, "ingest").write(event_id="evt_1")
    await asyncio.sleep(0)
    assert [r.getMessage() for r in records] == ["ingest"]
    assert records[0].fields == {"event_id": "evt_1"}  # type: ignore[attr-defined]


async def test_a_logger_above_info_gets_nothing() -> None:
    stream = io.StringIO()
    logger = json_logger("test.access.quiet", stream)
    logger.setLevel(logging.WARNING)
    AccessLog(logger, "ingest").write(event_id="evt_1")
    await asyncio.sleep(0)
    assert stream.getvalue() == ""


def test_outside_a_loop_a_line_is_written_at_once() -> None:
    stream = io.StringIO()
    AccessLog(json_logger("test.access.sync", stream), "ingest").write(event_id="evt_9")
    assert json.loads(stream.getvalue())["event_id"] == "evt_9"


async def test_values_the_fast_encoder_refuses_still_make_a_json_line() -> None:
    stream = io.StringIO()
    access = AccessLog(json_logger("test.access.odd", stream), "ingest")
    access.write(event_id="evt_big", count=10**30, by_code={404: 2}, raw=b"\xff")
    access.write(event_id="evt_small", count=1)
    await asyncio.sleep(0)
    big, small = (json.loads(line) for line in stream.getvalue().splitlines())
    assert big["count"] == 10**30 and big["by_code"] == {"404": 2} and big["raw"] == "b'\\xff'"
    assert small["count"] == 1 and small["msg"] == "ingest"

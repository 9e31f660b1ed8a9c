"""The app's own log records: written as events, read back as the same typed records."""

from __future__ import annotations

import pytest

from tutor_cli.storage.local_records import (
    CallEnded,
    ConnectionLost,
    ConnectionNote,
    HistoryRestored,
    LinkChanged,
    LocalRecord,
    ToolFinished,
    read_local,
)


@pytest.mark.parametrize(
    "record",
    [
        LinkChanged("reconnecting", "closed with 1006"),
        ConnectionNote("closed", {"code": 1000, "reason": ""}),
        ConnectionLost(),
        HistoryRestored(("evt_tutor_3", "evt_tutor_4")),
        ToolFinished("grade_lesson", "call_1", True, '{"ok": true}'),
        CallEnded("the engine connection was lost"),
        CallEnded(),
    ],
)
def test_every_record_reads_back_as_written(record: LocalRecord) -> None:
    event = record.event()
    assert event["type"].startswith("tutor.")
    assert read_local(event) == record


@pytest.mark.parametrize(
    "event",
    [
        {"type": "tutor.state", "state": "exploded"},
        {"type": "tutor.history_restored", "event_ids": "evt_1"},
        {"type": "tutor.tool", "name": "grade_lesson", "call_id": "c", "ok": "yes"},
        {"type": "tutor.from_the_future"},
        {"no": "type"},
    ],
)
def test_unknown_or_malformed_records_are_none(event: dict) -> None:
    assert read_local(event) is None

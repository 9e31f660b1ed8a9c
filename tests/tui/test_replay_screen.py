"""The replay screen (`tutor replay LOG` in a terminal), driven with Textual's Pilot.

The log is written here with known offsets; the replay's clock runs on a fake real time the
test moves by hand, so what is shown at each step is the same on every run and the tests take
seconds, whatever the log's length.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.clock import FakeClock
from tests.tui.helpers import drawn, until
from tutor_cli.tui.app import ReplayApp
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.replay_screen import ReplayScreen
from tutor_cli.tui.screens import SummaryScreen
from tutor_cli.tui.status import CallHeader, StatusBar
from tutor_cli.tui.transcript import Transcript

SIZE = (120, 40)
GRADE = {
    "score": 80,
    "goals_achieved": ["Greet the driver"],
    "errors": [{"said": "Al hotel", "correction": "Al hotel, por favor"}],
    "feedback": "Bien.",
    "next_steps": [],
}


def tutor_reply(t: float, item: str, text: str) -> list[tuple[float, str, Any]]:
    """A text reply streamed as two deltas over 0.2 s."""
    where = {"response_id": f"r_{item}", "item_id": item, "output_index": 0, "content_index": 0}
    half = len(text) // 2
    return [
        (t, "server", {"type": "response.created", "response": {"id": f"r_{item}"}}),
        (t + 0.1, "server", {"type": "response.output_text.delta", **where, "delta": text[:half]}),
        (t + 0.2, "server", {"type": "response.output_text.delta", **where, "delta": text[half:]}),
        (t + 0.2, "server", {"type": "response.output_text.done", **where, "text": text}),
        (t + 0.2, "server", {"type": "response.done", "response": {"id": f"r_{item}"}}),
    ]


def typed(t: float, text: str) -> tuple[float, str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return (t, "client", {"type": "conversation.item.create", "item": item})


def grade_call(t: float) -> list[tuple[float, str, Any]]:
    arguments = json.dumps(GRADE)
    call = {
        "type": "function_call",
        "id": "item_g",
        "call_id": "call_g",
        "name": "grade_lesson",
        "arguments": arguments,
        "status": "completed",
    }
    output = json.dumps({"ok": True, "stored": {"session_id": 1, **GRADE}})
    return [
        (t, "server", {"type": "response.created", "response": {"id": "r_g"}}),
        (
            t + 0.1,
            "server",
            {
                "type": "response.function_call_arguments.done",
                "response_id": "r_g",
                "item_id": "item_g",
                "output_index": 0,
                "call_id": "call_g",
                "name": "grade_lesson",
                "arguments": arguments,
            },
        ),
        (
            t + 0.1,
            "server",
            {"type": "response.output_item.done", "response_id": "r_g", "item": call},
        ),
        (
            t + 0.2,
            "local",
            {
                "type": "tutor.tool",
                "name": "grade_lesson",
                "call_id": "call_g",
                "ok": True,
                "output": output,
            },
        ),
        (
            t + 0.3,
            "server",
            {
                "type": "response.done",
                "response": {"id": "r_g", "status": "completed", "output": [call]},
            },
        ),
    ]


RECORDS: list[tuple[float, str, Any]] = [
    (0.0, "local", {"type": "tutor.state", "state": "connected", "detail": "offline"}),
    *tutor_reply(0.5, "i1", "¡Buenas tardes! Súbase, ¿cómo está?"),
    typed(3.0, "Buenas tardes, muy bien"),
    *tutor_reply(4.0, "i2", "¿Para dónde lo llevo?"),
    typed(6.0, "Al hotel Tequendama"),
    *tutor_reply(20.0, "i3", "Listo, llegamos al hotel Tequendama."),
    *grade_call(24.0),
    (25.0, "local", {"type": "tutor.state", "state": "closed", "detail": None}),
]


def write_log(path: Path, records: list[tuple[float, str, Any]] = RECORDS) -> Path:
    """A log as the event-log writer saves it: a header line, then `{t, dir, event}` records."""
    header = {
        "format": "tutor-eventlog",
        "version": 1,
        "tutor_version": "0.1.0",
        "scenario": "a1_taxi_bogota",
        "engine": "offline",
        "model": "offline",
        "started_at": "2025-09-01T10:00:00.000+00:00",
    }
    lines = [json.dumps(header)]
    lines += [json.dumps({"t": t, "dir": d, "event": e}, ensure_ascii=False) for t, d, e in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def screen_of(app: ReplayApp) -> ReplayScreen:
    return app.replay_screen


def transcript(app: ReplayApp) -> str:
    return screen_of(app).query_one(Transcript).plain()


def status(app: ReplayApp) -> str:
    return screen_of(app).query_one(StatusBar).render_status().plain


async def advance(pilot: Any, clock: FakeClock, seconds: float, steps: int = 4) -> None:
    """Move real time on, in steps, letting the replay worker and the screen keep up."""
    for _ in range(steps):
        clock.now += seconds / steps
        await pilot.pause(0.06)


def space_label(app: ReplayApp) -> str:
    """What the footer says the space key does."""
    return app.screen.active_bindings["space"].binding.description


def test_replay_plays_pauses_changes_speed_seeks_and_ends(tmp_path: Path, tutor_home: Path) -> None:
    log = write_log(tmp_path / "lesson.jsonl")
    clock = FakeClock()

    async def main() -> None:
        app = ReplayApp(log, real_clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            screen = screen_of(app)
            header = screen.query_one(CallHeader)
            assert header.badge == "REPLAY"
            assert "REPLAY" in str(screen.query_one("#header-badge").render())
            assert "▶ 00:00 / 00:25 ×1.0" in status(app)  # noqa: RUF001

            # The first turns appear as the lesson's time passes.
            await advance(pilot, clock, 5.0)
            await until(pilot, lambda: "¿Para dónde lo llevo?" in transcript(app), "turn 2")
            text = transcript(app)
            assert "Jairo  ¡Buenas tardes! Súbase, ¿cómo está?" in text
            assert "You  Buenas tardes, muy bien" in text
            assert "You  Al hotel" not in text  # at 6 s, not yet
            assert "00:05 / 00:25" in status(app)
            assert "← response.output_text.done" in screen.query_one(EventPane).lines.plain()

            # Space pauses: the position stays put however long we wait; space resumes. The
            # footer says what the key does now.
            assert space_label(app) == "Pause"
            await pilot.press("space")
            assert "⏸ 00:05" in status(app)
            assert space_label(app) == "Play"
            await advance(pilot, clock, 10.0)
            assert "00:05 / 00:25" in status(app)
            assert "You  Al hotel" not in transcript(app)
            await pilot.press("space")
            assert space_label(app) == "Pause"
            await advance(pilot, clock, 1.0)
            await until(pilot, lambda: "You  Al hotel Tequendama" in transcript(app), "turn 4")
            assert "▶ 00:06" in status(app)

            # + doubles the speed: one second of real time is now two of the lesson.
            await pilot.press("plus")
            assert "×2.0" in status(app)  # noqa: RUF001
            await advance(pilot, clock, 1.0)
            assert "00:08 / 00:25" in status(app)

            # Right: ten seconds on (what lies between is skipped); the later turn follows.
            await pilot.press("right")
            assert "00:18 / 00:25" in status(app)
            await advance(pilot, clock, 1.5)
            await until(pilot, lambda: "llegamos al hotel" in transcript(app), "turn 5")
            assert "00:21 / 00:25" in status(app)

            # Left: back ten seconds, replayed from the log's beginning; the later turn is gone.
            await pilot.press("left")
            await until(pilot, lambda: "llegamos" not in transcript(app), "the seek back")
            assert "00:11 / 00:25" in status(app)
            await advance(pilot, clock, 2.0)
            assert "llegamos" not in transcript(app)
            assert "00:15 / 00:25" in status(app)

            # On to the end: the grade is shown, then the summary; Enter leaves with 0.
            await pilot.press("plus", "plus", "plus")
            assert "×16.0" in status(app)  # noqa: RUF001
            await advance(pilot, clock, 1.0)
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary")
            text = transcript(app)
            assert "llegamos al hotel" in text
            assert "⚙ grade_lesson" in text and "score 80/100" in text
            assert "✎ Al hotel → Al hotel, por favor" in text
            rows = drawn(app.screen.query_one("#summary-rows"))
            assert "Lesson summary (replay)" in drawn(app.screen.query_one("#summary-title"))
            assert "tool  [00:24.1] grade_lesson" in rows and "score  80/100" in rows
            await pilot.press("enter")
        assert app.return_code == 0

    asyncio.run(main())
    assert app_stored_nothing(tutor_home)


def app_stored_nothing(home: Path) -> bool:
    return not (home / "progress.db").exists()


def test_quit_keys_leave_with_zero_and_store_nothing(tmp_path: Path, tutor_home: Path) -> None:
    log = write_log(tmp_path / "lesson.jsonl")

    async def main(key: str) -> int | None:
        clock = FakeClock()
        app = ReplayApp(log, real_clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await advance(pilot, clock, 1.0)
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            await pilot.press(key)
        return app.return_code

    for key in ("q", "escape", "ctrl+q"):
        assert asyncio.run(main(key)) == 0
    assert app_stored_nothing(tutor_home)


def test_the_event_pane_stays_bounded(tmp_path: Path) -> None:
    many = [
        (0.001 * i, "server", {"type": "rate_limits.updated", "rate_limits": []})
        for i in range(3000)
    ]
    log = write_log(tmp_path / "busy.jsonl", [*many, *RECORDS[1:6]])

    async def main() -> None:
        app = ReplayApp(log, instant=True)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary")
            pane = screen_of(app).query_one(EventPane)
            assert len(pane.records.records) <= pane.records.max_records
            assert pane.lines.entry_count <= pane.records.max_records
            assert "Súbase" in transcript(app)
            await pilot.press("enter")
        assert app.return_code == 0

    asyncio.run(main())

"""Snapshots of the call screen, the quiz and the summary at 100x30.

Nothing here depends on the clock, a port or a path: the call is never started, its updates
and frames are fed by hand under a fake clock, and the summary is built with fixed figures.
Update them after an intended change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot

from tests.clock import FakeClock
from tests.tui.helpers import OFFLINE, taxi
from tutor_cli.lesson.updates import (
    CallSummary,
    ConnectionState,
    LearnerTurn,
    Notice,
    ResponseState,
    ToolRan,
    TutorDelta,
    TutorFinal,
    UsageUpdate,
)
from tutor_cli.realtime.pricing import Usage
from tutor_cli.tools.outcomes import QuizAnswered, ToolOutcome
from tutor_cli.tools.quiz import build_quiz, quiz_seed
from tutor_cli.tui.app import CallApp
from tutor_cli.tui.screens import SummaryScreen
from tutor_cli.tui.status import StatusBar
from tutor_cli.tui.transcript import Transcript

SIZE = (100, 30)
OPENING = "¡Buenas tardes! Súbase, súbase, que ya empezó a llover. ¿Cómo está, sumercé?"
HINT = "Casi. Name the place with «a» or «al» and add «por favor»: «Al hotel, por favor.»"


def lesson_app() -> tuple[CallApp, FakeClock]:
    clock = FakeClock()
    return CallApp(taxi(), OFFLINE, autostart=False, clock=clock), clock


async def feed_lesson(app: CallApp, pilot: Pilot, clock: FakeClock) -> None:
    """A short lesson as the Call would show it, with the frames the event log would get."""
    while not app.call_screen.ready:
        await pilot.pause()
    screen = app.call_screen
    screen.query_one(StatusBar).started = clock.now
    app.record("client", {"type": "session.update", "session": {"type": "realtime"}})
    app.show(ConnectionState("connected", "offline"))
    app.record("client", {"type": "response.create"})
    clock.now += 0.2
    app.record("server", {"type": "response.created", "response": {"id": "resp_1"}})
    app.show(ResponseState("resp_1", "thinking"))
    for word in OPENING.split(" "):
        clock.now += 0.05
        app.record(
            "server",
            {"type": "response.output_text.delta", "item_id": "item_1", "delta": word + " "},
        )
        app.show(TutorDelta("item_1", word + " "))
    app.show(TutorFinal("item_1", OPENING))
    app.record("server", {"type": "response.done", "response": {"id": "resp_1"}})
    app.show(ResponseState("resp_1", "done", "completed"))
    app.show(LearnerTurn(None, "Al hotel", "typed"))
    app.record("client", {"type": "conversation.item.create", "item": {"role": "user"}})
    app.show(TutorFinal("item_2", HINT))
    arguments = json.dumps({"focus": "mixed", "questions": 4})
    result = {"quiz": {"questions": 4, "correct": 3}}
    outcome = ToolOutcome("trigger_quiz", True, "", result, effect=QuizAnswered(3, 4, {}))
    app.show(ToolRan("trigger_quiz", arguments, outcome))
    app.show(Notice("the tutor did not reply in time", "info"))
    app.show(UsageUpdate(Usage(text_in=1200, text_out=80, responses=2), 0.0061))
    # Draw now rather than at the timers' next ticks.
    screen.query_one(Transcript).flush()
    screen.events.flush()
    screen.query_one(StatusBar).draw()


def test_call_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = lesson_app()

    async def run_before(pilot: Pilot) -> None:
        await feed_lesson(app, pilot, clock)
        await pilot.press(*"Bueno")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_quiz_modal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = lesson_app()
    scenario = taxi()
    quiz = build_quiz(scenario, seed=quiz_seed(scenario))

    async def run_before(pilot: Pilot) -> None:
        await feed_lesson(app, pilot, clock)
        app.run_worker(app.ask_quiz(quiz))
        await pilot.pause()
        await pilot.press("a", "enter", "z", "enter")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_summary_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, _ = lesson_app()
    summary = CallSummary(
        scenario="a1_taxi_bogota",
        title="Taxi in Bogotá (basic greetings + destination)",
        engine="offline",
        model="offline",
        started_at=datetime(2025, 1, 1, 10, 15, tzinfo=UTC),
        duration_s=754.2,
        learner_turns=6,
        tutor_turns=8,
        grade={
            "score": 75,
            "goals_achieved": ["Greet the driver", "Say where you want to go"],
            "errors": [{"said": "Al hotel", "correction": "Al hotel Tequendama, por favor."}],
            "feedback": "Good greetings; add «por favor» to requests.",
            "next_steps": ["Practise prices: «¿Cuánto cuesta?»"],
        },
        quiz={"questions": 4, "correct": 3},
        usage=Usage(text_in=5400, audio_in=1200, text_out=300, audio_out=2100, responses=9),
        cost_usd=0.2197,
        log_path=Path("/home/learner/.local/share/tutor/sessions/20250101-101500-a1.jsonl"),
    )

    async def run_before(pilot: Pilot) -> None:
        await app.push_screen(SummaryScreen(summary, 0))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

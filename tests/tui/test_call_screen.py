"""The call screen against the offline engine, driven with Textual's Pilot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.audio.test_voice_calls import speech_wav
from tests.tui.helpers import OFFLINE, drawn, taxi, until
from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.call.settings import CallSettings
from tutor_cli.storage.store import ProgressStore
from tutor_cli.tools.quiz import LETTERS
from tutor_cli.tui.app import CallApp
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.quiz import QuizScreen
from tutor_cli.tui.say_input import SayInput
from tutor_cli.tui.screens import HelpScreen, SummaryScreen
from tutor_cli.tui.status import StatusBar
from tutor_cli.tui.transcript import Transcript

SIZE = (120, 40)


def transcript(app: CallApp) -> str:
    return app.call_screen.query_one(Transcript).plain()


def events(app: CallApp) -> str:
    return app.call_screen.query_one("#event-lines").plain()  # type: ignore[attr-defined]


async def asked_for_a_quiz(app: CallApp, pilot: Pilot[None], line: str) -> QuizScreen:
    """After the opening, the learner types `line`: the quiz window it brings up."""
    await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
    await pilot.press(*line, "enter")
    await until(pilot, lambda: isinstance(app.screen, QuizScreen), "the quiz")
    assert isinstance(app.screen, QuizScreen)
    return app.screen


def test_opening_then_a_typed_turn_and_its_reply() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            assert app.call_screen.header.state == "connected"
            assert app.focused is app.call_screen.query_one(SayInput)

            await pilot.press(*"Buenas tardes, bien", "enter")
            await until(
                pilot, lambda: "You  Buenas tardes, bien" in transcript(app), "the typed turn"
            )
            await until(pilot, lambda: "¿Para dónde lo llevo?" in transcript(app), "the reply")
            await until(pilot, lambda: app.call.conversation.turns[-1].role == "assistant", "idle")
            lines = transcript(app).splitlines()
            mine = next(i for i, line in enumerate(lines) if line == "You  Buenas tardes, bien")
            assert lines[mine + 1].startswith("Jairo  ")  # the reply follows the turn
            assert app.call_screen.query_one(SayInput).value == ""

            status = app.call_screen.query_one(StatusBar)
            await until(pilot, lambda: status.tokens > 0, "usage")
            text = status.render_status().plain
            # No microphone: nobody listens, it is the learner's turn to type.
            assert "your turn" in text and "text only" in text and "/ 60:00" in text
            # The offline engine bills nothing: tokens, and no word about cost.
            assert text.endswith(" tokens") and "$" not in text and "cost" not in text
            await app.close_call()

    asyncio.run(main())


def test_event_log_shows_both_directions_filters_and_hides() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            pane = app.call_screen.query_one(EventPane)
            await until(pilot, lambda: "← response.done" in events(app), "response.done")
            log = events(app)
            assert "→ session.update" in log and "→ response.create" in log
            assert "← session.updated" in log
            # The opening's text deltas are one folded line with a count.
            folded = [line for line in log.splitlines() if "response.output_text.delta" in line]
            assert len(folded) == 1 and "\u00d7" in folded[0] and "chars" in folded[0]

            pane.query_one("#event-filter").focus()
            await pilot.press(*"response.done")
            await pilot.pause(0.05)
            shown = events(app).splitlines()
            assert shown and all("response.done" in line for line in shown)
            await pilot.press(*["backspace"] * len("response.done"))
            assert len(events(app).splitlines()) > len(shown)

            await pilot.press("ctrl+l")
            assert not pane.display
            assert app.focused is app.call_screen.query_one(SayInput)  # focus left the pane
            await pilot.press("ctrl+l")
            assert pane.display and "→ session.update" in events(app)
            await app.close_call()

    asyncio.run(main())


def test_quiz_modal_round_trip() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            quiz = await asked_for_a_quiz(app, pilot, "can we do a quiz?")
            first, second = quiz.quiz.questions[:2]
            assert first.choices and second.choices
            right = LETTERS[first.choices.index(first.answer)]
            wrong = next(
                LETTERS[i] for i, choice in enumerate(second.choices) if choice != second.answer
            )
            await pilot.press(right, "enter")
            await pilot.press(wrong, "enter")
            results = drawn(quiz.query_one("#quiz-results"))
            assert "✓ 1." in results and "✗ 2." in results and "expected:" in results
            await pilot.press("escape")  # the rest are skipped

            await until(pilot, lambda: "Resultado del quiz" in transcript(app), "the comment")
            assert app.screen is app.call_screen
            assert "⚙ trigger_quiz" in transcript(app) and "1/4 right" in transcript(app)
            assert app.call.summary.quiz is not None
            assert app.call.summary.quiz["correct"] == 1
            assert app.call.summary.quiz["answers"][0]["given"] == first.answer
            await until(
                pilot, lambda: "→ conversation.item.create output" in events(app), "the output"
            )
            await app.close_call()

    asyncio.run(main())


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c"])
def test_ending_shows_the_summary_then_exits_0_with_log_and_grade(
    key: str, tutor_home: Path
) -> None:
    async def main() -> CallApp:
        with ProgressStore.open_default() as store:
            app = CallApp(taxi(), OFFLINE, store=store)
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
                await pilot.press(*"Buenas tardes, bien", "enter")
                await until(pilot, lambda: "¿Para dónde" in transcript(app), "the reply")
                await pilot.press(key)
                assert app.call_screen.phase in ("ending", "ended")
                await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "summary")
                rows = drawn(app.screen.query_one("#summary-rows"))
                assert "score" in rows and "/100" in rows and "log" in rows
                assert "✓ Greet someone" in rows and "✗ Thank someone" in rows  # every goal
                assert "⚙ grade_lesson" in transcript(app)
                await pilot.press("enter")
                await until(pilot, lambda: not app.is_running, "the exit")
        return app

    app = asyncio.run(main())
    assert app.return_code == 0
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert last["event"]["type"] == "tutor.call_ended"
    with ProgressStore.open_default() as store:
        (progress,) = store.progress()
        (session,) = store.sessions()
    # The grade was asked for and stored, but the learner ended the lesson before its end.
    assert progress.scenario == "a1_taxi_bogota" and progress.unfinished == 1
    assert session["grade"] is not None and session["finished"] is False
    assert session["kind"] == "live"
    assert session["log_path"] == str(log) and session["ended_at"] is not None


def test_ending_during_the_quiz_skips_the_rest() -> None:
    async def main() -> CallApp:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await asked_for_a_quiz(app, pilot, "quiz please")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "summary")
            assert app.call.summary.quiz is not None
            assert app.call.summary.quiz["correct"] == 0
            await pilot.press("q")
        return app

    assert asyncio.run(main()).return_code == 0


def test_a_line_typed_over_the_quiz_result_is_kept_for_the_tutor() -> None:
    """Typing on after the last answer lands in the quiz box, whose Enter sends the result:
    the line is not lost, it waits in the call's text box."""

    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            quiz = await asked_for_a_quiz(app, pilot, "quiz")
            for _ in quiz.quiz.questions:
                await pilot.press("a", "enter")
            assert quiz.done
            await pilot.press(*"Cuanto cuesta", "enter")
            await until(pilot, lambda: not isinstance(app.screen, QuizScreen), "the quiz closed")
            assert app.call_screen.query_one(SayInput).value == "Cuanto cuesta"
            await app.close_call()

    asyncio.run(main())


def test_an_unreachable_engine_is_shown_and_exits_1() -> None:
    settings = CallSettings(engine="ws://127.0.0.1:9/v1/realtime", text_only=True)

    async def main() -> CallApp:
        app = CallApp(taxi(), settings)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.call_screen
            await until(pilot, lambda: screen.header.state == "failed", "the failure")
            banner = screen.query_one("#alert-banner")
            assert banner.display and "The call failed" in drawn(banner)
            assert screen.query_one(StatusBar).turn == "not connected"
            await pilot.press(*"hola", "enter")  # not sent, kept in the box
            assert screen.query_one(SayInput).value == "hola"
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, SummaryScreen), "summary")
            assert "failed" in drawn(app.screen.query_one("#summary-rows"))
            await pilot.press("escape")
        return app

    assert asyncio.run(main()).return_code == 1


def test_small_terminal_and_resizing() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=(80, 24)) as pilot:
            view = app.call_screen.query_one(Transcript)
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            pane = app.call_screen.query_one(EventPane)
            assert not pane.display  # too narrow to show both at first
            await pilot.press("ctrl+l")
            assert pane.display
            await pilot.pause(0.1)
            narrow = view.line_count
            await pilot.resize_terminal(140, 45)
            await pilot.pause(0.1)
            assert view.line_count < narrow  # the turns were wrapped again, wider
            assert "Súbase" in drawn(view).replace("\n", " ")
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.1)
            assert view.line_count == narrow
            await app.close_call()

    asyncio.run(main())


@pytest.mark.slow
def test_a_spoken_turn_with_a_wav_microphone(tmp_path: Path) -> None:
    mic = speech_wav(tmp_path / "speech.wav", "Buenas tardes. Muy bien, gracias.", lead_s=0.5)
    voice = VoiceSettings(mic_file=mic, speaker_file=tmp_path / "out.wav", mic_realtime=False)
    settings = CallSettings(engine="offline", pace=0, voice=voice, grade_timeout=5)

    async def main() -> None:
        app = CallApp(taxi(), settings)
        async with app.run_test(size=SIZE) as pilot:
            status = app.call_screen.query_one(StatusBar)
            await until(pilot, lambda: status.level is not None, "the mic meter")
            assert status.mode.mode == "voice"
            assert "voice + text" in status.render_status().plain
            assert not app.call_screen.query_one("#audio-banner").display
            await until(pilot, lambda: "You (spoken)" in transcript(app), "the spoken turn", 30)
            await until(pilot, lambda: "¿Para dónde lo llevo?" in transcript(app), "the reply", 30)
            spoken = next(line for line in transcript(app).splitlines() if "(spoken)" in line)
            assert "…" not in spoken  # filled in: words, or why there are none
            assert "input_audio_buffer.append" in events(app)
            await pilot.press("f2")
            await until(pilot, lambda: status.mode.muted, "muted")
            assert "mic muted" in status.render_status().plain
            await pilot.press("ctrl+t")
            await until(pilot, lambda: not status.mode.muted, "unmuted")
            await app.close_call()

    asyncio.run(main())


def test_help_screen_lists_the_keys() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            text = drawn(app.screen.query_one("#help-keys"))
            for key in ("ctrl+l", "ctrl+t / F2", "F3", "ctrl+q / ctrl+c", "Enter"):
                assert key in text
            await pilot.press("escape")
            assert app.screen is app.call_screen
            await app.close_call()

    asyncio.run(main())

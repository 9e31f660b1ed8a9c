"""The call screen says what to do: goals ticked as they are met, the current objective, the
end of the lesson, one line when there is no audio, and typing that always reaches the box."""

from __future__ import annotations

import asyncio

from tests.tui.helpers import OFFLINE, drawn, taxi, until
from tutor_cli.lesson.updates import AudioMode, Goal, LessonProgress
from tutor_cli.tui.app import CallApp
from tutor_cli.tui.lesson_panel import GoalsPanel, ObjectiveLine
from tutor_cli.tui.say_input import SayInput
from tutor_cli.tui.status import StatusBar
from tutor_cli.tui.transcript import Transcript

SIZE = (120, 40)


def transcript(app: CallApp) -> str:
    return app.call_screen.query_one(Transcript).plain()


def goals(app: CallApp) -> str:
    return drawn(app.call_screen.query_one(GoalsPanel))


def objective(app: CallApp) -> str:
    return drawn(app.call_screen.query_one(ObjectiveLine))


def test_goals_tick_as_they_are_met_and_the_objective_follows() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            assert "goals 0/5" in goals(app)
            assert "○ Greet someone politely" in goals(app)
            assert "step 1/6" in objective(app)
            assert "now: Greet the driver back and say how you are." in objective(app)
            assert 'type "quiz" for a quiz' in objective(app)

            await pilot.press(*"Buenas tardes, muy bien", "enter")
            await until(pilot, lambda: "goals 1/5" in goals(app), "the first goal")
            assert "✓ Greet someone politely" in goals(app)
            assert "○ Tell a taxi driver" in goals(app)
            assert "step 2/6" in objective(app) and "Say where you want to go." in objective(app)
            await app.close_call()

    asyncio.run(main())


def test_a_complete_lesson_says_so_and_how_to_leave() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            screen = app.call_screen
            done = LessonProgress((Goal("Greet", True), Goal("Pay", False)), None, 7, 6, True)
            screen.show(done)
            await pilot.pause(0.3)
            assert "lesson complete — ctrl+q for your summary" in objective(app)
            assert "goals 1/2" in objective(app)
            status = screen.query_one(StatusBar).render_status().plain
            assert "lesson complete" in status and "listening" not in status
            assert screen.query_one(SayInput).placeholder.startswith("lesson complete")
            await app.close_call()

    asyncio.run(main())


def test_a_small_terminal_keeps_the_objective_and_drops_the_goals() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            screen = app.call_screen
            assert not screen.query_one(GoalsPanel).display
            assert not screen.query_one("#side").display  # no empty column either
            assert screen.query_one(ObjectiveLine).display
            await pilot.press("ctrl+l")  # the event log, asked for, gets the side column
            assert screen.query_one("#side").display
            await pilot.resize_terminal(120, 40)
            await pilot.pause(0.1)
            assert screen.query_one(GoalsPanel).display
            await app.close_call()

    asyncio.run(main())


def test_keys_typed_outside_the_text_box_go_into_it() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            screen = app.call_screen
            screen.query_one(Transcript).focus()
            await pilot.press(*"Hola")
            say = screen.query_one(SayInput)
            assert say.value == "Hola" and app.focused is say
            screen.query_one("#event-lines").focus()
            await pilot.press(*" sí")
            assert say.value == "Hola sí"
            await app.close_call()

    asyncio.run(main())


def test_no_audio_is_one_line_and_the_mic_keys_say_why() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            screen = app.call_screen
            screen.show(AudioMode("text", reason="PortAudio is not available"))
            await pilot.pause(0.1)
            banner = screen.query_one("#audio-banner")
            assert banner.display and banner.outer_size.height == 1
            assert "PortAudio is not available" in drawn(banner)
            assert "tutor doctor" in str(banner.render())
            assert "PortAudio" not in transcript(app)  # once, not in the transcript too
            assert not app._notifications  # nor as a toast over the text box
            status = screen.query_one(StatusBar).render_status().plain
            assert "your turn" in status and "listening" not in status

            await pilot.press("ctrl+t")
            await pilot.pause(0.1)
            told = [n.message for n in app._notifications]
            assert told and "text only" in told[-1] and "no microphone to mute" in told[-1]
            await pilot.press("f3")
            await pilot.pause(0.1)
            assert "no microphone to talk into" in [n.message for n in app._notifications][-1]
            await app.close_call()

    asyncio.run(main())


def test_a_lesson_graded_before_its_last_step_says_where_it_ended() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "Súbase" in transcript(app), "the opening")
            screen = app.call_screen
            early = LessonProgress((Goal("Greet", True),), "Accept the price.", 4, 6, True)
            screen.show(early)
            await pilot.pause(0.3)
            assert "lesson ended at step 4 of 6 — ctrl+q for your summary" in objective(app)
            assert "complete" not in objective(app)
            status = screen.query_one(StatusBar).render_status().plain
            assert "lesson ended" in status and "complete" not in status
            await app.close_call()

    asyncio.run(main())

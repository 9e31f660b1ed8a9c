"""The call screen's parts fed directly: literal text, coalescing, bounds, the event log's lines."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace

from rich.text import Text
from textual.app import App, ComposeResult

from tests.clock import FakeClock
from tests.tui.helpers import OFFLINE, drawn, taxi, until
from tutor_cli.lesson.updates import (
    AudioMode,
    ConnectionState,
    LearnerTranscript,
    LearnerTurn,
    MicLevel,
    Notice,
    ResponseState,
    ServerError,
    SpeechStarted,
    ToolRan,
    TutorDelta,
    TutorFinal,
)
from tutor_cli.tools.outcomes import ToolOutcome
from tutor_cli.tools.quiz import Question, Quiz
from tutor_cli.tui.app import CallApp
from tutor_cli.tui.event_pane import EventPane, EventRecords
from tutor_cli.tui.lines import LineList
from tutor_cli.tui.quiz import QuizScreen, chosen, expected
from tutor_cli.tui.status import StatusBar, meter
from tutor_cli.tui.transcript import Transcript

HOSTILE = "[bold red]x[/] \x1b[2J"
SHOWN = "[bold red]x[/] ␛[2J"  # as it must appear: markup not parsed, ESC made visible


def test_model_and_tool_text_is_shown_literally() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.call_screen.query_one(Transcript)
            app.show(TutorDelta("item_1", HOSTILE[:6]))
            app.show(TutorDelta("item_1", HOSTILE[6:]))
            await until(pilot, lambda: SHOWN in drawn(view), "the deltas, while streaming")
            app.show(TutorFinal("item_1", HOSTILE))
            app.show(LearnerTurn(None, HOSTILE, "typed"))
            app.show(Notice(HOSTILE, "warning"))
            app.show(ServerError("[b]code[/b]", HOSTILE))
            failed = ToolOutcome("grade_lesson", False, "", error=HOSTILE)
            app.show(ToolRan("grade_lesson", json.dumps({"feedback": "[i]y[/i]"}), failed))
            app.show(ConnectionState("failed", HOSTILE))
            app.record("server", {"type": "response.output_text.done", "text": HOSTILE})
            app.record("local", HOSTILE)
            lines = app.call_screen.query_one("#event-lines")
            await until(
                pilot,
                lambda: drawn(view).count(SHOWN) == 5 and f"· frame {SHOWN}" in drawn(lines),
                "every line drawn",
            )

            text = drawn(view)
            assert text.count(SHOWN) == 5, text
            assert "[b]code[/b]" in text and "[i]y[/i]" in text
            segments = [
                segment
                for y in range(view.scrollable_content_region.height)
                for segment in view.render_line(y)
            ]
            assert not any("\x1b" in segment.text for segment in segments)
            # The injected markup styled nothing: the x is no redder than the brackets around it.
            styles = {segment.style for segment in segments if "[bold red]x" in segment.text}
            assert styles and all(style is None or not style.bold for style in styles)

            log = drawn(lines)
            assert "← response.output_text.done [bold …" in log  # cut at the width
            assert f"· frame {SHOWN}" in log
            banner = drawn(app.call_screen.query_one("#alert-banner"))
            assert SHOWN in banner
            await app.close_call()

    asyncio.run(main())


def test_delta_storm_is_coalesced_into_one_rewrap() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.call_screen.query_one(Transcript)
            drawn_entries: list[str] = []
            append, replace = view.append, view.replace

            def counting_append(text: Text) -> int:
                drawn_entries.append("append")
                return append(text)

            def counting_replace(key: int, text: Text) -> bool:
                drawn_entries.append("replace")
                return replace(key, text)

            view.append = counting_append  # type: ignore[method-assign]
            view.replace = counting_replace  # type: ignore[method-assign]
            for _ in range(1000):
                app.show(TutorDelta("item_1", "ab "))
            assert drawn_entries == []  # nothing is laid out per delta
            view.flush()
            assert drawn_entries == ["append", "replace"]  # the turn, laid out once
            assert view.plain().count("ab") == 1000
            await pilot.pause(0.1)
            await app.close_call()

    asyncio.run(main())


def test_spoken_turn_is_filled_in_where_it_was_said() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.call_screen.query_one(Transcript)
            app.show(SpeechStarted("item_u1", 0))
            app.show(LearnerTurn("item_u1", None, "speech"))
            app.show(TutorDelta("item_t1", "¿Para dónde?"))
            app.show(LearnerTurn("item_u2", None, "speech"))
            app.show(LearnerTranscript("item_u2", None, "no recogniser"))
            app.show(LearnerTranscript("item_u1", "Al hotel, por favor."))
            app.show(TutorFinal("item_t1", "¿Para dónde?"))
            await pilot.pause(0.1)
            assert view.plain().splitlines() == [
                "You (spoken)  Al hotel, por favor.",
                "Jairo  ¿Para dónde?",
                "You (spoken)  [not transcribed: no recogniser]",
            ]
            await app.close_call()

    asyncio.run(main())


def test_status_bar_meter_turns_and_modes() -> None:
    async def main() -> None:
        clock = FakeClock()
        voice = replace(OFFLINE, text_only=False)  # never started: no device is opened
        app = CallApp(taxi(), voice, autostart=False, clock=clock)
        async with app.run_test(size=(120, 30)) as pilot:
            status = app.call_screen.query_one(StatusBar)
            status.started = clock.now
            app.show(AudioMode("voice"))
            app.show(MicLevel(-30.0, -12.0))
            app.show(ResponseState("r1", "speaking"))
            clock.now += 125
            text = status.render_status().plain
            assert f"mic {meter(-30.0)} -30 dB" in text
            assert "tutor speaking" in text and "voice + text" in text
            assert "02:05 / 60:00" in text
            app.show(AudioMode("voice", muted=True))
            assert "mic muted" in status.render_status().plain
            app.show(AudioMode("push_to_talk"))
            await pilot.press("f3")
            assert "push-to-talk: talking" in status.render_status().plain
            app.show(AudioMode("text", reason="no input device found"))
            await pilot.pause(0.05)
            banner = drawn(app.call_screen.query_one("#audio-banner"))
            assert "Text-only call: no input device found" in banner
            await app.close_call()

    asyncio.run(main())


def test_event_records_fold_deltas_and_stay_bounded() -> None:
    records = EventRecords(max_records=50)
    audio = base64.b64encode(bytes(4800)).decode()  # 100 ms at 24 kHz PCM16
    for index in range(30):
        records.add(
            index * 0.01,
            "server",
            {"type": "response.output_audio.delta", "item_id": "item_a", "delta": audio},
        )
        records.add(
            index * 0.01,
            "server",
            {
                "type": "response.output_audio_transcript.delta",
                "item_id": "item_a",
                "delta": "hola ",
            },
        )
        records.add(index * 0.01, "client", {"type": "input_audio_buffer.append", "audio": audio})
    assert len(records.records) == 3
    lines = {r.type: r.detail() for r in records.records}
    assert lines["response.output_audio.delta"].startswith("\u00d730, 3.0 s audio")
    assert lines["response.output_audio_transcript.delta"].startswith("\u00d730, 150 chars")
    assert lines["input_audio_buffer.append"].startswith("\u00d730, 3.0 s audio")
    records.add(1.0, "server", {"type": "input_audio_buffer.committed"})
    records.add(1.1, "client", {"type": "input_audio_buffer.append", "audio": audio})
    assert len(records.records) == 5  # a new mic line after the turn was taken

    for index in range(200):
        records.add(2 + index, "server", {"type": "response.done", "response": {"id": index}})
    assert len(records.records) == 50
    assert records.records[-1].summary == "199"
    # a folded line that was forgotten is not grown any more: the next delta starts a new one
    again = records.add(
        300.0,
        "server",
        {"type": "response.output_audio.delta", "item_id": "item_a", "delta": audio},
    )
    assert again is records.records[-1] and again.count == 1


def test_line_list_keeps_at_most_max_entries() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LineList(max_entries=100)

    async def main() -> None:
        app = Host()
        async with app.run_test(size=(60, 20)) as pilot:
            lines = app.query_one(LineList)
            keys = [lines.append(Text(f"line {i}")) for i in range(1000)]
            assert lines.entry_count <= 100 and lines.line_count == lines.entry_count
            assert not lines.has(keys[0]) and not lines.replace(keys[0], Text("gone"))
            assert lines.replace(keys[-1], Text("last\nof all"))
            await pilot.pause(0.05)
            assert drawn(lines).splitlines()[-2:] == ["last", "of all"]

    asyncio.run(main())


def test_quiz_window_shows_spelling_and_says_what_enter_does_at_the_end() -> None:
    quiz = Quiz("Taxi quiz", (Question("fill", "¿Cómo está, ____?", "sumercé"),))

    class Host(App[None]):
        answers: list[str] | None = None

        def on_mount(self) -> None:
            def done(answers: list[str] | None) -> None:
                self.answers = answers

            self.push_screen(QuizScreen(quiz), done)

    async def main() -> None:
        app = Host()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert "Esc: skip the rest" in drawn(screen.query_one("#quiz-keys"))
            await pilot.press(*"sumerce", "enter")
            assert "✓ 1. sumerce  spelt: sumercé" in drawn(screen.query_one("#quiz-results"))
            keys = drawn(screen.query_one("#quiz-keys"))
            assert "send the result" in keys and "skip" not in keys
            await pilot.press("enter")
            assert app.answers == ["sumerce"]

    asyncio.run(main())


def test_status_bar_shows_a_cost_only_for_engines_that_bill() -> None:
    free = StatusBar(FakeClock())
    free.tokens, free.cost = 19456, None
    assert free.render_status().plain.endswith("19,456 tokens")
    billed = StatusBar(FakeClock(), billed=True)
    billed.tokens = 19456
    assert billed.render_status().plain.endswith("19,456 tokens · no cost estimate")
    billed.cost = 0.0261
    assert billed.render_status().plain.endswith("19,456 tokens · $0.0261")


def test_quiz_answers_by_letter_or_number() -> None:
    question = Question("choice", "What does «mil» mean?", "thousand", ("where", "thousand"))
    assert chosen(question, "b") == chosen(question, "2") == "thousand"
    assert chosen(question, " mil ") == "mil"
    assert expected(question) == "b) thousand"


def test_event_pane_hidden_skips_drawing() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(120, 30)) as pilot:
            pane = app.call_screen.query_one(EventPane)
            await pilot.press("ctrl+l")
            for index in range(100):
                app.record("server", {"type": "rate_limits.updated", "n": index})
            pane.flush()
            assert pane.lines.entry_count == 0
            await pilot.press("ctrl+l")
            assert pane.lines.entry_count == 100
            await app.close_call()

    asyncio.run(main())


def test_line_list_follows_the_end_unless_the_reader_scrolled_up() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LineList(max_entries=100)

    async def main() -> None:
        app = Host()
        async with app.run_test(size=(60, 20)) as pilot:
            lines = app.query_one(LineList)
            for i in range(50):
                lines.append(Text(f"line {i}"))
            await pilot.pause(0.05)
            assert drawn(lines).splitlines()[-1] == "line 49"
            lines.scroll_to(y=10, animate=False)  # the reader looks back
            await pilot.pause(0.05)
            for i in range(50, 60):
                lines.append(Text(f"line {i}"))
            await pilot.pause(0.05)
            assert drawn(lines).splitlines()[0] == "line 10"  # not moved
            for i in range(60, 101):  # the oldest tenth is dropped: the view stays on its lines
                lines.append(Text(f"line {i}"))
            await pilot.pause(0.05)
            assert drawn(lines).splitlines()[0] == "line 10"
            lines.scroll_end(animate=False)  # back at the end: following again
            await pilot.pause(0.05)
            lines.append(Text("newest"))
            await pilot.pause(0.05)
            assert drawn(lines).splitlines()[-1] == "newest"

    asyncio.run(main())

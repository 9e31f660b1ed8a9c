"""A call screen nobody touches: what still moves (the clock, once a second, with the folded
event lines that grew), and what stops (the cursor's blinking, the clock once the call ends)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from tests.clock import FakeClock
from tests.tui.helpers import OFFLINE, drawn, taxi, until
from tutor_cli.lesson.tracker import LessonTracker
from tutor_cli.lesson.updates import AudioMode, MicLevel
from tutor_cli.realtime.events import input_audio_append
from tutor_cli.tui.app import CallApp
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.lesson_panel import GoalsPanel, ObjectiveLine
from tutor_cli.tui.say_input import SayInput
from tutor_cli.tui.status import StatusBar


def test_a_growing_mic_line_is_redrawn_with_the_clock() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(160, 30)) as pilot:
            pane = app.call_screen.query_one(EventPane)
            frame = input_audio_append(bytes(960))
            app.record("client", frame)
            # a new line: drawn soon after it came, without being asked
            await until(pilot, lambda: "append ×1," in pane.lines.plain(), "the new line")  # noqa: RUF001
            for _ in range(4):
                app.record("client", frame)
            pane.flush_grown()  # what the screen does once a second
            assert "input_audio_buffer.append ×5," in pane.lines.plain()  # noqa: RUF001
            app.record("server", {"type": "input_audio_buffer.committed"})
            app.record("client", frame)  # a new turn: a new line, not a grown one
            pane.flush()
            assert pane.lines.plain().count("input_audio_buffer.append") == 2
            await app.close_call()

    asyncio.run(main())


def test_the_meter_and_the_clock_and_the_end_of_the_call() -> None:
    async def main() -> None:
        clock = FakeClock()
        voice = replace(OFFLINE, text_only=False)  # never started: no device is opened
        app = CallApp(taxi(), voice, autostart=False, clock=clock)
        async with app.run_test(size=(120, 30)) as pilot:
            status = app.call_screen.query_one(StatusBar)
            status.started = clock.now
            app.show(AudioMode("voice"))
            app.show(MicLevel(-100.0, -100.0))
            app.show(MicLevel(-99.6, -99.0))  # the same bar and the same -99 dB
            clock.now += 61
            await pilot.pause(1.3)  # the screen's clock ticks
            assert "mic ░░░░░░░░ -99 dB" in drawn(status)
            assert "01:01 / 60:00" in drawn(status)
            status.stop_clock()
            clock.now += 30
            status.draw()
            assert "01:01 / 60:00" in drawn(status)  # the call is over: the time stays
            await app.close_call()

    asyncio.run(main())


def test_the_cursor_stops_blinking_when_nobody_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SayInput, "BLINK_TIMEOUT_S", 0.3)

    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(100, 30)) as pilot:
            say = app.call_screen.query_one(SayInput)
            assert say.cursor_blink
            await pilot.pause(0.6)
            assert not say.cursor_blink  # steady, and still shown: the box has the focus
            await pilot.press("h")
            assert say.cursor_blink and say.value == "h"
            await pilot.pause(0.2)
            await pilot.press("i")
            await pilot.pause(0.2)
            assert say.cursor_blink  # 0.4 s since the first key, 0.2 s since the last
            await pilot.pause(0.4)
            assert not say.cursor_blink
            await app.close_call()

    asyncio.run(main())


def running_timers(app: CallApp) -> list[str]:
    """The timers that would wake the program: started, not paused, not finished."""
    nodes = [app, app.screen, *app.screen.walk_children(with_self=False)]
    return sorted(
        f"{type(node).__name__}:{getattr(timer._callback, '__name__', timer.name)}"
        for node in nodes
        for timer in node._timers
        if timer._task is not None and not timer._task.done() and timer._active.is_set()
    )


def test_a_call_nobody_touches_runs_only_its_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SayInput, "BLINK_TIMEOUT_S", 0.3)

    async def main() -> None:
        app = CallApp(taxi(), OFFLINE)
        async with app.run_test(size=(120, 40)) as pilot:
            status = app.call_screen.status
            await until(pilot, lambda: status.tokens > 0, "the opening, to its usage")
            await until(pilot, lambda: not app.call_screen.query_one(SayInput).cursor_blink, "")
            await pilot.pause(0.5)  # the last draws asked for are done
            assert running_timers(app) == ["CallScreen:_each_second"]
            await app.close_call()

    asyncio.run(main())


def test_the_goals_and_the_objective_redraw_only_when_they_change() -> None:
    async def main() -> None:
        app = CallApp(taxi(), OFFLINE, autostart=False)
        async with app.run_test(size=(120, 40)) as pilot:
            drawn_by: list[str] = []
            for widget in (
                app.call_screen.query_one(GoalsPanel),
                app.call_screen.query_one(ObjectiveLine),
            ):
                update = widget.update

                def counting(
                    *args: Any,
                    _name: str = type(widget).__name__,
                    _update: Any = update,
                    **kwargs: Any,
                ) -> None:
                    drawn_by.append(_name)
                    _update(*args, **kwargs)

                widget.update = counting
            tracker = LessonTracker(taxi())
            app.show(tracker.progress())  # what is on screen already
            app.show(tracker.progress())
            assert drawn_by == []
            progress = tracker.heard("Buenas tardes. Muy bien, gracias. ¿Y usted?")
            assert progress is not None
            app.show(progress)
            app.show(progress)
            assert sorted(drawn_by) == ["GoalsPanel", "ObjectiveLine"]
            await pilot.pause()
            assert "✓ Greet someone" in drawn(app.call_screen.query_one(GoalsPanel))
            await app.close_call()

    asyncio.run(main())

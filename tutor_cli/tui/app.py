"""The Textual apps: a call on the call screen, and a saved lesson replayed on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tutor_cli.call.controller import Call
from tutor_cli.call.ending import ending_signals
from tutor_cli.call.settings import CallSettings
from tutor_cli.errors import BadInput
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.updates import CallSummary, CallUpdate
from tutor_cli.replay.lesson import ReplaySummary
from tutor_cli.replay.playback import Speaker, log_duration, peek_info
from tutor_cli.storage.store import ProgressStore
from tutor_cli.tools.quiz import Quiz
from tutor_cli.tui.call_screen import CallScreen, Clock
from tutor_cli.tui.quiz import QuizScreen
from tutor_cli.tui.replay_screen import ReplayScreen
from tutor_cli.tui.say_input import SayInput
from tutor_cli.tui.screens import SummaryScreen
from tutor_cli.tui.status import clock_text
from tutor_cli.tui.terminal import driver_class


class CallApp(App[int]):
    """A lesson on screen: a view over one Call (`show`, `ask_quiz`)."""

    CSS_PATH = "call.tcss"
    TITLE = "tutor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "end_call", "End call", priority=True),
        Binding("ctrl+c", "end_call", "End call", show=False, priority=True),
    ]

    def __init__(
        self,
        scenario: Scenario,
        settings: CallSettings,
        *,
        call: Call | None = None,
        store: ProgressStore | None = None,
        clock: Clock = time.monotonic,
        autostart: bool = True,
    ) -> None:
        super().__init__(driver_class=driver_class())
        self.scenario = scenario
        self.settings = settings
        if call is None:
            call = Call(scenario, settings, self, store=store)
        else:
            call.view = self
        self.call = call
        self.clock = clock
        self.call_screen = CallScreen(call, clock=clock, autostart=autostart)

    def get_default_screen(self) -> Screen[Any]:
        return self.call_screen

    # --- the CallView protocol -------------------------------------------------------------------

    def show(self, update: CallUpdate) -> None:
        """An update from the Call: shown, never allowed to crash the app."""
        try:
            self.call_screen.show(update)
        except Exception as exc:
            self.notify(f"could not show {type(update).__name__}: {exc}", severity="error")

    def record(self, direction: str, event: dict[str, Any] | str) -> None:
        """A frame, either way: for the event log."""
        self.call_screen.record(direction, event)

    async def ask_quiz(self, quiz: Quiz) -> list[str]:
        """Show the quiz modal; the answers when it is done (or skipped)."""
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()

        def finished(answers: list[str] | None) -> None:
            if not done.done():
                done.set_result(list(answers or []))

        screen = QuizScreen(quiz)
        self.call_screen.quiz_screen = screen
        try:
            await self.push_screen(screen, callback=finished)
            return await done
        finally:
            self.call_screen.quiz_screen = None
            if screen.typed_after:  # for the tutor, not the quiz: it waits in the text box
                self.call_screen.query_one(SayInput).value = screen.typed_after

    # --- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # On the summary the call is over: its own keys (Enter, q, Esc, ctrl+q) leave.
        return not (action == "end_call" and isinstance(self.screen, SummaryScreen))

    def action_end_call(self) -> None:
        self.call_screen.end_call()

    async def close_call(self) -> None:
        """If the app stopped without ending the call (a crash), close it: the log is complete
        and the session's end recorded."""
        if not self.call_screen.ended:
            self.call_screen.ended = True
            await self.call.close()


def run_call_screen(scenario: Scenario, settings: CallSettings) -> tuple[int, CallSummary]:
    """`tutor call SCENARIO`: the call screen until the learner leaves the summary. The exit
    code (0, or 1 when the call failed) and what the call came to, to print once the screen
    is gone."""
    with ProgressStore.open_default() as store:
        app = CallApp(scenario, settings, store=store)

        def first(_signum: int) -> None:
            app.call_screen.end_call(leave=True)

        def second(_signum: int) -> None:
            app.call.hurry()
            app.exit(1, return_code=1)

        async def run() -> int:
            with ending_signals(first, second):
                try:
                    await app.run_async()
                finally:
                    await app.close_call()
            return app.return_code or 0

        return asyncio.run(run()), app.call.summary


class ReplayApp(App[int]):
    """A saved lesson on the call screen. Exits 0 when the learner leaves; 2 (with `error` set)
    when the log turns out to have nothing to replay, 1 on any other failure."""

    CSS_PATH = "call.tcss"
    TITLE = "tutor replay"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        log: Path,
        *,
        speed: float = 1.0,
        instant: bool = False,
        start_at: float = 0.0,
        strict: bool = False,
        speaker: Speaker | None = None,
        real_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Raises `BadInput` at once for a log with nothing to replay or a start past its end."""
        super().__init__(driver_class=driver_class())
        info = peek_info(log)
        duration = log_duration(log)
        if duration is not None and start_at > duration:
            raise BadInput(f"--from: {clock_text(start_at)} is past the end of {log}")
        self.replay_screen = ReplayScreen(
            log,
            info,
            speed=speed,
            instant=instant,
            start_at=start_at,
            strict=strict,
            duration=duration,
            speaker=speaker,
            real_clock=real_clock,
        )

    def get_default_screen(self) -> Screen[Any]:
        return self.replay_screen

    @property
    def summary(self) -> ReplaySummary | None:
        return self.replay_screen.summary

    @property
    def error(self) -> Exception | None:
        return self.replay_screen.error

    def say(self, text: str) -> None:
        """A message for the learner (the speaker saying there is no sound), as a notification."""
        if self.is_running:
            self.notify(text, markup=False)

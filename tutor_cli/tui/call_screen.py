"""The call screen: a Textual view over a Call.

The app receives the Call's updates through `show` (on the same asyncio loop as Textual, so it
may touch widgets directly) and sends the learner's intents (`say`, `set_muted`,
`push_to_talk`, `end`); it never touches the socket. High-rate updates are coalesced: tutor text
deltas are applied by the transcript 40 ms after the first of a burst, the status bar redraws
at most five times a second and only when its text changed (a silent mic, an unchanged clock
cost nothing), the event log 100 ms after new lines (a folded line that only grew, once a
second), and not at all while hidden. No timer runs while nothing changes but the clock.

Widget tree (CallScreen):
    CallHeader#header (title, engine · model | ● state)
    Static#audio-banner, Static#alert-banner (hidden unless needed)
    Horizontal#body: Transcript#transcript
                     | Vertical#side: GoalsPanel#goals, EventPane#events (Input#event-filter,
                       LineList)
    ObjectiveLine#objective
    StatusBar#status
    SayInput#say
    Footer
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, assert_never

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Key, Resize
from textual.widgets import Footer, Input, Static

from tutor_cli.call.controller import Call
from tutor_cli.lesson.updates import (
    AudioMode,
    CallUpdate,
    ConnectionState,
    LearnerTranscript,
    LearnerTurn,
    LessonProgress,
    MicLevel,
    Notice,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    ToolRan,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime.connection import ConnectionFailed
from tutor_cli.realtime.pricing import engine_bills
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.lesson_panel import DONE_TIP, GoalsPanel, ObjectiveLine
from tutor_cli.tui.lesson_screen import NARROW, LessonScreen
from tutor_cli.tui.quiz import QuizScreen
from tutor_cli.tui.say_input import SayInput
from tutor_cli.tui.screens import HelpScreen, SummaryScreen
from tutor_cli.tui.status import CallHeader, StatusBar
from tutor_cli.tui.transcript import Transcript
from tutor_cli.views.console import summary_rows
from tutor_cli.views.literal import literal, printable

Clock = Callable[[], float]


class CallScreen(LessonScreen):
    """The lesson: transcript, event log, status, and the text box."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "toggle_events", "Events", priority=True),
        Binding("ctrl+t,f2", "toggle_mute", "Mute", priority=True),
        Binding("f3", "talk", "Talk", priority=True),
        # The same keys in a call where they cannot work: say why instead of doing nothing.
        Binding("ctrl+t,f2", "no_mic", show=False, priority=True),
        Binding("f3", "no_push_to_talk", show=False, priority=True),
        Binding("f1", "help", "Help"),
    ]

    def __init__(self, call: Call, *, clock: Clock, autostart: bool = True) -> None:
        super().__init__()
        self.call = call
        self.clock = clock
        self.autostart = autostart
        self.phase = "call"  # call | ending | ended
        self.talking = False
        self._started = asyncio.Event()
        self._turns: asyncio.Queue[str] = asyncio.Queue()
        self._failure_shown = False
        self.ready = False  # mounted; until then updates wait in `_early`
        self.quiz_screen: QuizScreen | None = None  # while a quiz is asked
        self.ended = False  # Call.end() has run
        self.leave = False  # exit when the call is closed, without the summary
        self.lesson_complete = False  # the tutor has graded the lesson
        self._early: list[tuple[str, Any]] = []

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        scenario = self.call.scenario
        summary = self.call.summary
        lesson = f"{scenario.title} · {scenario.level} · {scenario.language}"
        engine = f"engine {summary.engine} · model {summary.model}"
        yield CallHeader(lesson, engine, id="header")
        yield Static("", id="audio-banner", markup=False)
        yield Static("", id="alert-banner", markup=False)
        with Horizontal(id="body"):
            yield Transcript(scenario.persona.name, id="transcript")
            with Vertical(id="side"):
                yield GoalsPanel(scenario, id="goals")
                yield EventPane(clock=self.clock, grown_timer=False, id="events")
        yield ObjectiveLine(scenario, quiz="trigger_quiz" in scenario.tools, id="objective")
        yield StatusBar(self.clock, billed=engine_bills(summary.engine), id="status")
        yield SayInput(
            placeholder="Type to the tutor and press Enter (any time, even while it speaks)",
            id="say",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#audio-banner").display = False
        self.query_one("#alert-banner").display = False
        self.transcript.border_title = "transcript"
        self.events.border_title = "events (ctrl+l)"
        if self.app.size.width < NARROW:
            self.events.display = False  # the transcript needs the room; ctrl+l shows it
        self._fit(self.app.size.width, self.app.size.height)
        self._audio_mode(self.call.audio_mode)
        self.query_one(SayInput).focus()
        self._second = self.set_interval(1.0, self._each_second)
        self.run_worker(self._send_turns(), name="turns", group="call", exit_on_error=False)
        self.ready = True
        for kind, item in self._early:
            if kind == "update":
                self.show(item)
            else:
                self.record(*item)
        self._early.clear()
        if self.autostart:
            self.run_worker(self._start_call(), name="call", group="call", exit_on_error=False)
        else:
            self._started.set()

    def _each_second(self) -> None:
        """The clock moves; folded event lines that grew are redrawn with it, so both cost one
        repaint a second (and none when neither changed)."""
        self.events.flush_grown()
        self.status.draw()

    def _alert(self, text: str | None, level: str = "error") -> None:
        banner = self.query_one("#alert-banner", Static)
        banner.display = text is not None
        banner.set_class(level == "error", "-error")
        banner.set_class(level == "busy", "-busy")
        if text is not None:
            banner.update(literal(text))

    # --- the call's life -------------------------------------------------------------------------

    async def _start_call(self) -> None:
        """Open the call (a worker owned by this screen): the tutor starts speaking."""
        self.call.frame_listener = self.record
        self.status.started = self.events.started = self.clock()
        try:
            await self.call.start()
        except Exception as exc:  # unreachable engine, an engine or log that cannot start
            message = str(exc)
            if not isinstance(exc, ConnectionFailed):
                message = f"{type(exc).__name__}: {exc}"
            self.call.summary.failure = self.call.summary.failure or message
            self._failed(message)
        finally:
            self._started.set()

    def _failed(self, message: str) -> None:
        """The call cannot go on: say so (one notification), and let the learner leave."""
        self.header.set_state("failed", message)
        self._turn("not connected")
        self._alert(f"The call failed: {message}. Press ctrl+q for the summary.")
        if not self._failure_shown:
            self._failure_shown = True
            self.app.notify(printable(message), title="call failed", severity="error", markup=False)

    async def _send_turns(self) -> None:
        """Typed turns, sent in order; the text box never waits for the socket."""
        while True:
            text = await self._turns.get()
            try:
                await self.call.say(text)
            except Exception as exc:
                self.app.notify(f"not sent: {exc}", severity="error", markup=False)

    def end_call(self, *, leave: bool = False) -> None:
        """ctrl+q / ctrl+c: ask for the grade, then show the summary. With `leave` (a kill, a
        closed terminal) the app exits once the call is closed: nobody is there to read it."""
        self.leave = self.leave or leave
        if self.phase != "call":
            self.app.notify("Ending the call: waiting for the tutor's grade…", timeout=3)
            return
        self.phase = "ending"
        self.status.turn = "grading…"
        self.status.changed()
        self._alert("Ending the call: asking the tutor for a grade…", "busy")
        say = self.query_one(SayInput)
        say.disabled = True
        self.run_worker(self._end_call(), name="end", group="end", exit_on_error=False)

    async def _end_call(self) -> None:
        if self.quiz_screen is not None:
            self.quiz_screen.skip_rest()  # the tool finishes; the answers given so far count
        await self._started.wait()
        try:
            summary = await self.call.end()
        except Exception as exc:
            summary = self.call.summary
            summary.failure = summary.failure or f"{type(exc).__name__}: {exc}"
        self.phase = "ended"
        self.status.turn = "ended"
        self.status.stop_clock()
        self._second.stop()
        self.events.flush_grown()
        self._alert(None)
        self.ended = True
        code = 1 if summary.failure else 0
        if self.leave:
            self.app.exit(code, return_code=code)
            return
        rows = summary_rows(summary, self.call.scenario.goals)  # each goal, met or not
        await self.app.push_screen(SummaryScreen(summary, code, rows=rows))

    # --- intents ---------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, SayInput):
            return
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.phase != "call":
            return
        if not self.call.takes_turns:
            self.app.notify("Not connected: your text stays in the box.", severity="warning")
            return
        event.input.value = ""
        self._turns.put_nowait(text)

    def action_toggle_events(self) -> None:
        self.toggle_events(self.query_one(SayInput))
        self._fit(self.app.size.width, self.app.size.height)

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """The goals need the side column's width and some height; the objective line stays
        unless the terminal is very small. On a narrow terminal the side column shows only
        when the event log is asked for."""
        narrow = width < NARROW
        goals = self.query_one(GoalsPanel)
        goals.display = not narrow and height >= 24
        self.query_one("#side").display = self.events.display or goals.display
        self.query_one(ObjectiveLine).display = height >= 16

    def on_key(self, event: Key) -> None:
        """Printable keys typed anywhere but a text field go to the text box: typing is never
        lost because the focus was on the transcript or the event list."""
        if not event.is_printable or event.character is None:
            return
        if isinstance(self.focused, Input) or self.phase != "call":
            return
        say = self.query_one(SayInput)
        say.focus()
        say.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()

    def action_toggle_mute(self) -> None:
        self.call.set_muted(not self.status.mode.muted)

    async def action_talk(self) -> None:
        self.talking = not self.talking
        self.status.talking = self.talking
        self.status.changed()
        await self.call.push_to_talk(self.talking)

    def action_no_mic(self) -> None:
        self._no_audio("there is no microphone to mute")

    def action_no_push_to_talk(self) -> None:
        if self.status.mode.mode == "text":
            self._no_audio("there is no microphone to talk into")
        else:
            self.app.notify("Push-to-talk is off: start the call with --push-to-talk.", timeout=4)

    def _no_audio(self, what: str) -> None:
        reason = self.status.mode.reason
        why = "it was started text-only" if reason is None else "audio is unavailable"
        self.app.notify(f"This call is text only ({why}): {what}.", timeout=4)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        mode = self.status.mode.mode  # as last shown
        if action == "toggle_mute":
            return mode != "text"
        if action == "no_mic":
            return mode == "text"
        if action == "talk":
            return mode == "push_to_talk"
        if action == "no_push_to_talk":
            return mode != "push_to_talk"
        return True

    # --- updates ---------------------------------------------------------------------------------

    def show(self, update: CallUpdate) -> None:
        if not self.ready:
            if len(self._early) < 1000:
                self._early.append(("update", update))
            return
        match update:
            case (
                TutorDelta()
                | TutorFinal()
                | TutorTruncated()
                | LearnerTurn()
                | LearnerTranscript()
                | SpeechStarted()
                | SpeechStopped()
                | ResponseState()
            ):
                self.show_turn(update)
            case UsageUpdate():
                self.show_usage(update)
            case ToolRan():
                self._tool_ran(update)
            case ServerError():
                self._server_error(update)
            case ConnectionState():
                self._connection_state(update)
            case Notice():
                self._notice(update)
            case MicLevel():
                self.status.set_level(update)  # drawn only if the meter moved
            case AudioMode():
                self._audio_mode(update)
            case LessonProgress():
                self._lesson_progress(update)
            case ToolCallReady() | SessionReady() | UnknownEvent():
                pass  # the event log shows them; the tool's line comes when it has run
            case _:
                assert_never(update)

    def record(self, direction: str, event: dict[str, Any] | str) -> None:
        if not self.ready:
            if len(self._early) < 1000:
                self._early.append(("frame", (direction, event)))
            return
        self.events.record(direction, event)

    def _shows_turns(self) -> bool:
        return self.phase == "call" and not self.lesson_complete

    def _lesson_progress(self, update: LessonProgress) -> None:
        self.query_one(GoalsPanel).show_progress(update)
        self.query_one(ObjectiveLine).show_progress(update)
        if update.complete and not self.lesson_complete:
            ending = "lesson complete" if update.objective is None else "lesson ended"
            self._turn(ending)
            self.lesson_complete = True
            self.query_one(SayInput).placeholder = f"{ending} — {DONE_TIP}"

    def _tool_ran(self, update: ToolRan) -> None:
        self.transcript.tool(update)
        if not update.outcome.ok:
            message = f"{update.name}: {update.outcome.error or 'failed'}"
            self.app.notify(message, title="tool failed", severity="warning", markup=False)

    def _server_error(self, update: ServerError) -> None:
        self.transcript.error(update.code, update.message)
        title = f"engine error {update.code}" if update.code else "engine error"
        self.app.notify(printable(update.message), title=title, severity="error", markup=False)

    def _connection_state(self, update: ConnectionState) -> None:
        self.header.set_state(update.state, update.detail)
        if update.state == "failed":
            self._failed(update.detail or "the connection was lost")
        elif update.state == "reconnecting":
            self._alert(f"Connection lost ({update.detail or 'no reason'}): reconnecting…", "busy")
        elif update.state == "connected" and self.phase == "call":
            self._alert(None)

    def _notice(self, update: Notice) -> None:
        self.transcript.note(update.text, update.level)
        if update.level != "info":
            self.app.notify(printable(update.text), severity=update.level, markup=False)

    def _audio_mode(self, update: AudioMode) -> None:
        self.status.mode = update
        self.status.changed()
        banner = self.query_one("#audio-banner", Static)
        banner.display = update.reason is not None
        if update.reason is not None:
            banner.update(
                literal(f"Text-only call: {update.reason}. 'tutor doctor' says how to fix it.")
            )
        self.refresh_bindings()

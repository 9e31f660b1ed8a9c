"""`tutor replay LOG` on the call screen: a saved lesson played back on the call's widgets.

An async worker owned by the screen walks a `Playback` of the log and hands each record's
updates to the widgets as the `Pacer` reaches it: pausing freezes the pacer, a speed change
takes effect at once, a seek ahead moves it (what lies between still goes through the lesson,
unshown, as `--from` does), and a seek back starts a new worker from the log's beginning. The
worker shares the screen's event loop, so it touches widgets directly; reading the log, it
lets the screen draw every few hundred records.

Widget tree (ReplayScreen): CallHeader#header (with a REPLAY badge) | Horizontal#body:
Transcript#transcript, EventPane#events | StatusBar#status (position / duration, speed) | Footer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import ClassVar, assert_never

from rich.text import Text
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Input

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.updates import (
    AudioChunk,
    ConnectionState,
    LearnerAudio,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    ReplayUpdate,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    ToolLogged,
    ToolRan,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime.pricing import engine_bills
from tutor_cli.replay.lesson import LessonInfo, ReplaySummary
from tutor_cli.replay.pacer import Pacer
from tutor_cli.replay.playback import (
    LEARNER_AUDIO,
    Playback,
    Speaker,
)
from tutor_cli.storage.eventlog import EventLogReader
from tutor_cli.tools.outcomes import read_outcome
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.lesson_screen import NARROW, LessonScreen
from tutor_cli.tui.screens import HelpScreen, SummaryScreen
from tutor_cli.tui.status import CallHeader, StatusBar, clock_text
from tutor_cli.tui.transcript import Transcript
from tutor_cli.views.replay_text import replay_summary_rows

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
SEEK_S = 10.0
TICK_S = 0.05  # the longest the worker waits before looking at the clock again
READ_BATCH = 200  # records read between two chances for the screen to draw
POSITION_S = 0.2  # how often the position shown is brought up to date while playing

REPLAY_HELP = [
    ("space", "pause or resume"),
    ("+ or ]", "faster (up to ×16)"),  # noqa: RUF001
    ("- or [", "slower (down to ×0.25)"),  # noqa: RUF001
    ("→ / ←", "forward / back 10 seconds"),
    ("ctrl+l", "show or hide the event log"),
    ("↑ ↓ PgUp PgDn", "scroll the transcript"),
    ("q, Esc, ctrl+q", "quit the replay"),
    ("F1", "this help"),
]
REPLAY_ABOUT = (
    "A saved lesson played back on the call screen. The transcript shows the tutor (cyan) and "
    "the learner (green) as they spoke; tool calls are shown, never run, with what came of "
    "them in the lesson. Nothing is stored or sent. The status bar shows the position in the "
    "lesson against its length and the speed; a seek back replays from the log's beginning, a "
    "seek ahead skips what lies between."
)


def speed_text(speed: float) -> str:
    """The speed as the status bar shows it: 1.0, 0.25, 16.0 after a multiplication sign."""
    text = f"{speed:g}"
    return f"×{text if '.' in text else text + '.0'}"  # noqa: RUF001


@datatype(frozen=False)
class _Run:
    """One pass over the log, from `start_at`; a seek back starts another."""

    start_at: float
    pacer: Pacer
    last_at: float = 0.0  # the latest offset shown (the position of an instant replay)
    arguments: OrderedDict[str, str] = field(default_factory=OrderedDict)  # call id -> args

    def shows(self, at: float | None) -> bool:
        return at is None or at >= self.start_at


class ReplayScreen(LessonScreen):
    """The call screen's widgets, watching a replay instead of a call."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # One key, labelled with what it does now: Pause while playing, Play while paused.
        Binding("space", "pause", "Pause", priority=True),
        Binding("space", "play", "Play", priority=True),
        Binding("plus,right_square_bracket", "faster", "Faster", key_display="+", priority=True),
        Binding("minus,left_square_bracket", "slower", "Slower", key_display="-", priority=True),
        Binding("left", "seek(-10)", "−10 s", key_display="←", priority=True),  # noqa: RUF001
        Binding("right", "seek(10)", "+10 s", key_display="→", priority=True),
        Binding("ctrl+l", "toggle_events", "Events", priority=True),
        Binding("f1", "help", "Help"),
        Binding("q,escape", "quit", "Quit", key_display="q", priority=True),
        Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        log: Path,
        info: LessonInfo,
        *,
        speed: float = 1.0,
        instant: bool = False,
        start_at: float = 0.0,
        strict: bool = False,
        duration: float | None = None,
        speaker: Speaker | None = None,
        real_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.log_path = log
        self.info = info
        self.speed = speed
        self.instant = instant
        self.start_at = start_at
        self.strict = strict
        self.duration = duration
        self.speaker = speaker
        self.real_clock = real_clock
        self.paused = False
        self.finished = False
        self.summary: ReplaySummary | None = None
        self.error: Exception | None = None
        self.current: _Run | None = None
        self._wake = asyncio.Event()  # the pacer changed: a waiting worker looks again
        self._position_timer: Timer | None = None

    # --- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        info = self.info
        when = f" · recorded {info.started_at:%Y-%m-%d %H:%M}" if info.started_at else ""
        lesson = f"{info.title} ({info.scenario}){when}"
        engine = f"engine {info.engine} · model {info.model}"
        yield CallHeader(lesson, engine, badge="REPLAY", id="header")
        with Horizontal(id="body"):
            yield Transcript(info.tutor_name, id="transcript")
            yield EventPane(clock=self.real_clock, id="events")
        yield StatusBar(
            self.real_clock, timeline=self.timeline, billed=engine_bills(info.engine), id="status"
        )
        yield Footer()

    def on_mount(self) -> None:
        self.transcript.border_title = "transcript (replay)"
        self.events.border_title = "events (ctrl+l)"
        if self.app.size.width < NARROW:
            self.events.display = False
        self.transcript.focus()
        # The position moves while the replay plays: looked at five times a second, drawn
        # when its text changes; the timer stands still while paused and once finished.
        self._position_timer = self.set_interval(POSITION_S, self.status.draw)
        if self.duration is None and not self.instant:
            self.run_worker(self._measure(), name="duration", exit_on_error=False)
        self._start(self.start_at)

    # --- the runs --------------------------------------------------------------------------------

    def _start(self, start_at: float) -> None:
        pacer = Pacer(start_at, speed=self.speed, paused=self.paused)
        run = _Run(start_at, pacer, last_at=start_at)
        self.current = run
        # exclusive: starting a run cancels the one before (a seek back).
        self.run_worker(
            self._play(run), name="replay", group="replay", exclusive=True, exit_on_error=False
        )

    async def _play(self, run: _Run) -> None:
        """The worker: one pass over the log, to its end or until cancelled."""
        try:
            playback = Playback(
                self.log_path, strict=self.strict, keep_audio=self.speaker is not None
            )
            for count, step in enumerate(playback.steps()):
                if count % READ_BATCH == 0:
                    await asyncio.sleep(0)
                at = step.at
                if not run.shows(at):
                    continue  # read through silently up to the start (or a seek's target)
                if at is not None and not self.instant:
                    await self._reach(run, at)
                    if not run.shows(at):
                        continue  # a seek ahead passed it while it waited
                self.events.record(step.record.dir, step.record.event, at)
                if at is not None:
                    run.last_at = max(run.last_at, at)
                for update in step.updates:
                    self._show(run, update)
            summary = playback.summary(run.start_at)
        except Exception as exc:  # a bad log (BadInput), or a bug: the app shows and leaves
            self.error = exc
            code = 2 if isinstance(exc, BadInput) else 1
            self.app.exit(code, return_code=code)
            return
        if self.speaker is not None:
            self.speaker.flush()
        self._finished(summary)

    async def _reach(self, run: _Run, at: float) -> None:
        """Wait until the pacer reaches `at`, looking again whenever it changes. This record
        is the next one shown, so a pacer held (at the start, after a seek) starts moving."""
        while True:
            now = self.real_clock()
            run.pacer.release(now)
            delay = run.pacer.delay(at, now)
            if delay <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(delay, TICK_S))

    async def _measure(self) -> None:
        """The log's length, for a log whose end cannot be read directly (gzip)."""
        last: float | None = None
        with contextlib.suppress(BadInput):
            for count, record in enumerate(EventLogReader(self.log_path)):
                if count % READ_BATCH == 0:
                    await asyncio.sleep(0)
                if record.t is None:
                    return
                last = record.t if last is None else max(last, record.t)
            self.duration = last

    def _changed(self) -> None:
        self._wake.set()
        self.status.changed()

    # --- what the log says, on the widgets -------------------------------------------------------

    def _show(self, run: _Run, update: ReplayUpdate) -> None:
        match update:
            case AudioChunk():
                if self.speaker is not None and not self.paused:
                    self.speaker.push(update.item_id, update.pcm)
            case LearnerAudio():
                if self.speaker is not None and not self.paused:
                    self.speaker.push(LEARNER_AUDIO, update.pcm)
            case ResponseState():
                if update.state == "done" and self.speaker is not None:
                    self.speaker.flush()
                self.show_turn(update)
            case (
                TutorDelta()
                | TutorFinal()
                | TutorTruncated()
                | LearnerTurn()
                | LearnerTranscript()
                | SpeechStarted()
                | SpeechStopped()
            ):
                self.show_turn(update)
            case UsageUpdate():
                self.show_usage(update)
            case ToolCallReady():
                run.arguments[update.call_id] = update.arguments
                if len(run.arguments) > 64:
                    run.arguments.popitem(last=False)
                self.transcript.tool_shown(update.call_id, update.name, update.arguments)
            case ToolLogged():
                if update.ok is not None:  # else the output says nothing: the call's line stays
                    arguments = run.arguments.get(update.call_id, "")
                    outcome = read_outcome(update.name, update.output, update.ok)
                    ran = ToolRan(update.name, arguments, outcome)
                    self.transcript.tool_logged(update.call_id, ran)
            case ServerError():
                self.transcript.error(update.code, update.message)
            case MalformedEvent():
                self.transcript.error("malformed_event", f"{update.type}: {update.problem}")
            case ConnectionState():
                self.header.set_state(update.state, update.detail)
                if update.state in ("reconnecting", "failed"):
                    detail = f": {update.detail}" if update.detail else ""
                    self.transcript.note(f"● {update.state}{detail}")
            case SessionReady() | UnknownEvent():
                pass  # in the event log
            case _:
                assert_never(update)

    def _finished(self, summary: ReplaySummary) -> None:
        self.finished = True
        if self._position_timer is not None:
            self._position_timer.stop()
        self.summary = summary
        self.transcript.flush()
        self.status.turn = "ended"
        self.status.changed()
        rows = replay_summary_rows(summary)
        screen = SummaryScreen(summary.lesson, 0, rows=rows, heading="Lesson summary (replay)")
        self.app.push_screen(screen)

    # --- the timeline ----------------------------------------------------------------------------

    def position(self) -> float:
        run = self.current
        if run is None:
            return self.start_at
        if self.finished and self.duration is not None:
            return self.duration
        at = run.last_at if self.instant else run.pacer.position(self.real_clock())
        return min(at, self.duration) if self.duration is not None else at

    def timeline(self) -> Text:
        icon = ("⏸ ", "bold yellow") if self.paused else ("▶ ", "bold green")
        total = clock_text(self.duration) if self.duration is not None else "--:--"
        return Text.assemble(
            icon,
            f"{clock_text(self.position())} / {total} ",
            (speed_text(self.speed), "bold"),
        )

    # --- keys ------------------------------------------------------------------------------------

    def _typing(self) -> None:
        """Keys meant for the event filter are not the replay's."""
        if isinstance(self.focused, Input):
            raise SkipAction()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a binding from the footer: only the one the space key does now shows.
        if action == "pause":
            return not self.paused
        if action == "play":
            return self.paused
        return True

    def action_pause(self) -> None:
        self._toggle_pause()

    def action_play(self) -> None:
        self._toggle_pause()

    def _toggle_pause(self) -> None:
        self._typing()
        if self.finished or self.current is None:
            return
        self.paused = not self.paused
        self.refresh_bindings()
        now = self.real_clock()
        if self.paused:
            self.current.pacer.pause(now)
            if self.speaker is not None:
                self.speaker.flush()
        else:
            self.current.pacer.resume(now)
        if self._position_timer is not None:
            (self._position_timer.pause if self.paused else self._position_timer.resume)()
        self._changed()

    def _set_speed(self, speed: float) -> None:
        self.speed = speed
        if self.current is not None:
            self.current.pacer.set_speed(speed, self.real_clock())
        self._changed()

    def action_faster(self) -> None:
        self._typing()
        faster = [s for s in SPEEDS if s > self.speed + 1e-9]
        if faster:
            self._set_speed(faster[0])

    def action_slower(self) -> None:
        self._typing()
        slower = [s for s in SPEEDS if s < self.speed - 1e-9]
        if slower:
            self._set_speed(slower[-1])

    def action_seek(self, seconds: float) -> None:
        self._typing()
        run = self.current
        if self.finished or run is None or self.instant:
            return
        if self.duration is None:
            self.app.notify("This log has no time offsets to seek by.", severity="warning")
            return
        here = self.position()
        target = max(0.0, min(here + seconds, self.duration))
        if self.speaker is not None:
            self.speaker.flush()
        if target > here:
            run.start_at = target  # read through silently up to it, as --from does
            run.pacer.seek(target)
            run.last_at = target
        elif target < here or seconds < 0:
            self.transcript.clear()
            self.events.clear()
            self.status.tokens, self.status.cost = 0, None  # until the next usage shown
            self._start(target)
        self._changed()

    def action_toggle_events(self) -> None:
        self.toggle_events(self.transcript)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(REPLAY_HELP, REPLAY_ABOUT))

    def action_quit(self) -> None:
        self._typing()
        if self.speaker is not None:
            self.speaker.flush()
        self.app.exit(0, return_code=0)

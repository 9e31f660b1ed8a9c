"""`tutor replay LOG` on the call screen: a saved lesson played back on the call's widgets.

The replay itself is `tutor_cli.replay.Replay`, run in a thread worker owned by the screen. It
is made instant (it never sleeps) and paced here instead, by a reader wrapped around the log
that waits on a `ReplayClock` before each record: the clock's value *is* the lesson position,
so pausing freezes it, a speed change takes effect at once, and a seek ahead jumps it.

- Pause: the clock stops; the replay thread waits on it; nothing more is pushed to the speaker.
- Seek ahead: the replay's `start_at` and the clock jump to the target; the records before it
  still go through the lesson (its state stays right) but are not shown, as `--from` does.
- Seek back: the run is stopped, the transcript and event pane cleared, and a new replay
  started from the log's beginning with `start_at` = target (the log streams fast).

Updates and frames cross from the thread to the screen through a bounded queue that the screen
drains on a timer; the thread waits when it is full, so memory stays bounded whatever the log's
size, and the event pane keeps at most its `max_records` lines.

Widget tree (ReplayScreen): CallHeader#header (with a REPLAY badge) | Horizontal#body:
Transcript#transcript, EventPane#events | StatusBar#status (position / duration, speed) | Footer.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input

from tutor_cli.call import ToolRan
from tutor_cli.errors import BadInput
from tutor_cli.eventlog import EventLogReader, Record
from tutor_cli.realtime.conversation import (
    ConnectionState,
    ServerError,
    ToolCallReady,
    UsageUpdate,
)
from tutor_cli.replay import (
    LessonInfo,
    Replay,
    ReplaySummary,
    ReplayUpdate,
    Speaker,
    ToolLogged,
    lesson_info,
    tool_error,
)
from tutor_cli.replay_view import replay_summary_rows
from tutor_cli.tools.registry import ToolOutcome
from tutor_cli.tui.app import NARROW
from tutor_cli.tui.event_pane import EventPane
from tutor_cli.tui.lesson_updates import LessonUpdates
from tutor_cli.tui.screens import HelpScreen, SummaryScreen
from tutor_cli.tui.status import CallHeader, StatusBar, clock_text
from tutor_cli.tui.transcript import Transcript

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
SEEK_S = 10.0
TICK_S = 0.05  # the longest the replay thread waits before looking at the clock again
DRAIN_S = 0.03  # how often the screen takes what the thread sent
QUEUE_LIMIT = 512  # items waiting for the screen before the thread waits

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


class ReplayStopped(Exception):
    """The run was stopped (a seek back, or the app leaving): its thread ends quietly."""


def speed_text(speed: float) -> str:
    """The speed as the status bar shows it: 1.0, 0.25, 16.0 after a multiplication sign."""
    text = f"{speed:g}"
    return f"×{text if '.' in text else text + '.0'}"  # noqa: RUF001


class ReplayClock:
    """The lesson position in seconds, as the app controls it: pausable, its speed changeable
    while it runs, jumped by a seek. Also a `replay.Clock` (`monotonic`, `sleep`).

    While held (from the start or a jump until the first record shown) it does not advance,
    so reading the log up to the target costs no lesson time. Thread-safe: the replay thread
    waits on it, the screen changes it."""

    def __init__(
        self,
        position: float = 0.0,
        *,
        speed: float = 1.0,
        paused: bool = False,
        real: Callable[[], float] = time.monotonic,
    ) -> None:
        self._real = real
        self._cond = threading.Condition()
        self._base = position  # the position at real time `_since`
        self._since = real()
        self.speed = speed
        self.paused = paused
        self.held = True
        self.stopped = False
        self._jumps = 0

    def _now(self) -> float:
        if self.paused or self.held:
            return self._base
        return self._base + (self._real() - self._since) * self.speed

    def _rebase(self) -> None:
        self._base, self._since = self._now(), self._real()

    def monotonic(self) -> float:
        with self._cond:
            return self._now()

    def sleep(self, seconds: float) -> None:
        self.wait_until(self.monotonic() + seconds)

    def wait_until(self, position: float) -> None:
        """Return when the position reaches `position`, or at once after a jump; raises
        `ReplayStopped` once stopped."""
        with self._cond:
            jumps = self._jumps
            while not self.stopped and jumps == self._jumps:
                remaining = position - self._now()
                if remaining <= 0:
                    return
                running = not (self.paused or self.held)
                self._cond.wait(min(remaining / self.speed, TICK_S) if running else TICK_S)
            if self.stopped:
                raise ReplayStopped

    def _change(self, **values: Any) -> None:
        with self._cond:
            self._rebase()
            for name, value in values.items():
                setattr(self, name, value)
            self._since = self._real()
            self._cond.notify_all()

    def release(self) -> None:
        if self.held:
            self._change(held=False)

    def set_speed(self, speed: float) -> None:
        self._change(speed=speed)

    def set_paused(self, paused: bool) -> None:
        self._change(paused=paused)

    def stop(self) -> None:
        self._change(stopped=True)

    def jump(self, position: float) -> None:
        """Go to `position`, held until the next record shown; wakes a waiting thread."""
        with self._cond:
            self._base, self._since, self.held = position, self._real(), True
            self._jumps += 1
            self._cond.notify_all()


class _Queue:
    """From the replay thread to the screen, in order; the thread waits while it is full."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.limit = limit
        self._items: deque[tuple[int, str, Any, float | None]] = deque()
        self._cond = threading.Condition()

    def put(self, item: tuple[int, str, Any, float | None], clock: ReplayClock) -> None:
        with self._cond:
            while len(self._items) >= self.limit and not clock.stopped:
                self._cond.wait(TICK_S)
            if clock.stopped:
                raise ReplayStopped
            self._items.append(item)

    def take(self) -> list[tuple[int, str, Any, float | None]]:
        with self._cond:
            items = list(self._items)
            self._items.clear()
            self._cond.notify_all()
        return items


class _GatedSpeaker:
    """The app's speaker, silent while the replay is paused or stopped."""

    def __init__(self, speaker: Speaker, clock: ReplayClock) -> None:
        self.speaker = speaker
        self.clock = clock

    def push(self, item_id: str, pcm: bytes) -> None:
        if not (self.clock.paused or self.clock.stopped):
            self.speaker.push(item_id, pcm)

    def flush(self) -> None:
        self.speaker.flush()


@dataclass
class _Run:
    """One pass over the log, from `replay.start_at`; a seek back starts another."""

    id: int
    clock: ReplayClock
    replay: Replay
    instant: bool
    last_at: float = 0.0  # the latest offset shown (the position of an instant replay)


class _PacedReplay(Replay):
    """A `Replay` whose records are paced by the run's clock and whose frames go to the event
    pane. The replay is instant; the wait happens before each record is handed to it."""

    def __init__(self, log: Path, *, run_view: _ThreadView, **options: Any) -> None:
        super().__init__(log, run_view, instant=True, **options)
        self.run_view = run_view

    def open_reader(self) -> EventLogReader:
        return _PacedReader(super().open_reader(), self.run_view)  # type: ignore[return-value]


class _PacedReader:
    """The log's records, each let through when the clock reaches it (and its frame sent to
    the event pane); the reader's counts read through."""

    def __init__(self, reader: EventLogReader, view: _ThreadView) -> None:
        self.reader = reader
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def __iter__(self) -> Iterator[Record]:
        for record in self.reader:
            self.view.reached(record)
            yield record


class _ThreadView:
    """The replay's view, in its thread: updates and frames queued for the screen."""

    def __init__(self, queue: _Queue) -> None:
        self.queue = queue
        self.run: _Run | None = None

    def begin(self, info: LessonInfo) -> None:
        pass

    def _shown(self, at: float | None) -> bool:
        assert self.run is not None
        return at is None or at >= self.run.replay.start_at

    def reached(self, record: Record) -> None:
        run = self.run
        assert run is not None
        if run.clock.stopped:
            raise ReplayStopped
        if not self._shown(record.t):
            return  # read through silently up to the start (or a seek's target)
        if record.t is not None and not run.instant:
            run.clock.release()
            run.clock.wait_until(record.t)
            if not self._shown(record.t):
                return  # a seek ahead passed it while it waited
        self.queue.put((run.id, "frame", (record.dir, record.event), record.t), run.clock)

    def show(self, update: ReplayUpdate, at: float | None) -> None:
        run = self.run
        assert run is not None
        if run.clock.stopped:
            raise ReplayStopped
        if self._shown(at):
            self.queue.put((run.id, "update", update, at), run.clock)


def log_duration(path: Path) -> float | None:
    """The offset of a plain log's last record, read from its end; None for a gzip log (see
    `scan_duration`) or a log without offsets."""
    with path.open("rb") as file:
        if file.read(2) == b"\x1f\x8b":
            return None
        size = file.seek(0, 2)
        file.seek(max(0, size - 65536))
        tail = file.read().decode("utf-8", errors="replace")
    for line in reversed(tail.splitlines()):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "event" in data:
            t = data.get("t")
            return float(t) if isinstance(t, int | float) and not isinstance(t, bool) else None
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            return None  # a bare event: no offsets
    return None


def scan_duration(path: Path) -> float | None:
    """The last offset of any log, reading it through (for gzip logs)."""
    last: float | None = None
    for record in EventLogReader(path):
        if record.t is None:
            return None
        last = record.t if last is None else max(last, record.t)
    return last


def peek_info(log: Path) -> LessonInfo:
    """The lesson's details from the log's first lines; `BadInput` for a log with nothing."""
    try:
        empty = log.is_file() and log.stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        raise BadInput(f"{log}: empty file, no events to replay")
    reader = EventLogReader(log)
    records = iter(reader)
    try:
        first = next(records, None)
    finally:
        records.close()  # type: ignore[attr-defined]
    if first is None:
        raise BadInput(f"{log}: no events to replay")
    return lesson_info(log, reader.header)


def _tool_ran(name: str, arguments: str, update: ToolLogged) -> ToolRan:
    """A logged tool outcome as the transcript shows a call's (score, corrections, errors)."""
    try:
        data = json.loads(update.output)
    except json.JSONDecodeError:
        data = None
    result = {k: v for k, v in data.items() if k != "ok"} if isinstance(data, dict) else {}
    ok = update.ok is not False
    error = None if ok else tool_error(update.output)
    return ToolRan(name, arguments, ToolOutcome(name, ok, update.output, result, error))


class ReplayScreen(LessonUpdates, Screen[None]):
    """The call screen's widgets, watching a replay instead of a call."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (NARROW, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause", priority=True),
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
        self.queue = _Queue()
        self.current: _Run | None = None
        self._runs = 0
        self._arguments: OrderedDict[str, str] = OrderedDict()  # call id -> arguments

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
        yield StatusBar(self.real_clock, timeline=self.timeline, id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.transcript.border_title = "transcript (replay)"
        self.events.border_title = "events (ctrl+l)"
        if self.app.size.width < NARROW:
            self.events.display = False
        self.transcript.focus()
        self.set_interval(DRAIN_S, self.drain)
        self.set_interval(0.2, self.status.changed)  # the position moves
        if self.duration is None and not self.instant:
            self.run_worker(self._measure, thread=True, name="duration", exit_on_error=False)
        self._start(self.start_at)

    def on_unmount(self) -> None:
        self.stop()

    # --- the runs --------------------------------------------------------------------------------

    def _start(self, start_at: float) -> None:
        self._runs += 1
        clock = ReplayClock(start_at, speed=self.speed, paused=self.paused, real=self.real_clock)
        view = _ThreadView(self.queue)
        speaker = _GatedSpeaker(self.speaker, clock) if self.speaker is not None else None
        replay = _PacedReplay(
            self.log_path,
            run_view=view,
            start_at=start_at,
            strict=self.strict,
            speaker=speaker,
            clock=clock,
        )
        run = _Run(self._runs, clock, replay, self.instant, last_at=start_at)
        view.run = run
        self.current = run
        self.run_worker(
            lambda: self._play(run), thread=True, name=f"replay {run.id}", group="replay"
        )

    def _play(self, run: _Run) -> None:
        """The worker: one replay, to its end or until stopped."""
        try:
            summary = run.replay.run()
        except ReplayStopped:
            return
        except Exception as exc:  # a bad log (BadInput), or a bug: the app shows and leaves
            item: tuple[int, str, Any, float | None] = (run.id, "error", exc, None)
        else:
            item = (run.id, "done", summary, None)
        with contextlib.suppress(ReplayStopped):
            self.queue.put(item, run.clock)

    def _measure(self) -> None:
        with contextlib.suppress(BadInput):
            self.duration = scan_duration(self.log_path)

    def stop(self) -> None:
        """Stop the running replay (its thread ends at its next look at the clock)."""
        if self.current is not None:
            self.current.clock.stop()
        if self.speaker is not None:
            self.speaker.flush()

    # --- what the thread sent --------------------------------------------------------------------

    def drain(self) -> None:
        run = self.current
        for run_id, kind, payload, at in self.queue.take():
            if run is None or run_id != run.id:
                continue  # from a run a seek back stopped
            if kind == "frame":
                self.events.record(payload[0], payload[1], at)
            elif kind == "update":
                if at is not None:
                    run.last_at = max(run.last_at, at)
                handler = getattr(self, f"_on_{type(payload).__name__}", None)
                if handler is not None:
                    handler(payload)
            elif kind == "done":
                self._finished(payload)
            elif kind == "error":
                self.error = payload
                code = 2 if isinstance(payload, BadInput) else 1
                self.app.exit(code, return_code=code)

    def _finished(self, summary: ReplaySummary) -> None:
        self.finished = True
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
        at = run.last_at if run.instant else run.clock.monotonic()
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

    def action_toggle_pause(self) -> None:
        self._typing()
        if self.finished or self.current is None:
            return
        self.paused = not self.paused
        self.current.clock.set_paused(self.paused)
        if self.paused and self.speaker is not None:
            self.speaker.flush()
        self.status.changed()

    def _set_speed(self, speed: float) -> None:
        self.speed = speed
        if self.current is not None:
            self.current.clock.set_speed(speed)
        self.status.changed()

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
        if self.finished or run is None or run.instant:
            return
        if self.duration is None:
            self.app.notify("This log has no time offsets to seek by.", severity="warning")
            return
        here = self.position()
        target = max(0.0, min(here + seconds, self.duration))
        if self.speaker is not None:
            self.speaker.flush()
        if target > here:
            run.replay.start_at = target  # read through silently up to it, as --from does
            run.clock.jump(target)
            run.last_at = target
        elif target < here or seconds < 0:
            run.clock.stop()
            self.transcript.clear()
            self.events.clear()
            self.status.tokens, self.status.cost = 0, None  # until the next usage shown
            self._start(target)
        self.status.changed()

    def action_toggle_events(self) -> None:
        pane = self.events
        pane.display = not pane.display
        if pane.display:
            pane.redraw()
        elif self.focused is not None and pane in self.focused.ancestors:
            self.transcript.focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(REPLAY_HELP, REPLAY_ABOUT))

    def action_quit(self) -> None:
        self._typing()
        self.stop()
        self.app.exit(0, return_code=0)

    # --- updates, as the call screen shows them --------------------------------------------------

    def _on_ToolCallReady(self, update: ToolCallReady) -> None:
        self._arguments[update.call_id] = update.arguments
        if len(self._arguments) > 64:
            self._arguments.popitem(last=False)
        self.transcript.tool_shown(update.call_id, update.name, update.arguments)

    def _on_ToolLogged(self, update: ToolLogged) -> None:
        if update.ok is None:
            return  # the output says nothing of how it went: the call's line stays
        arguments = self._arguments.get(update.call_id, "")
        self.transcript.tool_logged(update.call_id, _tool_ran(update.name, arguments, update))

    def _on_UsageUpdate(self, update: UsageUpdate) -> None:
        self.status.tokens = update.total.total_tokens
        self.status.cost = update.cost_usd
        self.status.changed()

    def _on_ServerError(self, update: ServerError) -> None:
        self.transcript.error(update.code, update.message)

    def _on_ConnectionState(self, update: ConnectionState) -> None:
        self.header.set_state(update.state, update.detail)
        if update.state in ("reconnecting", "failed"):
            detail = f": {update.detail}" if update.detail else ""
            self.transcript.note(f"● {update.state}{detail}")


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
        super().__init__()
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
        """A message from any thread (the speaker's, say), as a notification."""
        try:
            self.call_from_thread(self.notify, text, markup=False)
        except RuntimeError:  # on the app's own thread, or the app has stopped
            if self.is_running:
                self.notify(text, markup=False)

"""The header line (what lesson, which engine, is it connected) and the status bar (mic, whose
turn, mode, time, tokens). The status bar redraws only when what it shows changed, at most five
times a second however many updates arrive: a silent mic or an unchanged clock costs nothing."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Static

from tutor_cli.lesson.updates import AudioMode, MicLevel
from tutor_cli.views.literal import printable

SESSION_LIMIT_S = 60 * 60  # the Realtime API closes a session after 60 minutes
STATE_STYLES = {
    "connecting": "yellow",
    "connected": "green",
    "reconnecting": "dark_orange",
    "closed": "grey50",
    "failed": "bold red",
}
TURN_STYLES = {
    "listening": "green",
    "your turn": "green",
    "lesson complete": "bold green",
    "lesson ended": "bold",
    "learner speaking": "yellow",
    "tutor thinking": "magenta",
    "tutor speaking": "cyan",
    "grading…": "bold yellow",
    "ended": "grey50",
    "not connected": "bold red",
}
METER_CELLS = 8
REDRAW_S = 0.2  # changes are drawn together, at most this often


class CallHeader(Horizontal):
    """Scenario, level, language, engine and model; the connection as a coloured dot + word."""

    def __init__(
        self, lesson: str, engine: str, *, badge: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.lesson = lesson
        self.engine = engine
        self.badge = badge  # e.g. REPLAY, shown before the title
        self.state = "connecting"
        self.detail: str | None = None

    def compose(self) -> ComposeResult:
        if self.badge:
            yield Static(Text(f" {printable(self.badge)} "), id="header-badge", markup=False)
        yield Static(Text(printable(self.lesson), style="bold"), id="header-title", markup=False)
        yield Static(self._state(), id="header-state", markup=False)

    def _state(self) -> Text:
        return Text.assemble(
            (printable(self.engine), "dim"),
            "  ",
            ("● ", STATE_STYLES.get(self.state, "")),
            (self.state, "bold"),
        )

    def set_state(self, state: str, detail: str | None = None) -> None:
        self.state, self.detail = state, detail
        widget = self.query_one("#header-state", Static)
        widget.update(self._state())
        widget.tooltip = printable(detail) if detail else None


def meter(dbfs: float, cells: int = METER_CELLS) -> str:
    """A level from -60 to 0 dBFS as a bar of `cells` characters."""
    filled = round(max(0.0, min(1.0, (dbfs + 60) / 60)) * cells)
    return "█" * filled + "░" * (cells - filled)


def meter_reading(level: MicLevel | None) -> tuple[str, int]:
    """What the meter shows of a level: the bar and the whole decibels beside it. A level
    that changes neither is not worth a redraw."""
    rms = level.rms_dbfs if level else -100.0
    return meter(rms), round(max(rms, -99))


def clock_text(seconds: float) -> str:
    minutes, seconds = divmod(int(max(0.0, seconds)), 60)
    return f"{minutes:02d}:{seconds:02d}"


class StatusBar(Static):
    """Mic meter, whose turn it is, mode, elapsed time against the limit, tokens and cost.

    With `timeline` (a replay), that text stands in place of the mic, the mode and the elapsed
    time. The time moves by itself: the screen calls `draw` once a second."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        timeline: Callable[[], Text] | None = None,
        billed: bool = False,
        id: str | None = None,
    ) -> None:
        """`billed`: the engine charges for tokens, so a cost (or that there is no estimate)
        belongs beside them."""
        super().__init__("", id=id, markup=False)
        self.billed = billed
        self.clock = clock
        self.timeline = timeline
        self.mode = AudioMode("text")
        self.turn = "listening"
        self.level: MicLevel | None = None
        self.talking = False
        self.tokens = 0
        self.cost: float | None = None
        self.started: float | None = None
        self.ended: float | None = None  # when the call ended: the time shown stops there
        self._shown: Text | None = None  # what is on screen
        self._redraw: Timer | None = None  # a redraw asked for and not done yet

    def on_mount(self) -> None:
        self.draw()

    def changed(self) -> None:
        """Something shown may have changed: drawn within `REDRAW_S`, once for any number of
        changes, and not at all if the text comes out the same."""
        if self._redraw is None and self.is_attached:
            self._redraw = self.set_timer(REDRAW_S, self.draw)

    def set_level(self, level: MicLevel) -> None:
        """A new mic level: redrawn only if the meter would show it differently."""
        before = meter_reading(self.level)
        self.level = level
        if self.mode.mode != "text" and not self.mode.muted and meter_reading(level) != before:
            self.changed()

    def stop_clock(self) -> None:
        """The call is over: the elapsed time stays as it is."""
        self.ended = self.clock()
        self.changed()

    def draw(self) -> None:
        """Redraw now if the status reads differently from what is on screen (the redraw
        timer calls it too)."""
        if self._redraw is not None:
            self._redraw.stop()
            self._redraw = None
        text = self.render_status()
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # one line, always: nothing else moves

    def render_status(self) -> Text:
        wide = self.size.width >= 100 or not self.size.width
        parts: list[Text] = []
        if self.timeline is not None:
            parts.append(self.timeline())
            parts.append(Text.assemble(("● ", TURN_STYLES.get(self.turn, "")), self.turn))
        elif self.mode.mode != "text":
            if self.mode.muted:
                parts.append(Text("mic muted", style="yellow"))
            else:
                cells, decibels = meter_reading(self.level)
                bar = Text.assemble("mic ", (cells, "green"))
                if wide:
                    bar.append(f" {decibels} dB", style="dim")
                parts.append(bar)
        if self.timeline is None:
            # With no microphone nobody is listening: it is simply the learner's turn to type.
            turn = (
                "your turn" if self.turn == "listening" and self.mode.mode == "text" else self.turn
            )
            parts.append(Text.assemble(("● ", TURN_STYLES.get(turn, "")), turn))
            parts.append(Text(self._mode_text()))
            now = self.clock() if self.ended is None else self.ended
            elapsed = 0.0 if self.started is None else now - self.started
            late = elapsed > SESSION_LIMIT_S - 5 * 60
            parts.append(
                Text(
                    f"{clock_text(elapsed)} / {clock_text(SESSION_LIMIT_S)}",
                    style="bold red" if late else "",
                )
            )
        if not self.billed:
            parts.append(Text(f"{self.tokens:,} tokens"))
        else:
            cost = "no cost estimate" if self.cost is None else f"${self.cost:.4f}"
            parts.append(Text(f"{self.tokens:,} tokens · {cost}"))
        separator = Text(" │ ")
        separator.stylize("dim")
        return separator.join(parts)

    def _mode_text(self) -> str:
        if self.mode.mode == "text":
            return "text only"
        if self.mode.muted:
            return "muted"
        if self.mode.mode == "push_to_talk":
            return "push-to-talk: talking" if self.talking else "push-to-talk"
        return "voice + text"

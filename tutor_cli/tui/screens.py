"""The end-of-call summary and the help screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from tutor_cli.lesson.updates import CallSummary
from tutor_cli.views.console import summary_rows
from tutor_cli.views.literal import printable


def summary_table(summary: CallSummary, rows: list[tuple[str, str]] | None = None) -> Table:
    """The summary rows (shared with the console view, or `rows` when given) as a two-column
    table of plain text."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column()
    for label, value in summary_rows(summary) if rows is None else rows:
        style = "bold red" if label == "failed" else ("yellow" if label == "correction" else "")
        table.add_row(Text(printable(label)), Text(printable(value), style=style))
    return table


class SummaryScreen(Screen[int]):
    """What the lesson came to. Enter, q or Escape leaves the app with `code`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "leave", "Exit"),
        Binding("q", "leave", "Exit", show=False),
        Binding("escape", "leave", "Exit", show=False),
        Binding("ctrl+q,ctrl+c", "leave", "Exit", show=False),
    ]

    def __init__(
        self,
        summary: CallSummary,
        code: int,
        *,
        rows: list[tuple[str, str]] | None = None,
        heading: str | None = None,
    ) -> None:
        super().__init__()
        self.summary = summary
        self.code = code
        self.rows = rows  # in place of the call's summary rows (a replay adds its own)
        self.heading = heading

    def compose(self) -> ComposeResult:
        heading = "Lesson summary" if self.code == 0 else "Lesson summary: the call failed"
        style = "bold" if self.code == 0 else "bold red"
        with VerticalScroll(id="summary-box"):
            yield Static(Text(self.heading or heading, style=style), id="summary-title")
            yield Static(summary_table(self.summary, self.rows), id="summary-rows")
            yield Static(
                Text("Enter, q or Esc: exit", style="dim"),
                id="summary-keys",
            )
        yield Footer()

    def action_leave(self) -> None:
        self.app.exit(self.code, return_code=self.code)


HELP = [
    ("Enter", "send what you typed (any time, even while the tutor speaks)"),
    ("ctrl+l", "show or hide the event log"),
    ("ctrl+t / F2", "mute or unmute the microphone (voice calls)"),
    ("F3", "push-to-talk: start talking, press again to send (--push-to-talk)"),
    ("quiz", 'type "quiz" (or ask for one) to have the tutor quiz you on the lesson'),
    ("Tab", "move between the text box, the transcript, the event filter and the event list"),
    ("any key", "typing anywhere goes to the text box"),
    ("ctrl+q / ctrl+c", "end the call: the tutor grades it, then the summary"),
    ("F1", "this help"),
]


ABOUT = (
    "The line above the text box says what to do now (the step's objective); the goals "
    "panel ticks each goal of the lesson as you meet it. "
    "The transcript shows the tutor (cyan) and you (green); «quoted» phrases are the "
    "model answers and corrections to say. The event log lists every protocol event: "
    "→ sent, ← received, deltas folded into one line per reply. The status bar shows "
    "your mic, whose turn it is, the mode, the time against the 60-minute session "
    "limit, and tokens with their estimated cost."
)


class HelpScreen(ModalScreen[None]):
    """The keys, and what the screen shows (the call's, unless told otherwise)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, keys: list[tuple[str, str]] | None = None, about: str | None = None) -> None:
        super().__init__()
        self.key_rows = HELP if keys is None else keys
        self.about = ABOUT if about is None else about

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold", no_wrap=True)
        keys.add_column()
        for key, meaning in self.key_rows:
            keys.add_row(Text(key), Text(meaning))
        about = Text(self.about, style="dim")
        with Vertical(id="help-box"):
            yield Static(Text("Keys", style="bold"))
            yield Static(keys, id="help-keys")
            yield Static(about, id="help-about")
            yield Static(Text("Esc or F1: close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)

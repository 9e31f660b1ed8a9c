"""The call screen's transcript under a storm of tutor text deltas, against the ways people
build one in Textual.

Feeds tutor text deltas at 50 and at 500 a second (`--rates`) for 10 s (a new tutor turn
every 200 deltas, after a lesson's worth of earlier turns) into a headless Textual app
(`App.run_test`) and measures the process's CPU seconds (`time.process_time`) over the feed.
Compared in the same run with:
- `Static per turn`: one `Static` mounted per turn, the streaming turn's updated on every
  delta (what chat examples do);
- `RichLog rewrite`: a `RichLog` cleared and every turn written again on every delta (a log
  widget cannot change a line in place);
- `naive`: one `Static` holding the whole transcript, re-rendered (`update`) on every delta;
- `idle`: the same app doing nothing for as long, the floor all are measured against.
The transcript under test buffers deltas, re-wraps only the turn being spoken 40 ms after the
first delta of a burst, and draws only the visible lines. A widget that cannot keep up is
stopped after three times the feed's length and its figure is per delta delivered.

    uv run python benchmarks/transcript_render.py [--rates 50,500] [--seconds 10] [--history 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import RichLog, Static

from tutor_cli.tui.transcript import Transcript

WORDS = [
    *("Súbase", "que", "ya", "empezó", "a", "llover,", "el", "tráfico", "de", "la"),
    *("séptima", "está", "imposible", "a", "esta", "hora"),
]
TURN_DELTAS = 200  # deltas per tutor turn: 0.4 s of text at 500 a second
SIZE = (120, 40)


class Feedable(Protocol):
    def add_delta(self, item_id: str, text: str) -> None: ...
    def tutor_final(self, item_id: str, text: str) -> None: ...
    def learner_typed(self, text: str) -> None: ...


class RedrawnTurns:
    """The turns as a list, every one drawn again (`redraw`) after each change: the
    bookkeeping the two whole-transcript peers share."""

    def __init__(self, **widget: Any) -> None:
        super().__init__(**widget)  # the widget this is mixed into
        self.turns: list[tuple[str, str]] = []
        self.open: dict[str, int] = {}

    def redraw(self) -> None:
        raise NotImplementedError

    def add_delta(self, item_id: str, text: str) -> None:
        if item_id not in self.open:
            self.open[item_id] = len(self.turns)
            self.turns.append(("Jairo", ""))
        index = self.open[item_id]
        self.turns[index] = ("Jairo", self.turns[index][1] + text)
        self.redraw()

    def tutor_final(self, item_id: str, text: str) -> None:
        if item_id in self.open:
            self.turns[self.open.pop(item_id)] = ("Jairo", text)
        else:
            self.turns.append(("Jairo", text))
        self.redraw()

    def learner_typed(self, text: str) -> None:
        self.turns.append(("You", text))
        self.redraw()


class NaiveTranscript(RedrawnTurns, VerticalScroll):
    """The whole transcript in one Static, rebuilt and re-rendered on every delta."""

    def compose(self) -> ComposeResult:
        yield Static("", markup=False)

    def redraw(self) -> None:
        text = Text()
        for speaker, words in self.turns:
            text.append(f"{speaker}  ", style="bold cyan" if speaker == "Jairo" else "bold green")
            text.append(words + "\n")
        self.query_one(Static).update(text)
        self.scroll_end(animate=False)


class StaticPerTurn(VerticalScroll):
    """One Static per turn; the streaming turn's Static updated on every delta."""

    def __init__(self) -> None:
        super().__init__()
        self.open: dict[str, tuple[Static, str]] = {}

    def _turn(self, speaker: str, words: str) -> Text:
        style = "bold cyan" if speaker == "Jairo" else "bold green"
        return Text.assemble((f"{speaker}  ", style), words)

    def add_delta(self, item_id: str, text: str) -> None:
        if item_id not in self.open:
            widget = Static(markup=False)
            self.mount(widget)
            self.open[item_id] = (widget, "")
        widget, words = self.open[item_id]
        words += text
        self.open[item_id] = (widget, words)
        widget.update(self._turn("Jairo", words))
        self.scroll_end(animate=False)

    def tutor_final(self, item_id: str, text: str) -> None:
        widget = self.open.pop(item_id, (None, ""))[0]
        if widget is None:
            widget = Static(markup=False)
            self.mount(widget)
        widget.update(self._turn("Jairo", text))
        self.scroll_end(animate=False)

    def learner_typed(self, text: str) -> None:
        self.mount(Static(self._turn("You", text), markup=False))
        self.scroll_end(animate=False)


class RichLogRewrite(RedrawnTurns, RichLog):
    """A RichLog cleared and written again, every turn, on every delta."""

    def __init__(self) -> None:
        super().__init__(wrap=True, markup=False, auto_scroll=True)

    def redraw(self) -> None:
        self.clear()
        for speaker, words in self.turns:
            style = "bold cyan" if speaker == "Jairo" else "bold green"
            self.write(Text.assemble((f"{speaker}  ", style), words))


class Host(App[None]):
    def __init__(self, widget: Widget | None) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget if self.widget is not None else Static("idle")


def turn_text(index: int, length: int) -> str:
    return " ".join(WORDS[(index + k) % len(WORDS)] for k in range(length))


def preload(widget: Widget, turns: list[tuple[str, str]]) -> None:
    """A lesson's worth of earlier turns, put in the way each widget takes a whole transcript
    at once (replaying them delta by delta would cost some of them minutes)."""
    if isinstance(widget, Transcript):
        for index, (speaker, words) in enumerate(turns):
            if speaker == "You":
                widget.learner_typed(words)
            else:
                widget.tutor_final(f"old_{index}", words)
    elif isinstance(widget, StaticPerTurn):
        widget.mount_all(
            Static(widget._turn(speaker, words), markup=False) for speaker, words in turns
        )
    elif isinstance(widget, RedrawnTurns):
        widget.turns = list(turns)
        widget.redraw()


async def measure(
    widget: Widget | None, rate: int, seconds: float, history: int
) -> tuple[float, int, float]:
    """CPU seconds spent while `rate` deltas a second are fed for `seconds` (at most three
    times as long if the widget cannot keep up), the deltas delivered, and the wall time."""
    app = Host(widget)
    feed: Feedable | None = widget  # type: ignore[assignment]
    async with app.run_test(size=SIZE) as pilot:
        if widget is not None:
            turns = []
            for index in range(history):
                turns += [("You", turn_text(index, 6)), ("Jairo", turn_text(index, 30))]
            preload(widget, turns)
        await pilot.pause(0.5)
        total = int(rate * seconds)
        cpu, start = time.process_time(), time.perf_counter()
        sent, turn, text = 0, 0, ""
        while sent < total and time.perf_counter() - start < 3 * seconds:
            due = int((time.perf_counter() - start) * rate) + 1
            while sent < min(due, total) and time.perf_counter() - start < 3 * seconds:
                item = f"item_{turn}"
                delta = WORDS[sent % len(WORDS)] + " "
                text += delta
                if feed is not None:
                    feed.add_delta(item, delta)
                sent += 1
                if sent % TURN_DELTAS == 0:
                    if feed is not None:
                        feed.tutor_final(item, text)
                        feed.learner_typed("Al hotel Tequendama, por favor.")
                    turn, text = turn + 1, ""
            await asyncio.sleep(0.002)
        await pilot.pause(0.1)  # let the last frame be drawn
        used = time.process_time() - cpu
        elapsed = time.perf_counter() - start
    return used, sent, elapsed


WIDGETS: dict[str, Callable[[], Widget | None]] = {
    "idle app": lambda: None,
    "Transcript (ours)": lambda: Transcript("Jairo", max_entries=5000),
    "Static per turn": StaticPerTurn,
    "RichLog rewrite": RichLogRewrite,
    "naive (one Static)": NaiveTranscript,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,500", help="deltas a second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--history", type=int, default=300, help="earlier turns, each way")
    args = parser.parse_args()
    print(
        f"tutor text deltas for {args.seconds:g} s, after {args.history} earlier turns each "
        f"way, headless at {SIZE[0]}x{SIZE[1]}: CPU s over the feed; CPU a delta above the idle "
        "app's floor, and its ratio to ours"
    )
    for rate in (int(r) for r in args.rates.split(",")):
        print(f"{rate} deltas a second:")
        figures = {
            name: asyncio.run(measure(make(), rate, args.seconds, args.history))
            for name, make in WIDGETS.items()
        }
        idle, _, idle_s = figures["idle app"]
        mine, mine_sent, mine_s = figures["Transcript (ours)"]
        ours = (mine - idle * mine_s / idle_s) / mine_sent
        for name, (used, sent, elapsed) in figures.items():
            per_delta = (used - idle * elapsed / idle_s) / sent  # above the idle floor
            ratio = (
                ""
                if name == "idle app"
                else f", {per_delta * 1000:7.3f} ms a delta, x{per_delta / max(ours, 1e-9):.1f}"
            )
            behind = ""
            if sent < int(rate * args.seconds) or elapsed > args.seconds * 1.2:
                behind = f"  (fell behind: {sent} deltas in {elapsed:.1f} s)"
            print(f"  {name:20s} {used:6.2f} CPU s{ratio}{behind}")


if __name__ == "__main__":
    main()

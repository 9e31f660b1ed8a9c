"""The call screen's transcript under a storm of tutor text deltas, against a naive widget.

Feeds 500 deltas a second for 10 s (a new tutor turn every 200 deltas, after a lesson's worth
of earlier turns) into a headless Textual app (`App.run_test`) and measures the process's CPU
seconds (`time.process_time`) over the feed. Compared in the same run with:
- `naive`: a Static holding the whole transcript, re-rendered (`update`) on every delta;
- `idle`: the same app doing nothing for as long, the floor both are measured against.
The transcript under test buffers deltas, re-wraps only the turn being spoken every 40 ms,
and draws only the visible lines.

    uv run python benchmarks/transcript_render.py [--rate 500] [--seconds 10] [--history 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Protocol

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

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


class NaiveTranscript(VerticalScroll):
    """The whole transcript in one Static, rebuilt and re-rendered on every delta."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: list[tuple[str, str]] = []
        self.open: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Static("", markup=False)

    def _render_all(self) -> None:
        text = Text()
        for speaker, words in self.turns:
            text.append(f"{speaker}  ", style="bold cyan" if speaker == "Jairo" else "bold green")
            text.append(words + "\n")
        self.query_one(Static).update(text)
        self.scroll_end(animate=False)

    def add_delta(self, item_id: str, text: str) -> None:
        if item_id not in self.open:
            self.open[item_id] = len(self.turns)
            self.turns.append(("Jairo", ""))
        index = self.open[item_id]
        self.turns[index] = ("Jairo", self.turns[index][1] + text)
        self._render_all()

    def tutor_final(self, item_id: str, text: str) -> None:
        if item_id in self.open:
            self.turns[self.open.pop(item_id)] = ("Jairo", text)
        else:
            self.turns.append(("Jairo", text))
        self._render_all()

    def learner_typed(self, text: str) -> None:
        self.turns.append(("You", text))
        self._render_all()


class Host(App[None]):
    def __init__(self, widget: Widget | None) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget if self.widget is not None else Static("idle")


def turn_text(index: int, length: int) -> str:
    return " ".join(WORDS[(index + k) % len(WORDS)] for k in range(length))


async def measure(widget: Widget | None, rate: int, seconds: float, history: int) -> float:
    """CPU seconds spent while `rate` deltas a second are fed for `seconds`."""
    app = Host(widget)
    feed: Feedable | None = widget  # type: ignore[assignment]
    async with app.run_test(size=SIZE) as pilot:
        if feed is not None:
            for index in range(history):  # a lesson's worth of earlier turns
                feed.learner_typed(turn_text(index, 6))
                feed.tutor_final(f"old_{index}", turn_text(index, 30))
        await pilot.pause(0.5)
        total = int(rate * seconds)
        cpu, start = time.process_time(), time.perf_counter()
        sent, turn, text = 0, 0, ""
        while sent < total:
            due = int((time.perf_counter() - start) * rate) + 1
            while sent < min(due, total):
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
    if elapsed > seconds * 1.2:
        name = type(widget).__name__ if widget is not None else "idle app"
        print(f"  ({name} fell behind: the feed took {elapsed:.1f} s for {seconds:g} s of deltas)")
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500, help="deltas a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--history", type=int, default=300, help="earlier turns, each way")
    args = parser.parse_args()
    total = int(args.rate * args.seconds)
    print(
        f"{total} deltas at {args.rate}/s for {args.seconds:g} s, after {args.history} "
        f"earlier turns each way, headless at {SIZE[0]}x{SIZE[1]}"
    )
    idle = asyncio.run(measure(None, args.rate, args.seconds, args.history))
    print(f"idle app:            {idle:6.2f} CPU s")
    ours = asyncio.run(
        measure(Transcript("Jairo", max_entries=5000), args.rate, args.seconds, args.history)
    )
    print(f"Transcript:          {ours:6.2f} CPU s")
    naive = asyncio.run(measure(NaiveTranscript(), args.rate, args.seconds, args.history))
    print(f"naive (re-render):   {naive:6.2f} CPU s")
    print(f"naive / Transcript:  {naive / ours:6.1f}x")
    above_idle = (naive - idle) / max(ours - idle, 1e-3)
    print(f"same, above idle:    {above_idle:6.1f}x")


if __name__ == "__main__":
    main()

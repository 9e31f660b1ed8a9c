"""What the learner should do: the lesson's goals (ticked as each is met) and the current
step's objective, from the Call's `LessonProgress` updates.

The goals sit above the event log; the objective is one line above the text box, so it stays
in view on a narrow terminal where the side column is hidden. Goals and objectives come from
a scenario file, so they are shown as text, never markup. Both change only when a turn is
judged, and redraw only when what they show changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.tracker import LessonTracker
from tutor_cli.lesson.updates import LessonProgress
from tutor_cli.views.literal import printable

QUIZ_TIP = 'type "quiz" for a quiz'
DONE_TIP = "ctrl+q for your summary"


def opening(scenario: Scenario) -> LessonProgress:
    """The lesson before its first turn."""
    return LessonTracker(scenario).progress()


class GoalsPanel(Static):
    """The goals, one per line: ✓ met, ○ not yet."""

    def __init__(self, scenario: Scenario, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.progress = opening(scenario)
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.show_progress(self.progress)

    def show_progress(self, progress: LessonProgress) -> None:
        self.progress = progress
        met = sum(goal.met for goal in progress.goals)
        self.border_title = f"goals {met}/{len(progress.goals)}"
        text = Text()
        for goal in progress.goals:
            if text:
                text.append("\n")
            mark = ("✓ ", "bold green") if goal.met else ("○ ", "dim")
            text.append_text(Text.assemble(mark, printable(goal.text)))
        if text != self._shown:
            # A tick takes the cell a circle took: after the first draw no line moves.
            self.update(text, layout=self._shown is None)
            self._shown = text


class ObjectiveLine(Static):
    """One line: the step and what to do in it, or that the lesson is over."""

    def __init__(self, scenario: Scenario, *, quiz: bool, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.quiz = quiz
        self.progress = opening(scenario)
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.show_progress(self.progress)

    def show_progress(self, progress: LessonProgress) -> None:
        self.progress = progress
        text = self.line_text()
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # one line, always

    def line_text(self) -> Text:
        progress = self.progress
        met = sum(goal.met for goal in progress.goals)
        goals = f"goals {met}/{len(progress.goals)}"
        if progress.complete:
            return Text.assemble(
                ("✓ ", "bold green"), (f"{progress.ending} — {DONE_TIP}", "bold"), f" · {goals}"
            )
        if progress.objective is None:
            return Text.assemble(
                ("all steps done", "bold"), " — the tutor is wrapping up", f" · {goals}"
            )
        step = Text(f"step {progress.step}/{progress.steps} · ", style="dim")
        tail = f" · {goals}" + (f" · {QUIZ_TIP}" if self.quiz else "")
        return Text.assemble(step, ("now: ", "bold"), printable(progress.objective), (tail, "dim"))

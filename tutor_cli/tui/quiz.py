"""The quiz modal: one question at a time, each answer checked as it is given.

It returns the answers (one per question, "" for a skipped one); the trigger_quiz tool scores
them again, stores the result and sends it to the tutor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tutor_cli.tools.quiz import LETTERS, Quiz, check_answer, chosen, expected, spelling
from tutor_cli.views.literal import printable

KEYS = Text("Enter: check the answer · Esc: skip the rest", style="dim")
KEYS_DONE = Text("Enter or Esc: send the result to the tutor", style="dim")


class QuizScreen(ModalScreen[list[str]]):
    """Asks each question of `quiz`; dismissed with the answers."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "skip_rest", "Skip the rest")]

    def __init__(self, quiz: Quiz) -> None:
        super().__init__()
        self.quiz = quiz
        self.answers: list[str] = []
        self.correct = 0
        self.typed_after = ""  # a line typed over the result, meant for the tutor: kept
        self._results = Text()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="quiz-box"):
            yield Static(Text(printable(self.quiz.title), style="bold"), id="quiz-title")
            yield Static("", id="quiz-results", markup=False)
            yield Static("", id="quiz-question", markup=False)
            yield Input(id="quiz-answer")
            yield Static(KEYS, id="quiz-keys")

    def on_mount(self) -> None:
        self._show_question()
        self.query_one("#quiz-answer", Input).focus()

    @property
    def done(self) -> bool:
        return len(self.answers) >= len(self.quiz.questions)

    def _show_question(self) -> None:
        box = self.query_one("#quiz-question", Static)
        answer = self.query_one("#quiz-answer", Input)
        results = self.query_one("#quiz-results", Static)
        results.display = bool(self._results)
        results.update(self._results)
        if self.done:
            total = len(self.quiz.questions)
            box.update(
                Text.assemble(
                    (f"{self.correct}/{total} right. ", "bold"),
                    "Press Enter to send the result to the tutor.",
                )
            )
            answer.placeholder = "Enter: send the result"
            self.query_one("#quiz-keys", Static).update(KEYS_DONE)
            return
        number = len(self.answers) + 1
        question = self.quiz.questions[number - 1]
        text = Text.assemble(
            (f"Question {number} of {len(self.quiz.questions)}\n", "dim"),
            (printable(question.prompt), "bold"),
        )
        for letter, choice in zip(LETTERS, question.choices, strict=False):
            text.append_text(Text.assemble(f"\n  {letter}) ", printable(choice)))
        box.update(text)
        answer.placeholder = (
            "your answer, or its letter or number" if question.choices else "your answer"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.done:
            self.typed_after = event.value.strip()
            self.dismiss(list(self.answers))
            return
        number = len(self.answers) + 1
        question = self.quiz.questions[number - 1]
        given = chosen(question, event.value)
        right = bool(given) and check_answer(question, given)
        self.correct += right
        self.answers.append(given)
        if self._results:
            self._results.append("\n")
        mark, style = ("✓", "green") if right else ("✗", "red")
        self._results.append_text(
            Text.assemble(
                (f"{mark} {number}. ", f"bold {style}"),
                printable(given) if given else ("(skipped)", "dim"),
            )
        )
        if not right:
            self._results.append_text(Text(f"  expected: {printable(expected(question))}"))
        elif (written := spelling(question, given)) is not None:
            self._results.append_text(Text(f"  spelt: {printable(written)}"))
        event.input.value = ""
        self._show_question()
        self.query_one("#quiz-box", VerticalScroll).scroll_end(animate=False)

    def action_skip_rest(self) -> None:
        """Escape: the questions not yet answered are skipped ("")."""
        self.skip_rest()

    def skip_rest(self) -> None:
        missing = len(self.quiz.questions) - len(self.answers)
        self.dismiss([*self.answers, *[""] * max(0, missing)])

"""The headless view: the lesson printed as it streams, then a summary.

Everything from the model, a tool or a scenario is printed as literal text: `rich.text.Text`
(never markup) with control characters made visible.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from rich.console import Console
from rich.text import Text

from tutor_cli.lesson.updates import (
    AudioMode,
    CallSummary,
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
    goal_key,
)
from tutor_cli.realtime.pricing import engine_bills
from tutor_cli.views.literal import literal as _t
from tutor_cli.views.numbers import count
from tutor_cli.views.results import quiz_text

if TYPE_CHECKING:
    from tutor_cli.lesson.script import Report
    from tutor_cli.tools.quiz import Quiz


def brief_arguments(arguments: str, limit: int = 160) -> str:
    """A tool call's arguments on one line, shortened."""
    try:
        data = json.loads(arguments)
        text = json.dumps(data, ensure_ascii=False, separators=(", ", ": "))
    except (json.JSONDecodeError, TypeError):
        text = str(arguments)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PipedConsole(Console):
    """A console whose reader may go away (`tutor call --headless | head`): it then falls
    silent and tells `on_gone`, where rich would exit from inside whatever was printing (a
    task of the call, which would leave a traceback and an open log behind)."""

    on_gone: Callable[[], None] | None = None

    def on_broken_pipe(self) -> None:
        self.quiet = True
        if self.file is sys.stdout:
            # The interpreter flushes stdout on its way out: let that find a reader too.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if self.on_gone is not None:
            self.on_gone()


class ConsoleView:
    """Prints a call for a terminal or a CI log."""

    def __init__(
        self,
        tutor_name: str,
        *,
        console: Console | None = None,
        quiz_answers: Callable[[], Awaitable[str | None]] | None = None,
        echo_typed: bool = True,
    ) -> None:
        """`echo_typed`: print the learner's typed turns (not when the terminal has just shown
        them, as at the `you>` prompt)."""
        self.console = console or PipedConsole(highlight=False, soft_wrap=True)
        self.tutor_name = tutor_name
        self._open_item: str | None = None  # the tutor turn being streamed
        self._streamed: set[str] = set()  # tutor turns already (partly) printed
        self._quiz_answer = quiz_answers
        self._echo_typed = echo_typed
        self.transcript: list[tuple[str, str]] = []  # (speaker, text) as printed
        self._goals_met: set[str] = set()
        self._complete = False

    # --- updates ------------------------------------------------------------------------------

    def show(self, update: CallUpdate) -> None:
        match update:
            case TutorDelta():
                self._tutor_delta(update)
            case TutorFinal():
                self._tutor_final(update)
            case TutorTruncated():
                self._line(_t(f"  (interrupted after {update.audio_end_ms / 1000:.1f} s)", "dim"))
            case LearnerTurn():
                if update.source == "typed" and update.text is not None:
                    if self._echo_typed:
                        self._line(_t("You: ", "bold green"), _t(update.text))
                    self.transcript.append(("learner", update.text))
            case LearnerTranscript():
                self._learner_transcript(update)
            case SpeechStarted():
                self._line(_t("  … you are speaking", "dim"))
            case ResponseState():
                if update.state == "done" and update.status not in (None, "completed"):
                    reason = f" ({update.reason})" if update.reason else ""
                    self._line(_t(f"  reply {update.status}{reason}", "dim"))
            case ToolRan():
                self._tool_ran(update)
            case ServerError():
                code = f" {update.code}" if update.code else ""
                self._line(_t(f"! engine error{code}: ", "bold red"), _t(update.message, "red"))
            case ConnectionState():
                detail = f": {update.detail}" if update.detail else ""
                style = "red" if update.state == "failed" else "dim"
                self._line(_t(f"● {update.state}{detail}", style))
            case Notice():
                style = {"warning": "yellow", "error": "bold red"}.get(update.level, "dim")
                self._line(_t(update.text, style))
            case AudioMode(mode="text", reason=str(reason)):
                self._line(
                    _t(f"text-only call: {reason} ('tutor doctor' says how to fix it)", "yellow")
                )
            case AudioMode():
                pass
            case LessonProgress():
                self._lesson_progress(update)
            case (
                SpeechStopped()
                | ToolCallReady()
                | UsageUpdate()
                | SessionReady()
                | UnknownEvent()
                | MicLevel()
            ):
                pass  # the log has them; a printed lesson does not need them
            case _:
                assert_never(update)

    def _lesson_progress(self, update: LessonProgress) -> None:
        """A goal is printed once, when it is met; the end of the lesson once."""
        for goal in update.goals:
            if goal.met and goal.text not in self._goals_met:
                self._goals_met.add(goal.text)
                self._line(_t("  ✓ goal met: ", "green"), _t(goal.text))
        if update.complete and not self._complete:
            self._complete = True
            self._line(_t(f"  {update.ending}", "green"))

    def _line(self, *parts: Text) -> None:
        self._close_stream()
        self.console.print(Text.assemble(*parts))

    def _close_stream(self) -> None:
        if self._open_item is not None:
            self.console.print()
            self._open_item = None

    def _tutor_delta(self, update: TutorDelta) -> None:
        if self._open_item != update.item_id:
            self._close_stream()
            lead = "" if update.item_id in self._streamed else f"{self.tutor_name}: "
            self.console.print(_t(lead or "  … ", "bold cyan"), end="")
            self._open_item = update.item_id
            self._streamed.add(update.item_id)
        self.console.print(_t(update.text), end="")

    def _tutor_final(self, update: TutorFinal) -> None:
        if self._open_item == update.item_id:
            self.console.print()
            self._open_item = None
        elif update.text and update.item_id not in self._streamed:
            self._line(_t(f"{self.tutor_name}: ", "bold cyan"), _t(update.text))
        self.transcript.append(("tutor", update.text))

    def _learner_transcript(self, update: LearnerTranscript) -> None:
        if update.text is not None:
            self._line(_t("You (spoken): ", "bold green"), _t(update.text))
            self.transcript.append(("learner", update.text))
        else:
            self._line(_t("You (spoken): ", "bold green"), _t("[not transcribed]", "dim"))

    def _tool_ran(self, update: ToolRan) -> None:
        mark = "⚙" if update.outcome.ok else "✗"
        style = "magenta" if update.outcome.ok else "red"
        parts = [
            _t(f"{mark} {update.name}", f"bold {style}"),
            _t(f" {brief_arguments(update.arguments)}"),
        ]
        if not update.outcome.ok and update.outcome.error:
            parts.append(_t(f" → {update.outcome.error}", "red"))
        self._line(*parts)

    # --- quiz -----------------------------------------------------------------------------------

    async def ask_quiz(self, quiz: Quiz) -> list[str]:
        """Print the questions; answers come from the script or the learner's next lines. Each
        is marked as the call screen marks it: ✓ with the answer as it is spelt (an accent
        forgiven is shown), or ✗ with the answer expected."""
        from tutor_cli.tools.quiz import LETTERS, check_answer, chosen, expected, picked_choice

        self._line(_t(quiz.title, "bold yellow"))
        answers = []
        for number, question in enumerate(quiz.questions, start=1):
            self._line(_t(f"  {number}. {question.prompt}", "yellow"))
            for letter, choice in zip("abcdefgh", question.choices, strict=False):
                self._line(_t(f"     {letter}) {choice}"))
            raw = (await self._quiz_answer() if self._quiz_answer else None) or ""
            given = chosen(question, raw)
            if given and check_answer(question, given):
                self._line(_t("     ✓ ", "bold green"), _t(expected(question)))
            else:
                picked = picked_choice(question, raw)
                said = f"{LETTERS[question.choices.index(picked)]}) {picked}" if picked else given
                self._line(
                    _t("     ✗ ", "bold red"),
                    _t(said or "(skipped)", "" if said else "dim"),
                    _t(f"  expected: {expected(question)}", "dim"),
                )
            answers.append(given)
        return answers

    # --- the end --------------------------------------------------------------------------------

    def summary(self, summary: CallSummary, goals: Sequence[str] = ()) -> None:
        self._close_stream()
        print_summary(self.console, summary, goals)


def score_text(summary: CallSummary) -> str:
    """The lesson's score, or why there is none: "85/100", "unfinished", "not graded"."""
    grade = summary.grade
    score = f"{grade.get('score', 0):g}/100" if grade else None
    if summary.finished is False:
        return f"unfinished (graded {score} when it ended)" if score else "unfinished"
    return score or "not graded"


def goal_marks(goals: Sequence[str], achieved: Sequence[str]) -> list[str]:
    """Each of the lesson's goals marked met (✓) or not (✗) by a grade's `goals_achieved`; a
    goal the grade names in its own words is listed as met too."""
    met = {goal_key(goal) for goal in achieved}
    known = {goal_key(goal) for goal in goals}
    marks = [f"{'✓' if goal_key(goal) in met else '✗'} {goal}" for goal in goals]
    return marks + [f"✓ {goal}" for goal in achieved if goal_key(goal) not in known]


def replay_command(log: Path) -> str:
    """The command that plays `log` back, quoted for a POSIX shell."""
    return f"tutor replay {shlex.quote(str(log))}"


def summary_rows(summary: CallSummary, goals: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The end-of-call figures as (label, value) pairs, shared by every view; `goals` are the
    lesson's, each marked met or not when there is a grade."""
    minutes, seconds = divmod(int(summary.duration_s), 60)
    turns = f"{count(summary.learner_turns)} yours, {count(summary.tutor_turns)} the tutor's"
    rows = [
        ("lesson", f"{summary.title} ({summary.scenario})"),
        ("engine", f"{summary.engine}, model {summary.model}"),
        ("duration", f"{minutes}:{seconds:02d}"),
        ("turns", turns),
        ("score", score_text(summary)),
    ]
    grade = summary.grade
    if grade:
        marks = goal_marks(goals, grade.get("goals_achieved") or [])
        rows += [("goals" if i == 0 else "", mark) for i, mark in enumerate(marks)]
        for error in grade.get("errors") or []:
            rows.append(("correction", f"{error.get('said', '')} → {error.get('correction', '')}"))
        if grade.get("feedback"):
            rows.append(("feedback", str(grade["feedback"])))
        for step in grade.get("next_steps") or []:
            rows.append(("next", str(step)))
    if summary.quiz:
        rows.append(("quiz", quiz_text(summary.quiz)))
    usage = summary.usage
    tokens = f"{count(usage.input_tokens)} in, {count(usage.output_tokens)} out"
    if summary.cost_usd is not None:
        tokens += f", cost ${summary.cost_usd:.4f}"
    elif engine_bills(summary.engine):
        tokens += ", no cost estimate for this model"
    rows.append(("tokens", tokens))
    if summary.log_path:
        rows.append(("log", str(summary.log_path)))
        rows.append(("replay", replay_command(summary.log_path)))
    if summary.failure:
        rows.append(("failed", summary.failure))
    return rows


def print_summary(console: Console, summary: CallSummary, goals: Sequence[str] = ()) -> None:
    """What a call left behind, printed after it (headless, or once the call screen is gone):
    score, goals, quiz, the log and how to replay it."""
    rows = summary_rows(summary, goals)
    console.print(_t("── lesson summary ──", "bold"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        console.print(Text.assemble(_t(f"{label:>{width}}  ", "bold"), _t(value)))


def summary_json(summary: CallSummary) -> dict[str, Any]:
    return {
        "scenario": summary.scenario,
        "engine": summary.engine,
        "model": summary.model,
        "duration_s": round(summary.duration_s, 2),
        "learner_turns": summary.learner_turns,
        "tutor_turns": summary.tutor_turns,
        "grade": summary.grade,
        "quiz": summary.quiz,
        "finished": summary.finished,
        "usage": summary.usage.as_dict(),
        "cost_usd": summary.cost_usd,
        "log": str(summary.log_path) if summary.log_path else None,
        "failure": summary.failure,
    }


def print_report(console: Console, report: Report) -> None:
    """A scripted session's expectations: a PASS or FAIL line each, then the verdict."""
    console.print(_t(f"── script {report.script.name} ──", "bold"))
    for check in report.checks:
        mark, style = ("PASS", "green") if check.passed else ("FAIL", "bold red")
        line = Text.assemble(_t(f"{mark} ", style), _t(check.name))
        if check.detail:
            line.append_text(_t(f"\n     {check.detail}", "red"))
        console.print(line)
    if report.failure:
        console.print(_t(f"FAIL session: {report.failure}", "bold red"))
    met = sum(c.passed for c in report.checks)
    verdict = "all expectations met" if report.passed else "expectations unmet"
    console.print(_t(f"{met}/{len(report.checks)} checks passed: {verdict}", "bold"))

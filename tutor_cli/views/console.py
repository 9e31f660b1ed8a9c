"""The headless view: the lesson printed as it streams, then a summary.

Everything from the model, a tool or a scenario is printed as literal text: `rich.text.Text`
(never markup) with control characters made visible.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
)
from tutor_cli.views.literal import literal as _t

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


class ConsoleView:
    """Prints a call for a terminal or a CI log."""

    def __init__(
        self,
        tutor_name: str,
        *,
        console: Console | None = None,
        quiz_answers: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.tutor_name = tutor_name
        self._open_item: str | None = None  # the tutor turn being streamed
        self._streamed: set[str] = set()  # tutor turns already (partly) printed
        self._quiz_answer = quiz_answers
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
            self._line(_t("  lesson complete", "green"))

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
        """Print the questions; answers come from the script or the learner's next lines."""
        self._line(_t(quiz.title, "bold yellow"))
        answers = []
        for number, question in enumerate(quiz.questions, start=1):
            self._line(_t(f"  {number}. {question.prompt}", "yellow"))
            for letter, choice in zip("abcdefgh", question.choices, strict=False):
                self._line(_t(f"     {letter}) {choice}"))
            given = (await self._quiz_answer() if self._quiz_answer else None) or ""
            self._line(_t("     answer: ", "dim"), _t(given or "(skipped)"))
            answers.append(given)
        return answers

    # --- the end --------------------------------------------------------------------------------

    def summary(self, summary: CallSummary) -> None:
        self._close_stream()
        print_summary(self.console, summary)


def summary_rows(summary: CallSummary) -> list[tuple[str, str]]:
    """The end-of-call figures as (label, value) pairs, shared by every view."""
    minutes, seconds = divmod(int(summary.duration_s), 60)
    rows = [
        ("lesson", f"{summary.title} ({summary.scenario})"),
        ("engine", f"{summary.engine}, model {summary.model}"),
        ("duration", f"{minutes}:{seconds:02d}"),
        ("turns", f"{summary.learner_turns} yours, {summary.tutor_turns} the tutor's"),
    ]
    grade = summary.grade
    if grade:
        rows.append(("score", f"{grade.get('score', 0):g}/100"))
        goals = grade.get("goals_achieved") or []
        rows.append(("goals met", "; ".join(goals) if goals else "none yet"))
        for error in grade.get("errors") or []:
            rows.append(("correction", f"{error.get('said', '')} → {error.get('correction', '')}"))
        if grade.get("feedback"):
            rows.append(("feedback", str(grade["feedback"])))
        for step in grade.get("next_steps") or []:
            rows.append(("next", str(step)))
    else:
        rows.append(("score", "not graded"))
    if summary.quiz:
        rows.append(
            ("quiz", f"{summary.quiz.get('correct', 0)}/{summary.quiz.get('questions', 0)}")
        )
    usage = summary.usage
    cost = "n/a" if summary.cost_usd is None else f"${summary.cost_usd:.4f}"
    rows.append(("tokens", f"{usage.input_tokens} in, {usage.output_tokens} out, cost {cost}"))
    if summary.log_path:
        rows.append(("log", str(summary.log_path)))
    if summary.failure:
        rows.append(("failed", summary.failure))
    return rows


def print_summary(console: Console, summary: CallSummary) -> None:
    console.print(_t("── lesson summary ──", "bold"))
    width = max(len(label) for label, _ in summary_rows(summary))
    for label, value in summary_rows(summary):
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

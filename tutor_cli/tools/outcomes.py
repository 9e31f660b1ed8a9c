"""What came of a tool call, typed: how it went, and its effect on the lesson.

The registry builds an outcome when it runs a tool; a replay or the offline engine rebuilds
one from the output string a call sent. Either way the lesson's own effects (a grade recorded,
a quiz answered) come out as typed values, read from one table here, so no view, replay or
engine checks tool names to find them. Outputs come from logs and other clients too, so every
field is checked before it is used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import field
from typing import Any, TypeGuard

from tutor_cli.datatypes import datatype


@datatype
class GradeRecorded:
    """`grade_lesson` stored a grade: score (0-100), goals met, errors, feedback, next steps."""

    grade: dict[str, Any]

    @property
    def score(self) -> float:
        return float(self.grade["score"])

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.grade.get("errors") or [])


@datatype
class QuizAnswered:
    """`trigger_quiz` came back: how many right of how many, and the result as stored;
    `skipped` when the learner answered none of it (so the 0 right is no score)."""

    correct: int
    questions: int
    stored: dict[str, Any]
    skipped: bool = False


ToolEffect = GradeRecorded | QuizAnswered


@datatype
class ToolOutcome:
    """How one call went.

    `output` is the string sent back as `function_call_output.output`; `result` is the
    handler's result as sent (plain JSON data, without the `ok` flag), empty on failure;
    `effect` is what the call did to the lesson, when it did something the lesson keeps.
    """

    name: str
    ok: bool
    output: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    effect: ToolEffect | None = None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def clean_grade(data: Any) -> dict[str, Any] | None:
    """A grade with only well-typed fields, so a hand-edited or foreign output cannot break a
    summary; None without a numeric score."""
    if not isinstance(data, dict) or not _number(data.get("score")):
        return None
    grade: dict[str, Any] = {"score": data["score"]}
    goals = data.get("goals_achieved")
    grade["goals_achieved"] = [str(g) for g in goals] if isinstance(goals, list) else []
    errors = data.get("errors")
    grade["errors"] = (
        [
            {k: str(v) for k, v in e.items() if k in ("said", "correction", "kind")}
            for e in errors
            if isinstance(e, dict)
        ]
        if isinstance(errors, list)
        else []
    )
    if isinstance(data.get("feedback"), str):
        grade["feedback"] = data["feedback"]
    steps = data.get("next_steps")
    grade["next_steps"] = [str(s) for s in steps] if isinstance(steps, list) else []
    return grade


def _grade_effect(result: dict[str, Any]) -> GradeRecorded | None:
    grade = clean_grade(result.get("stored"))
    return GradeRecorded(grade) if grade is not None else None


_RIGHT = ("correct", "score", "right")
_OUT_OF = ("questions", "total", "out_of", "count", "max_score")
_MARKED = ("answered", "answers", "results")
_FLAGS = ("correct", "is_correct", "right")
_FRACTION = re.compile(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*")


def _quiz_effect(result: dict[str, Any]) -> QuizAnswered | None:
    """Our own output keeps the score under `quiz` and the stored row under `stored`; other
    clients send, at the top level, a count right out of a count asked (`correct` or `score`
    with `questions`, `total`, `out_of`...), a fraction ("3/4"), or the marked answers. A quiz
    the learner skipped says `"skipped": true` at the top level or beside its score."""
    stored = result.get("stored") if isinstance(result.get("stored"), dict) else None
    for where in (stored, result.get("quiz"), result):
        if not isinstance(where, dict):
            continue
        counts = _counts(where)
        if counts is not None:
            correct, total = counts
            skipped = result.get("skipped") is True or where.get("skipped") is True
            kept = stored if stored is not None else {"correct": correct, "questions": total}
            if skipped:
                kept = {**kept, "skipped": True}  # what a summary of it reads
            return QuizAnswered(correct, total, kept, skipped)
    return None


def _counts(where: dict[str, Any]) -> tuple[int, int] | None:
    """(right, asked) as one shape of quiz output says it, or None."""
    right = next((where[k] for k in _RIGHT if k in where), None)
    total = next((where[k] for k in _OUT_OF if k in where), None)
    if _count(right) and _count(total):
        found: tuple[int, int] | None = (right, total)
    else:
        text = right if isinstance(right, str) else where.get("result")
        fraction = _FRACTION.fullmatch(text) if isinstance(text, str) else None
        found = (int(fraction[1]), int(fraction[2])) if fraction else _marked(where)
    # A count right beyond the count asked is no quiz result anyone can trust.
    return found if found is not None and found[1] > 0 and found[0] <= found[1] else None


def _marked(where: dict[str, Any]) -> tuple[int, int] | None:
    """The answers, each marked right or not (`{"correct": true}` or a bare boolean)."""
    answers = next((where[k] for k in _MARKED if isinstance(where.get(k), list)), None)
    if not answers:
        return None
    right = 0
    for answer in answers:
        flag = answer if isinstance(answer, bool) else None
        if isinstance(answer, dict):
            flag = next((answer[k] for k in _FLAGS if isinstance(answer.get(k), bool)), None)
        right += flag is True
    return right, len(answers)


# The one place that knows which tool has which effect on the lesson (this table and the next).
_EFFECTS: dict[str, Callable[[dict[str, Any]], ToolEffect | None]] = {
    "grade_lesson": _grade_effect,
    "trigger_quiz": _quiz_effect,
}


def effect_of(name: str, result: dict[str, Any]) -> ToolEffect | None:
    """The lesson effect of a successful call of `name` that gave `result`."""
    reader = _EFFECTS.get(name)
    return reader(result) if reader is not None else None


def _grade_intended(arguments: dict[str, Any]) -> GradeRecorded | None:
    grade = clean_grade(arguments)
    return GradeRecorded(grade) if grade is not None else None


# What a call meant to do, told from its arguments: only a grade can be.
_INTENDED: dict[str, Callable[[dict[str, Any]], ToolEffect | None]] = {
    "grade_lesson": _grade_intended,
}


def intended_effect(name: str, arguments: str) -> ToolEffect | None:
    """What a call meant to do, from its arguments alone: for a log that kept no outcome
    (another client's, or one cut short)."""
    reader = _INTENDED.get(name)
    parsed = parse_output(arguments)
    return reader(parsed) if reader is not None and parsed is not None else None


def parse_output(output: str) -> dict[str, Any] | None:
    """A tool output as a JSON object, or None when it is not one."""
    try:
        data = json.loads(output)
    except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def output_ok(output: str) -> bool | None:
    """Whether an output says the call worked (`"ok": true/false`); None when it says nothing."""
    data = parse_output(output)
    ok = data.get("ok") if data is not None else None
    return ok if isinstance(ok, bool) else None


def output_error(output: str | None) -> str:
    """The message of a failed tool's output (`{"ok": false, "error": ...}`)."""
    data = parse_output(output or "")
    message = data.get("error") if data else None
    return str(message) if message else "failed"


def read_outcome(name: str, output: str, ok: bool | None = None) -> ToolOutcome:
    """An outcome rebuilt from an output a call sent (a replay, the engine): `ok` as given or
    as the output says; a call whose output says nothing counts as done."""
    if ok is None:
        ok = output_ok(output) is not False
    if not ok:
        return ToolOutcome(name, False, output, error=output_error(output))
    data = parse_output(output) or {}
    result = {k: v for k, v in data.items() if k != "ok"}
    return ToolOutcome(name, True, output, result, effect=effect_of(name, result))

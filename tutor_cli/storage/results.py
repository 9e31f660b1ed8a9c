"""What a grade and a quiz result must hold, checked before the store keeps them.

A model's tool arguments arrive here: anything malformed raises ValueError with a message the
tool sends back to the model, so it can try again.
"""

from __future__ import annotations

import math
from typing import Any

# Keys the store sets itself on a quiz result; the caller's values for them are not kept.
QUIZ_OWN_KEYS = frozenset(
    {"session_id", "recorded_at", "questions", "correct", "answers", "score", "skipped"}
)


def normalise_score(score: Any) -> float:
    """A grade's score as a percentage rounded to one decimal.

    0 <= score <= 1 is a fraction (so 1 means 100%, 0.85 means 85%); 1 < score <= 100 is
    already a percentage. Anything else raises ValueError.
    """
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError(f"score must be a number from 0 to 100, got {score!r}")
    if not 0 <= score <= 100:
        raise ValueError(f"score {score!r} is outside 0-100 (or 0-1 as a fraction)")
    percent = score * 100 if score <= 1 else score
    return round(float(percent), 1)


def strings(value: Any, field: str) -> list[str]:
    """`value` as a list of strings, or ValueError naming `field`."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{field} must be a list of strings, got {value!r}")
    return list(value)


def grade_errors(value: Any) -> list[dict[str, str]]:
    """A grade's errors, each with string `said`, `correction` and `kind` (and nothing else)."""
    if not isinstance(value, list):
        raise ValueError(f"errors must be a list, got {value!r}")
    errors = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in ("said", "correction", "kind")
        ):
            raise ValueError(f"errors: each needs string said, correction and kind, got {item!r}")
        errors.append({key: item[key] for key in ("said", "correction", "kind")})
    return errors


def quiz_answers(value: Any) -> list[dict[str, Any]]:
    """A quiz's answers, each with string `question`, `given`, `expected`, boolean `correct`."""
    if not isinstance(value, list):
        raise ValueError(f"answers must be a list, got {value!r}")
    answers = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not all(isinstance(item.get(key), str) for key in ("question", "given", "expected"))
            or not isinstance(item.get("correct"), bool)
        ):
            raise ValueError(
                "answers: each needs string question, given and expected and a boolean "
                f"correct, got {item!r}"
            )
        answers.append({key: item[key] for key in ("question", "given", "expected", "correct")})
    return answers


def quiz_skipped(value: Any, correct: int) -> bool:
    """A quiz result's `skipped` flag: a boolean, and never true with answers that were right."""
    if not isinstance(value, bool):
        raise ValueError(f"skipped must be true or false, got {value!r}")
    if value and correct:
        raise ValueError(f"a skipped quiz has no right answers, got correct = {correct}")
    return value

"""A lesson's results in words, the same in the summary and in `tutor progress`."""

from __future__ import annotations

from typing import Any


def quiz_text(quiz: dict[str, Any]) -> str:
    """A quiz result: "3/4", or "skipped" when no question was answered (not 0/4)."""
    if quiz.get("skipped"):
        return "skipped"
    return f"{quiz.get('correct', 0)}/{quiz.get('questions', 0)}"

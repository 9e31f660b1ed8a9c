"""grade_lesson: the model's verdict on the lesson, stored in the learner's progress."""

from __future__ import annotations

from typing import Any

from tutor_cli.tools.registry import Tool, ToolContext, ToolError
from tutor_cli.tools.specs import GRADE_LESSON


def _trimmed(value: Any) -> Any:
    # Models pad strings with spaces and newlines; the store and the views want them clean.
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    return value


async def grade_lesson(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Store the grade the model gives; the store owns the rules (score scale, ranges)."""
    try:
        stored = ctx.record_grade(_trimmed(arguments))
    except ValueError as exc:
        raise ToolError(f"The grade was not stored: {exc}") from None
    return {"stored": stored}


GRADE_LESSON_TOOL = Tool(name=GRADE_LESSON["name"], spec=GRADE_LESSON, handler=grade_lesson)

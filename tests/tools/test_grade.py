from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import SCENARIOS
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.tools.grade import GRADE_LESSON_TOOL
from tutor_cli.tools.registry import ToolContext, ToolRegistry
from tutor_cli.tools.specs import GRADE_LESSON

ARGUMENTS: dict[str, Any] = {
    "score": 0.8,
    "goals_achieved": ["  Say where you are from \n"],
    "errors": [{"said": " yo es ", "correction": "yo soy", "kind": "grammar"}],
    "feedback": "  Well done!  ",
    "next_steps": ["Numbers"],
}


def fake_store(received: list[dict[str, Any]]) -> Any:
    """Like the progress store: 0-1 or 0-100 becomes 0-100, anything else is refused."""

    def record_grade(grade: dict[str, Any]) -> dict[str, Any]:
        received.append(grade)
        score = grade["score"]
        if score < 0 or score > 100:
            raise ValueError(f"score {score} is out of range")
        return {"id": 1, "score": score * 100 if score <= 1 else score}

    return record_grade


def run(arguments: dict[str, Any], received: list[dict[str, Any]]) -> Any:
    async def no_quiz(quiz: Any) -> list[str]:
        raise AssertionError("grading asks no quiz")

    ctx = ToolContext(
        scenario=load_scenario(SCENARIOS / "a1_taxi_bogota.json"),
        record_grade=fake_store(received),
        record_quiz=lambda result: result,
        ask_quiz=no_quiz,
    )
    return asyncio.run(ToolRegistry.default().run("grade_lesson", json.dumps(arguments), ctx))


def test_tool_uses_the_shared_spec() -> None:
    assert GRADE_LESSON_TOOL.name == "grade_lesson"
    assert GRADE_LESSON_TOOL.spec is GRADE_LESSON


def test_grade_is_trimmed_stored_and_reported() -> None:
    received: list[dict[str, Any]] = []
    outcome = run(ARGUMENTS, received)
    assert outcome.ok, outcome.error
    assert received == [
        {
            "score": 0.8,
            "goals_achieved": ["Say where you are from"],
            "errors": [{"said": "yo es", "correction": "yo soy", "kind": "grammar"}],
            "feedback": "Well done!",
            "next_steps": ["Numbers"],
        }
    ]
    assert json.loads(outcome.output) == {"ok": True, "stored": {"id": 1, "score": 80.0}}
    assert outcome.result == {"stored": {"id": 1, "score": 80.0}}


def test_store_refusal_becomes_an_error_for_the_model() -> None:
    # The schema allows 0-100, so the store's own check is the one that catches this.
    received: list[dict[str, Any]] = []
    fake = fake_store(received)

    async def refused() -> Any:
        ctx = ToolContext(
            scenario=load_scenario(SCENARIOS / "a1_taxi_bogota.json"),
            record_grade=lambda grade: fake({**grade, "score": 150}),
            record_quiz=lambda result: result,
            ask_quiz=None,  # type: ignore[arg-type]
        )
        return await ToolRegistry.default().run("grade_lesson", json.dumps(ARGUMENTS), ctx)

    outcome = asyncio.run(refused())
    assert not outcome.ok
    assert outcome.error == "The grade was not stored: score 150 is out of range"
    assert json.loads(outcome.output) == {"ok": False, "error": outcome.error}


def test_schema_catches_a_bad_grade_before_the_store() -> None:
    received: list[dict[str, Any]] = []
    outcome = run({**ARGUMENTS, "score": 250}, received)
    assert not outcome.ok
    assert (
        outcome.error
        == "Invalid arguments for 'grade_lesson': score: 250 is above the maximum of 100."
    )
    assert received == []

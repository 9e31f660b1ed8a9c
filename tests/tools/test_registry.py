from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import SCENARIOS
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.tools.registry import Tool, ToolContext, ToolError, ToolRegistry, validate
from tutor_cli.tools.specs import GRADE_LESSON, TOOL_SPECS, TRIGGER_QUIZ

GRADE_SCHEMA = GRADE_LESSON["parameters"]

GOOD_GRADE: dict[str, Any] = {
    "score": 82,
    "goals_achieved": ["Greet someone politely and say how you are"],
    "errors": [{"said": "yo es", "correction": "yo soy", "kind": "grammar"}],
    "feedback": "Muy bien.",
    "next_steps": ["Practise numbers"],
}


def grade(**changes: Any) -> dict[str, Any]:
    return {**GOOD_GRADE, **changes}


def context() -> ToolContext:
    async def no_answers(quiz: Any) -> list[str]:
        return []

    return ToolContext(
        scenario=load_scenario(SCENARIOS / "a1_taxi_bogota.json"),
        record_grade=lambda g: g,
        record_quiz=lambda q: q,
        ask_quiz=no_answers,
    )


# --- validate ------------------------------------------------------------------------------


def test_good_grade_has_no_problems() -> None:
    assert validate(GRADE_SCHEMA, GOOD_GRADE) == []
    assert validate(GRADE_SCHEMA, grade(score=0.82, errors=[])) == []


def test_extra_properties_are_allowed() -> None:
    assert validate(GRADE_SCHEMA, grade(mood="cheerful")) == []


def test_missing_required() -> None:
    arguments = dict(GOOD_GRADE)
    del arguments["feedback"]
    assert validate(GRADE_SCHEMA, arguments) == ["feedback: missing (required)"]


def test_wrong_type() -> None:
    assert validate(GRADE_SCHEMA, grade(score="ninety")) == [
        "score: expected a number, got a string ('ninety')"
    ]
    assert validate(GRADE_SCHEMA, grade(goals_achieved="all")) == [
        "goals_achieved: expected an array, got a string ('all')"
    ]


def test_bool_is_not_a_number() -> None:
    assert validate(GRADE_SCHEMA, grade(score=True)) == [
        "score: expected a number, got a boolean (true)"
    ]
    assert validate({"type": "integer"}, False) != []
    assert validate({"type": "boolean"}, False) == []


def test_number_and_integer() -> None:
    assert validate({"type": "number"}, 3) == []
    assert validate({"type": "number"}, 3.5) == []
    assert validate({"type": "integer"}, 3) == []
    assert validate({"type": "integer"}, 3.0) == []  # JSON has one number type
    assert validate({"type": "integer"}, 3.5) == ["expected an integer, got a number (3.5)"]


def test_minimum_and_maximum() -> None:
    assert validate(GRADE_SCHEMA, grade(score=-1)) == ["score: -1 is below the minimum of 0"]
    assert validate(GRADE_SCHEMA, grade(score=101)) == ["score: 101 is above the maximum of 100"]


def test_enum_in_nested_item_names_the_path() -> None:
    errors = [
        {"said": "a", "correction": "b", "kind": "grammar"},
        {"said": "c", "correction": "d", "kind": "typo"},
    ]
    assert validate(GRADE_SCHEMA, grade(errors=errors)) == [
        "errors[1].kind: 'typo' is not one of grammar, vocabulary, pronunciation, register, "
        "fluency, other"
    ]


def test_nested_problems_are_all_reported() -> None:
    errors = [{"said": 3, "kind": "grammar"}]
    problems = validate(GRADE_SCHEMA, grade(errors=errors, next_steps=["ok", 7]))
    assert problems == [
        "errors[0].correction: missing (required)",
        "errors[0].said: expected a string, got an integer (3)",
        "next_steps[1]: expected a string, got an integer (7)",
    ]


def test_top_level_type() -> None:
    assert validate(GRADE_SCHEMA, []) == ["expected an object, got an array ([])"]


# --- the registry --------------------------------------------------------------------------


async def echo(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    return {"echo": arguments, "lesson": ctx.scenario.id}


async def refuse(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    raise ToolError("No quiz today.")


async def crash(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    raise KeyError("secret/internal/path")


def tool(name: str, handler: Any) -> Tool:
    spec = {
        "type": "function",
        "name": name,
        "description": "test tool",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string", "enum": ["hola", "adiós"]}},
            "required": [],
        },
    }
    return Tool(name=name, spec=spec, handler=handler)


REGISTRY = ToolRegistry([tool("echo", echo), tool("refuse", refuse), tool("crash", crash)])


def run(name: str, arguments: str) -> Any:
    return asyncio.run(REGISTRY.run(name, arguments, context()))


def test_success_output_is_ok_plus_result() -> None:
    outcome = run("echo", '{"word": "adiós"}')
    assert outcome.ok and outcome.error is None and outcome.name == "echo"
    assert json.loads(outcome.output) == {
        "ok": True,
        "echo": {"word": "adiós"},
        "lesson": "a1_taxi_bogota",
    }
    assert "adiós" in outcome.output  # ensure_ascii=False: readable in the event log
    assert outcome.result == {"echo": {"word": "adiós"}, "lesson": "a1_taxi_bogota"}


def test_empty_arguments_mean_no_arguments() -> None:
    outcome = run("echo", "")
    assert outcome.ok
    assert outcome.result["echo"] == {}


def failure(name: str, arguments: str) -> str:
    outcome = run(name, arguments)
    assert not outcome.ok
    assert outcome.result == {}
    sent = json.loads(outcome.output)
    assert sent == {"ok": False, "error": outcome.error}
    assert outcome.error
    return outcome.error


def test_unknown_tool() -> None:
    error = failure("launch_rocket", "{}")
    assert error == "Unknown tool 'launch_rocket'; the available tools are: echo, refuse, crash."


def test_bad_json() -> None:
    error = failure("echo", '{"word": ')
    assert error.startswith("The arguments for 'echo' are not valid JSON (")
    assert "line 1 column" in error


def test_json_that_is_not_an_object() -> None:
    assert (
        failure("echo", '["hola"]')
        == "The arguments for 'echo' must be a JSON object, not an array."
    )
    assert (
        failure("echo", "42") == "The arguments for 'echo' must be a JSON object, not an integer."
    )


def test_schema_problem_stops_the_handler() -> None:
    called: list[dict[str, Any]] = []

    async def record(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        called.append(arguments)
        return {}

    registry = ToolRegistry([tool("echo", record)])
    outcome = asyncio.run(registry.run("echo", '{"word": "chao"}', context()))
    assert not outcome.ok
    assert outcome.error == "Invalid arguments for 'echo': word: 'chao' is not one of hola, adiós."
    assert called == []


def test_tool_error_message_goes_to_the_model() -> None:
    assert failure("refuse", "{}") == "No quiz today."


def test_unexpected_exception_is_named_not_traced() -> None:
    error = failure("crash", "{}")
    assert error == "The tool 'crash' failed unexpectedly (KeyError)."
    assert "secret" not in error and "Traceback" not in error


def test_specs_follow_the_requested_order_and_skip_unknown_names() -> None:
    registry = ToolRegistry.default()
    assert registry.names == ["grade_lesson", "trigger_quiz"]
    assert registry.specs(["trigger_quiz", "nope", "grade_lesson"]) == [TRIGGER_QUIZ, GRADE_LESSON]
    assert registry.specs(["grade_lesson"]) == [TOOL_SPECS["grade_lesson"]]
    assert registry.specs([]) == []


def test_specs_are_copies() -> None:
    registry = ToolRegistry.default()
    registry.specs(["grade_lesson"])[0]["parameters"]["required"].clear()
    assert GRADE_LESSON["parameters"]["required"]


def test_a_name_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        ToolRegistry([tool("echo", echo), tool("echo", refuse)])

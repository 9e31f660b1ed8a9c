"""Tool calls follow the schema the client declared, as a real model's do: declared properties
filled from what the tutor knows, nothing undeclared under `additionalProperties: false`,
defaults for what it cannot know, and never a tool the client did not declare."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Coroutine
from typing import Any

import jsonschema
import pytest

from tests.conftest import SCENARIOS
from tests.engine.pair import EnginePair
from tests.engine.probe import Event, answer_tools, say, tool_calls
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import SessionOptions, session_config
from tutor_cli.realtime import events
from tutor_cli.tools.registry import validate
from tutor_cli.tools.specs import TOOL_SPECS

TAXI = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"]

OWN = {name: spec["parameters"] for name, spec in TOOL_SPECS.items()}

RENAMED = {
    "trigger_quiz": {
        "type": "object",
        "properties": {
            "topic": {"type": "string"},
            "count": {"type": "integer", "minimum": 1, "maximum": 3},
        },
        "required": ["topic", "count"],
        "additionalProperties": False,
    },
    "grade_lesson": {
        "type": "object",
        "properties": {
            "overall": {"type": "number", "minimum": 0, "maximum": 1},
            "goalsMet": {"type": "array", "items": {"type": "string"}},
            "mistakes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"original": {"type": "string"}, "fix": {"type": "string"}},
                    "required": ["original", "fix"],
                    "additionalProperties": False,
                },
            },
            "comments": {"type": "string"},
            "recommendations": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["overall", "goalsMet", "mistakes", "comments", "recommendations"],
        "additionalProperties": False,
    },
}


def with_extra_required(schemas: dict[str, Any]) -> dict[str, Any]:
    """Our own schemas, each with a required field the tutor has no value for, and the grade
    with the lesson's level as well."""
    extended = copy.deepcopy(schemas)
    for schema in extended.values():
        schema["properties"]["minutes"] = {"type": "integer", "minimum": 5, "maximum": 60}
        schema["required"] = [*schema["required"], "minutes"]
    grade = extended["grade_lesson"]
    grade["properties"]["cefr_level"] = {"type": "string", "enum": LEVELS}
    grade["required"].append("cefr_level")
    return extended


EXTRA = with_extra_required(OWN)
VARIANTS = {"own": OWN, "renamed": RENAMED, "extra_required": EXTRA}


def declared(schemas: dict[str, Any], names: list[str] | None = None) -> list[Event]:
    return [
        {"type": "function", "name": name, "description": name, "parameters": schema}
        for name, schema in schemas.items()
        if names is None or name in names
    ]


def run(body: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(body, 120))


async def text_lesson(tools: list[Event], **session: Any) -> EnginePair:
    pair = await EnginePair.open(TAXI.id)
    config = session_config(TAXI, SessionOptions(output_modalities="text"))
    await pair.send(events.session_update({**config, "tools": tools, **session}))
    await pair.until("session.updated")
    await pair.send(events.response_create())
    await pair.until("response.done")
    return pair


def arguments_of(got: list[Event]) -> dict[str, dict[str, Any]]:
    return {call["name"]: json.loads(call["arguments"]) for call in tool_calls(got)}


def assert_valid(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema).validate(arguments)  # additionalProperties too
    assert validate(schema, arguments) == []


async def lesson_calls(schemas: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Arguments of the end-of-lesson quiz and grade, after one miss on the first step."""
    pair = await text_lesson(declared(schemas))
    await say(pair, "nada")
    for step in TAXI.steps:
        got = await say(pair, step.model_answer)
    calls = arguments_of(got)
    got = await answer_tools(pair, got, {"trigger_quiz": '{"correct": 3, "total": 4}'})
    calls |= arguments_of(got)
    await pair.close()
    return calls


@pytest.mark.parametrize("variant", VARIANTS)
def test_arguments_validate_against_the_declared_schema(variant: str) -> None:
    async def body() -> None:
        schemas = VARIANTS[variant]
        calls = await lesson_calls(schemas)
        assert set(calls) == {"trigger_quiz", "grade_lesson"}
        for name, arguments in calls.items():
            assert_valid(schemas[name], arguments)
        quiz, grade = calls["trigger_quiz"], calls["grade_lesson"]
        score = round(100 * (0.7 + len(TAXI.steps) - 1) / len(TAXI.steps))
        if variant == "renamed":
            assert quiz == {"topic": TAXI.title, "count": 3}  # the tutor's 4, within the maximum
            assert grade["overall"] == pytest.approx(score / 100)
            assert grade["mistakes"] == [{"original": "nada", "fix": TAXI.steps[0].model_answer}]
            assert grade["goalsMet"] and grade["comments"] and grade["recommendations"]
        else:
            assert quiz["focus"] == "mixed" and quiz["questions"] == 4
            assert grade["score"] == score and grade["errors"][0]["said"] == "nada"
        if variant == "extra_required":
            assert grade["cefr_level"] == TAXI.level
            assert grade["minutes"] == quiz["minutes"] == 5  # unknown: the lowest allowed

    run(body())


def test_a_forced_call_follows_the_responses_own_tools() -> None:
    async def body() -> None:
        pair = await text_lesson(declared(OWN))
        forced = {"type": "function", "name": "trigger_quiz"}
        for schemas in (RENAMED, EXTRA):
            tools = declared(schemas, ["trigger_quiz"])
            await pair.send(events.response_create(tools=tools, tool_choice=forced))
            (arguments,) = arguments_of(await pair.until("response.done")).values()
            assert_valid(schemas["trigger_quiz"], arguments)
        await pair.close()

    run(body())


def test_schemas_that_say_little_still_get_valid_arguments() -> None:
    loose = {
        "grade_lesson": {"type": "object"},  # anything goes: the tutor's own arguments
        "trigger_quiz": {
            "type": "object",
            "properties": {
                "level": {"type": ["string", "null"], "enum": [*LEVELS, None]},
                "style": {"type": "string", "enum": ["oral", "written"]},
                "shuffle": {"type": "boolean"},
                "settings": {
                    "type": "object",
                    "properties": {"seconds": {"type": "number", "minimum": 10}},
                    "required": ["seconds"],
                    "additionalProperties": False,
                },
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
            "required": ["level", "style", "shuffle", "settings", "tags"],
            "additionalProperties": False,
        },
    }

    async def body() -> None:
        calls = await lesson_calls(loose)
        assert_valid(loose["trigger_quiz"], calls["trigger_quiz"])
        assert calls["trigger_quiz"]["level"] == "A1" and calls["trigger_quiz"]["style"] == "oral"
        assert calls["grade_lesson"]["score"] < 100 and calls["grade_lesson"]["errors"]

    run(body())


def test_a_tool_that_is_not_declared_is_never_called() -> None:
    async def body() -> None:
        only_grade = declared(OWN, ["grade_lesson"])
        pair = await text_lesson(only_grade)
        seen: list[Event] = []
        seen += await say(pair, "¿Podemos hacer un quiz?")
        for step in TAXI.steps:
            seen += await say(pair, step.model_answer)
        assert [call["name"] for call in tool_calls(seen)] == ["grade_lesson"]
        await pair.close()
        pair = await text_lesson([])
        for step in TAXI.steps:
            seen = await say(pair, step.model_answer)
        assert not tool_calls(seen)
        await pair.close()

    run(body())

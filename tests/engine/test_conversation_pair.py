"""The client's Conversation against the engine, in memory: both sides of a whole lesson real,
joined by plain calls. Every client event is checked against the SDK's types, as is every
server event (by the pair)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest

from tests.conformance import assert_client_event
from tests.conftest import SCENARIOS, shipped_ids
from tests.engine.pair import EnginePair
from tutor_cli.engine.phrases import phrases_for
from tutor_cli.lesson.scenario import Scenario, load_scenario
from tutor_cli.lesson.session_config import SessionOptions, session_config
from tutor_cli.lesson.updates import ResponseState, ServerError, ToolCallReady, TutorFinal
from tutor_cli.realtime.conversation import Conversation


@dataclass
class Lesson:
    """What a text lesson left behind."""

    conversation: Conversation
    tutor_said: list[str] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    grade: dict | None = None


TOOL_OUTPUTS = {"trigger_quiz": '{"correct": 4, "total": 4}', "grade_lesson": '{"stored": true}'}


async def text_lesson(scenario: Scenario, answers: list[str]) -> Lesson:
    """The learner types `answers` one by one, each once the tutor is idle; tools are answered
    as the Call would; it ends when the tutor is idle with nothing left to say or grade."""
    pair = await EnginePair.open(scenario.id)
    lesson = Lesson(Conversation("gpt-realtime"))
    conversation = lesson.conversation
    conversation.configure(session_config(scenario, SessionOptions(output_modalities="text")))
    conversation.request_response()  # the tutor speaks first
    to_type = iter(answers)
    while True:
        for event in conversation.events_to_send():
            assert_client_event(event)
            await pair.send(event)
        for update in conversation.receive(await pair.next()):
            match update:
                case ToolCallReady(call_id=call_id, name=name, arguments=arguments):
                    lesson.tools_called.append(name)
                    if name == "grade_lesson":
                        lesson.grade = json.loads(arguments)
                    conversation.tool_output(call_id, TOOL_OUTPUTS[name])
                case TutorFinal(text=text):
                    lesson.tutor_said.append(text)
                case ServerError(code=code, message=message):
                    pytest.fail(f"the engine refused something: {code}: {message}")
                case ResponseState(state="done") if not conversation.busy:
                    answer = next(to_type, None)
                    if answer is None:
                        await pair.close()
                        return lesson
                    conversation.send_text(answer)


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_a_scripted_text_lesson_runs_to_the_grade(scenario_id: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    answers = [step.model_answer for step in scenario.steps]
    lesson = asyncio.run(asyncio.wait_for(text_lesson(scenario, answers), 60))
    assert lesson.tools_called == ["trigger_quiz", "grade_lesson"]
    assert lesson.grade is not None and lesson.grade["score"] == 100
    assert lesson.grade["goals_achieved"] == scenario.goals
    assert lesson.tutor_said[0].startswith(scenario.opening)
    assert lesson.tutor_said[-1] == phrases_for(scenario.language).farewell
    # opening, one reply per answer, the quiz's result with the grading call, goodbye
    usage = lesson.conversation.usage
    assert usage.responses == len(answers) + 3
    assert usage.input_tokens > 0 and usage.output_tokens > 0


def test_a_learner_who_misses_gets_hints_then_the_answer() -> None:
    scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
    first = scenario.steps[0]
    near_misses = ["Buenas tardes", "Buenas tardes"]  # a greeting, but not how you are
    lesson = asyncio.run(asyncio.wait_for(text_lesson(scenario, near_misses), 60))
    assert first.hint in lesson.tutor_said[1]
    assert first.model_answer in lesson.tutor_said[2]
    assert not lesson.tools_called
    turns = [(t.role, t.text) for t in lesson.conversation.turns]
    assert turns[1:4] == [
        ("user", "Buenas tardes"),
        ("assistant", lesson.tutor_said[1]),
        ("user", "Buenas tardes"),
    ]

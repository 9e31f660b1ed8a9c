"""The openai-agents SDK as a client of the offline engine, over loopback: a RealtimeAgent with
function tools of its own (strict schemas, other parameters than the scenario's) holds a whole
lesson, and `session.interrupt()` while the tutor speaks cuts the reply and the lesson goes on.
Whatever the SDK reports as a problem (an error or exception event, a tool that failed, a
warning in its log) fails the test, and every server event it sees is checked against the
OpenAI SDK's types."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import pytest
from agents import FunctionTool, function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner, RealtimeSession
from agents.realtime.events import RealtimeSessionEvent

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tests.engine.test_server import with_engine
from tutor_cli.engine.phrases import phrases_for
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.lesson.scenario import load_scenario

TAXI = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
PHRASES = phrases_for(TAXI.language)

ToolRuns = list[tuple[str, dict[str, Any]]]


def lesson_tools(runs: ToolRuns) -> list[FunctionTool]:
    """The agent's own tools: the scenario's names, parameters of its own."""

    @function_tool
    def trigger_quiz(topic: str, questions: int) -> str:
        """Show the learner a short quiz on a topic; returns how it went."""
        runs.append(("trigger_quiz", {"topic": topic, "questions": questions}))
        return json.dumps({"score": 3, "total": 4})

    @function_tool
    def grade_lesson(
        score: float,
        cefr_level: Literal["A1", "A2", "B1", "B2", "C1", "C2"],
        feedback: str,
        strengths: list[str],
    ) -> str:
        """Record the learner's grade for the lesson."""
        grade = {"score": score, "cefr_level": cefr_level, "feedback": feedback}
        runs.append(("grade_lesson", {**grade, "strengths": strengths}))
        return "Grade stored."

    return [trigger_quiz, grade_lesson]


class AgentLesson:
    """One RealtimeSession against the engine, and everything the SDK told."""

    def __init__(self, session: RealtimeSession) -> None:
        self.session = session
        self.events: AsyncIterator[RealtimeSessionEvent] = session.__aiter__()
        self.problems: list[str] = []
        self.said: list[str] = []  # the tutor's finished transcripts, in order
        self.server_types: list[str] = []

    async def next(self, timeout: float = 30) -> RealtimeSessionEvent:
        event = await asyncio.wait_for(anext(self.events), timeout)
        if event.type == "error":
            self.problems.append(f"error event: {event.error}")
        elif event.type == "tool_end" and "error" in str(event.output).lower():
            self.problems.append(f"tool {event.tool.name} failed: {event.output}")
        elif event.type == "raw_model_event":
            data = event.data
            if data.type in ("error", "exception"):
                self.problems.append(f"model {data.type}: {data}")
            elif data.type == "raw_server_event":
                assert_server_event(data.data)  # zero invalid events, whatever the test
                self.server_types.append(data.data["type"])
                if data.data["type"] == "response.output_audio_transcript.done":
                    self.said.append(data.data["transcript"])
        return event

    async def until(self, done: Callable[[RealtimeSessionEvent], bool]) -> None:
        while not done(await self.next()):
            pass

    async def turn(self, text: str) -> str:
        """A typed learner turn; the tutor's reply, once it has finished."""
        await self.session.send_message(text)
        await self.until(lambda e: e.type == "agent_end")
        return self.said[-1]


async def agent_lesson(engine: OfflineEngine, runs: ToolRuns) -> AgentLesson:
    agent = RealtimeAgent(
        name="tutor", instructions="A taxi ride in Bogotá.", tools=lesson_tools(runs)
    )
    runner = RealtimeRunner(agent, config={"tracing_disabled": True})
    session = await runner.run(
        model_config={
            # As the SDK is pointed at any Realtime server: its own URL, its own key.
            "url": f"{engine.url}?model=gpt-realtime&scenario={TAXI.id}",
            "api_key": "not-needed",
        }
    )
    await session.enter()
    return AgentLesson(session)


def assert_quiet(lesson: AgentLesson, caplog: pytest.LogCaptureFixture) -> None:
    assert lesson.problems == []
    complaints = [r for r in caplog.records if r.name.startswith("openai.agents")]
    assert [r.getMessage() for r in complaints if r.levelno >= logging.WARNING] == []


def test_a_realtime_agent_holds_a_whole_lesson_with_its_own_tools(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: ToolRuns = []

    async def body(engine: OfflineEngine) -> None:
        lesson = await agent_lesson(engine, runs)
        assert TAXI.opening in await lesson.turn("Hola")
        for step in TAXI.steps:
            await lesson.turn(step.model_answer)
        # The last step's reply called the quiz; the SDK runs its tools and asks for the next
        # replies itself: the quiz's result, the grade, then the goodbye.
        await lesson.until(lambda e: e.type == "agent_end" and PHRASES.farewell in lesson.said)
        await lesson.session.close()
        assert [name for name, _ in runs] == ["trigger_quiz", "grade_lesson"]
        assert runs[0][1] == {"topic": TAXI.title, "questions": 4}
        grade = runs[1][1]
        assert grade["score"] == 100 and grade["cefr_level"] == TAXI.level and grade["feedback"]
        assert any("3/4" in said for said in lesson.said)
        assert_quiet(lesson, caplog)

    with caplog.at_level(logging.DEBUG, logger="openai.agents"):
        with_engine(body)


def test_an_agent_interrupts_the_tutor_mid_reply_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: ToolRuns = []

    async def body(engine: OfflineEngine) -> None:
        lesson = await agent_lesson(engine, runs)
        await lesson.session.send_message("Hola")
        await lesson.until(lambda e: e.type == "audio")  # the tutor has started speaking
        await lesson.session.interrupt()
        await lesson.until(lambda e: e.type == "agent_end")
        assert "conversation.item.truncated" in lesson.server_types
        reply = await lesson.turn(TAXI.steps[0].model_answer)
        assert TAXI.steps[1].tutor in reply  # the opening was cut; the lesson went on
        await lesson.session.close()
        assert_quiet(lesson, caplog)

    with caplog.at_level(logging.DEBUG, logger="openai.agents"):
        # Paced as a real voice is, so the reply is still streaming when the agent cuts in.
        with_engine(body, pace=4.0)

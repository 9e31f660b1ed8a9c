"""The tutor's tool calls on a relay: each run on the side that can be trusted with it.

`grade_lesson` (and any tool the lesson does not know, which only gets an error back) runs on
the relay: its arguments are checked, the grade is stored in the relay's progress store under
the learner's name, and its output goes to the engine, so no learner can forge a grade. A
client sees the call and then the output item, as events it already reads. `trigger_quiz`
needs the learner's screen: the call is delegated to the client, whose answer the whitelist
takes once, and whose result is kept beside the grade.

Who asks for the reply after a tool's output: the relay, after a response that called a tool it
ran, once every call of it is answered; the client, as usual, after a response that called
only delegated tools. Both sides tell these apart by the names called, never by timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from tutor_cli.call.progress import ProgressRow
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime import events
from tutor_cli.relay.whitelist import ClientPolicy
from tutor_cli.tools.outcomes import GradeRecorded, QuizAnswered, read_outcome
from tutor_cli.tools.quiz import Quiz
from tutor_cli.tools.registry import ToolContext, ToolError, ToolRegistry
from tutor_cli.tools.specs import LEARNER_SIDE_TOOLS

Event = dict[str, Any]


async def _no_quiz(_quiz: Quiz) -> list[str]:
    raise ToolError("The quiz is shown on the learner's screen, not on the relay.")


class RelayToolCalls:
    """One session's tool calls, as the relay sees them."""

    def __init__(
        self, scenario: Scenario, row: ProgressRow, policy: ClientPolicy, registry: ToolRegistry
    ) -> None:
        self.context = ToolContext(scenario, row.record_grade, row.record_quiz, _no_quiz)
        self.row = row
        self.policy = policy
        self.registry = registry
        self.grade: dict[str, Any] | None = None
        self.forced = False  # the grade was asked for (the call's end, the time limit)
        self.graded = asyncio.Event()  # the grade's output item went to the client
        self._ran: dict[str, bool] = {}  # call id of a tool run here -> whether it graded
        self._delegated: dict[str, str] = {}  # call id -> the name of a tool the client runs
        self._ran_in_response = False  # the current response called a tool run here
        self._follow_up_owed = False

    async def called(self, event: Event) -> list[Event]:
        """A `response.output_item.done` from the engine: the events to send it back (the
        output of a tool run here), none for a delegated call or anything else."""
        item = events.object_field(event, "item")
        if item.get("type") != "function_call" or item.get("status") != "completed":
            return []  # an interrupted call is never run
        call_id, name = str(item.get("call_id") or ""), str(item.get("name") or "")
        if name in LEARNER_SIDE_TOOLS:
            self.policy.delegate(call_id)
            self._delegated[call_id] = name
            return []
        arguments = item.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
        self._ran_in_response = True
        outcome = await self.registry.run(name, arguments, self.context)
        graded = isinstance(outcome.effect, GradeRecorded)
        if isinstance(outcome.effect, GradeRecorded):
            self.grade = outcome.effect.grade
        self._ran[call_id] = graded
        return [events.function_call_output(call_id, outcome.output)]

    def output_seen(self, event: Event) -> None:
        """A `conversation.item.added` (or `.done`) went to the client: once it holds the
        grade's output, the client has the grade."""
        item = events.object_field(event, "item")
        if item.get("type") == "function_call_output" and self._ran.get(str(item.get("call_id"))):
            self.graded.set()

    def answered(self, item: Event) -> bool:
        """The client's output for a delegated call went to the engine (the quiz's result is
        kept); whether the relay should now ask for the reply."""
        name = self._delegated.pop(str(item.get("call_id")), "")
        outcome = read_outcome(name, str(item.get("output")))
        if isinstance(outcome.effect, QuizAnswered):
            quiz = outcome.effect
            result = {
                "questions": quiz.questions,
                "correct": quiz.correct,
                "skipped": quiz.skipped,
                "answers": [],  # the client keeps the answers themselves; the relay the count
            }
            # A result the store cannot keep is no reason to stop the lesson.
            with contextlib.suppress(ValueError):
                self.row.record_quiz(result)
        return self._follow_up_due()

    def response_done(self) -> bool:
        """The engine's response is over; whether the relay should now ask for the reply."""
        if self._ran_in_response:
            self._ran_in_response = False
            self._follow_up_owed = True
        return self._follow_up_due()

    def forget_calls(self) -> None:
        """The engine's session was re-made: its calls are gone, and nothing is owed."""
        self._ran_in_response = self._follow_up_owed = False
        self._delegated.clear()

    def _follow_up_due(self) -> bool:
        if self._follow_up_owed and not self.policy.waiting:
            self._follow_up_owed = False
            return True
        return False

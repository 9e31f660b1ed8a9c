"""The tutor's tool calls, run on the learner's machine; against a classroom relay, only those
that need the learner (the quiz): the relay runs the others, and its output for each arrives
as an item, read here into the same outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tutor_cli.call.progress import ProgressRow
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.updates import ToolCallReady
from tutor_cli.realtime import events
from tutor_cli.tools.outcomes import ToolOutcome, read_outcome
from tutor_cli.tools.registry import ToolContext, ToolRegistry, tool_failure
from tutor_cli.tools.specs import LEARNER_SIDE_TOOLS

if TYPE_CHECKING:
    from tutor_cli.tools.quiz import Quiz


class ToolRuns:
    """Each call in a task of its own, with the progress store behind the tools; its outcome
    is always one the model can read, never an exception. `finished` gets it."""

    def __init__(
        self,
        scenario: Scenario,
        registry: ToolRegistry,
        progress: ProgressRow,
        ask_quiz: Callable[[Quiz], Awaitable[list[str]]],
        finished: Callable[[ToolCallReady, str, ToolOutcome], Awaitable[None]],
        relayed: Callable[[], bool] = lambda: False,
    ) -> None:
        """`relayed` says whether the engine is a classroom relay."""
        self.context = ToolContext(scenario, progress.record_grade, progress.record_quiz, ask_quiz)
        self.registry = registry
        self._finished = finished
        self._relayed = relayed
        self._tasks: set[asyncio.Task[None]] = set()
        self._relay_runs: dict[str, tuple[ToolCallReady, str]] = {}  # call id -> call, arguments

    def start(self, call: ToolCallReady, arguments: str) -> None:
        """Run `call` (with `arguments`, already redacted) in the background; or, when a
        relay runs it, wait for its output (`relay_outcome`)."""
        if self._relayed() and call.name not in LEARNER_SIDE_TOOLS:
            self._relay_runs[call.call_id] = (call, arguments)
            return
        task = asyncio.create_task(self._run(call, arguments))
        self._tasks.add(task)  # kept until done
        task.add_done_callback(self._tasks.discard)

    def relay_outcome(self, event: dict[str, Any]) -> tuple[ToolCallReady, str, ToolOutcome] | None:
        """When `event` brings the output a relay sent for one of its calls (a
        `conversation.item.added` or `.done`): the call, its arguments and its outcome."""
        if event.get("type") not in ("conversation.item.added", "conversation.item.done"):
            return None
        item = events.object_field(event, "item")
        if item.get("type") != "function_call_output":
            return None  # the call's own item carries its id too
        found = self._relay_runs.pop(str(item.get("call_id")), None)
        if found is None:
            return None
        call, arguments = found
        return call, arguments, read_outcome(call.name, str(item.get("output") or ""))

    async def _run(self, call: ToolCallReady, arguments: str) -> None:
        try:
            outcome = await self.registry.run(call.name, arguments, self.context)
        except Exception as exc:  # the registry's own guard failed: the model still hears back
            failed = f"The tool {call.name!r} failed ({type(exc).__name__})."
            outcome = tool_failure(call.name, failed)
        await self._finished(call, arguments, outcome)

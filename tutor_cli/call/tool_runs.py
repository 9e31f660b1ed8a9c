"""The tutor's tool calls, run on the learner's machine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tutor_cli.call.progress import ProgressRow
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.updates import ToolCallReady
from tutor_cli.tools.outcomes import ToolOutcome
from tutor_cli.tools.registry import ToolContext, ToolRegistry, tool_failure

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
    ) -> None:
        self.context = ToolContext(scenario, progress.record_grade, progress.record_quiz, ask_quiz)
        self.registry = registry
        self._finished = finished
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, call: ToolCallReady, arguments: str) -> None:
        """Run `call` (with `arguments`, already redacted) in the background."""
        task = asyncio.create_task(self._run(call, arguments))
        self._tasks.add(task)  # kept until done
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: ToolCallReady, arguments: str) -> None:
        try:
            outcome = await self.registry.run(call.name, arguments, self.context)
        except Exception as exc:  # the registry's own guard failed: the model still hears back
            failed = f"The tool {call.name!r} failed ({type(exc).__name__})."
            outcome = tool_failure(call.name, failed)
        await self._finished(call, arguments, outcome)

"""Calls without the call screen: a list of learner lines, a scripted session, or a prompt."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from tutor_cli.call import Call, CallSummary, Notice, ToolRan, lesson
from tutor_cli.console_view import ConsoleView
from tutor_cli.realtime.connection import ConnectionFailed
from tutor_cli.realtime.conversation import TutorFinal, Update
from tutor_cli.script import Report, Script, check_end, check_turn, write_junit
from tutor_cli.tools.quiz import Quiz


class Recorder:
    """Passes updates to the console view and keeps what the tutor said and called per turn."""

    def __init__(self, view: ConsoleView) -> None:
        self.view = view
        self.reply: list[str] = []
        self.tools: list[str] = []
        self.all_tools: list[str] = []

    def mark(self) -> None:
        self.reply, self.tools = [], []

    def show(self, update: Update | ToolRan | Notice) -> None:
        if isinstance(update, TutorFinal):
            self.reply.append(update.text)
        elif isinstance(update, ToolRan):
            self.tools.append(update.name)
            self.all_tools.append(update.name)
        self.view.show(update)

    async def ask_quiz(self, quiz: Quiz) -> list[str]:
        return await self.view.ask_quiz(quiz)


async def from_lines(lines: deque[str]) -> AsyncIterator[str]:
    """Learner turns taken from a queue the quiz may also take answers from."""
    while lines:
        yield lines.popleft()


class Prompt:
    """Lines typed at the terminal, read by a daemon thread so that ending the call never
    waits for a line nobody will type."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        self._prompt = ""
        threading.Thread(target=self._read, name="prompt", daemon=True).start()

    def _read(self) -> None:
        while True:
            self._wanted.acquire()
            prompt = self._prompt
            try:
                line: str | None = input(prompt)
            except (EOFError, OSError):
                line = None
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if line is None:
                return

    async def ask(self, prompt: str) -> str | None:
        """The next line typed, or None at end of input."""
        self._prompt = prompt
        self._wanted.release()
        return await self._lines.get()

    async def turns(self) -> AsyncIterator[str]:
        """Learner turns until end of input (Ctrl+D) or `/end`."""
        while (text := await self.ask("you> ")) is not None:
            if text.strip() in ("/end", "/quit"):
                return
            yield text


async def until(turns: AsyncIterator[str], stop: asyncio.Event) -> AsyncIterator[str]:
    """`turns`, cut short when `stop` is set (Ctrl+C ends the call, with its grade)."""
    stopped = asyncio.create_task(stop.wait())
    try:
        while True:
            following = asyncio.ensure_future(anext(turns))
            await asyncio.wait({following, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if stopped.done():
                following.cancel()
                return
            try:
                yield following.result()
            except StopAsyncIteration:
                return
    finally:
        stopped.cancel()


async def run_lines(call: Call, view: ConsoleView, turns: AsyncIterator[str]) -> CallSummary:
    summary = await lesson(call, turns)
    view.summary(summary)
    return summary


async def run_script(
    call: Call, recorder: Recorder, script: Script, junit: Path | None
) -> tuple[CallSummary, Report]:
    """Run the script's turns, check each reply, then the end; print a pass/fail report."""
    report = Report(script.path)
    timeout = script.timeout_s
    started = time.monotonic()
    try:
        await call.start()
        await call.wait_idle(timeout)
        for index, turn in enumerate(script.turns):
            if not call.connected:
                break
            recorder.mark()
            await call.say(turn.say)
            replied = await call.wait_idle(timeout)
            reply = " ".join(recorder.reply)
            if not replied:
                reply += f" [no complete reply within {timeout or call.settings.reply_timeout:g} s]"
            report.checks += check_turn(index, turn, reply, recorder.tools)
    except ConnectionFailed as exc:
        call.summary.failure = str(exc)
    finally:
        summary = await call.end()
    report.failure = summary.failure
    report.checks += check_end(script.end, recorder.all_tools)
    recorder.view.summary(summary)
    print_report(recorder.view, report)
    if junit is not None:
        write_junit(report, junit, time.monotonic() - started)
    return summary, report


def print_report(view: ConsoleView, report: Report) -> None:
    from rich.text import Text

    from tutor_cli.literal import printable

    console = view.console
    console.print(Text(f"── script {report.script.name} ──", style="bold"))
    for check in report.checks:
        mark, style = ("PASS", "green") if check.passed else ("FAIL", "bold red")
        line = Text.assemble((f"{mark} ", style), printable(check.name))
        if check.detail:
            line.append(f"\n     {printable(check.detail)}", style="red")
        console.print(line)
    if report.failure:
        console.print(Text(f"FAIL session: {printable(report.failure)}", style="bold red"))
    met = sum(c.passed for c in report.checks)
    verdict = "all expectations met" if report.passed else "expectations unmet"
    console.print(Text(f"{met}/{len(report.checks)} checks passed: {verdict}", style="bold"))


def stdin_lines() -> deque[str] | None:
    """Learner lines piped on standard input, or None when it is a terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return deque(line.rstrip("\n") for line in sys.stdin if line.strip())

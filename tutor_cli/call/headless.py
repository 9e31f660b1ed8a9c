"""Calls without the call screen: learner lines (given, piped or typed at a prompt) or a
scripted session, all through the one lesson loop, `lesson`."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import assert_never

from tutor_cli.call.controller import Call
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.script import (
    Report,
    Script,
    check_end,
    check_report_target,
    check_turn,
    write_junit,
)
from tutor_cli.lesson.updates import (
    AudioMode,
    CallSummary,
    CallUpdate,
    ConnectionState,
    LearnerTranscript,
    LearnerTurn,
    MicLevel,
    Notice,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    ToolRan,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime.connection import ConnectionFailed
from tutor_cli.storage.store import ProgressStore
from tutor_cli.tools.quiz import Quiz
from tutor_cli.views.console import ConsoleView, print_report

# Called after each learner turn with its index and whether the tutor replied in time.
OnReply = Callable[[int, bool], None]


async def lesson(
    call: Call, turns: AsyncIterator[str], on_reply: OnReply | None = None
) -> CallSummary:
    """Run a whole lesson: the opening, each learner turn after the tutor's reply, the grade."""
    try:
        await call.start()
        await call.wait_idle()
        index = 0
        async for text in turns:
            if not call.connected:
                break
            await call.say(text)
            replied = await call.wait_idle()
            if not replied:
                call.notify("the tutor did not reply in time", "warning")
            if on_reply is not None:
                on_reply(index, replied)
            index += 1
        if call.settings.voice.mic_file is not None and call.connected:
            await _mic_file_answered(call)
    except ConnectionFailed as exc:
        call.summary.failure = str(exc)
    finally:
        await call.end()
    return call.summary


async def _mic_file_answered(call: Call) -> None:
    """With a WAV file as the mic: wait until it has been streamed, the turn it holds has
    been detected and answered, and the answer has been played."""
    voice = call.voice
    if voice is None:
        return
    await voice.mic.finished.wait()
    semantic = call.settings.session.turn_detection == "semantic_vad"
    await asyncio.sleep(2.0 if semantic else 1.0)  # the server's silence before it decides
    while True:
        await call.wait_idle()
        if not call.learner_speaking and voice.buffer.idle and not call.conversation.responding:
            return
        await asyncio.sleep(0.1)


class Recorder:
    """Passes updates to the console view and keeps what the tutor said and called: per
    learner turn (a typed turn starts a new one) and over the whole lesson."""

    def __init__(self, view: ConsoleView) -> None:
        self.view = view
        self.reply: list[str] = []
        self.tools: list[str] = []
        self.all_tools: list[str] = []

    def show(self, update: CallUpdate) -> None:
        match update:
            case LearnerTurn(source="typed"):
                self.reply, self.tools = [], []
            case TutorFinal():
                self.reply.append(update.text)
            case ToolRan():
                self.tools.append(update.name)
                self.all_tools.append(update.name)
            case (
                LearnerTurn()
                | TutorDelta()
                | TutorTruncated()
                | LearnerTranscript()
                | SpeechStarted()
                | SpeechStopped()
                | ToolCallReady()
                | ResponseState()
                | UsageUpdate()
                | ServerError()
                | SessionReady()
                | UnknownEvent()
                | ConnectionState()
                | Notice()
                | MicLevel()
                | AudioMode()
            ):
                pass
            case _:
                assert_never(update)
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


def stdin_lines() -> deque[str] | None:
    """Learner lines piped on standard input, or None when it is a terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return deque(line.rstrip("\n") for line in sys.stdin if line.strip())


def run_headless(
    scenario: Scenario,
    settings: CallSettings,
    *,
    lines: deque[str] | None,
    script: Script | None = None,
    junit: Path | None = None,
) -> int:
    """A call printed as it streams; the exit code (0, or 1 when it failed or a script's
    expectation was unmet). Turns come from the script, else `lines`, else a `you>` prompt."""
    if junit is not None:
        check_report_target(junit)  # a report that cannot be written fails now, not at the end
    quiz_lines = deque(script.quiz_answers) if script is not None else lines or deque()
    prompt: Prompt | None = None

    async def next_answer() -> str | None:
        if quiz_lines:
            return quiz_lines.popleft()
        return await prompt.ask("answer> ") if prompt else None

    view = ConsoleView(scenario.persona.name, quiz_answers=next_answer)

    async def run() -> int:
        nonlocal prompt
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def first_interrupt() -> None:
            view.show(Notice("ending the call (Ctrl+C again to quit at once)…", "warning"))
            stop.set()
            loop.remove_signal_handler(signal.SIGINT)

        loop.add_signal_handler(signal.SIGINT, first_interrupt)
        with ProgressStore.open_default() as store:
            if script is not None:
                return await _scripted(scenario, settings, view, store, script, junit)
            if lines is None:
                prompt = Prompt()
            turns = prompt.turns() if prompt is not None else from_lines(lines or deque())
            call = Call(scenario, settings, view, store=store)
            summary = await lesson(call, until(turns, stop))
            view.summary(summary)
            return 1 if summary.failure else 0

    return asyncio.run(run())


async def _scripted(
    scenario: Scenario,
    settings: CallSettings,
    view: ConsoleView,
    store: ProgressStore,
    script: Script,
    junit: Path | None,
) -> int:
    """Run the script's turns, check each reply, then the end; print a pass/fail report."""
    recorder = Recorder(view)
    call = Call(scenario, settings, recorder, store=store)
    report = Report(script.path)
    started = time.monotonic()

    def check(index: int, replied: bool) -> None:
        reply = " ".join(recorder.reply)
        if not replied:
            reply += f" [no complete reply within {settings.reply_timeout:g} s]"
        turn = script.turns[index]
        report.checks += check_turn(index, turn, reply, recorder.tools)

    summary = await lesson(call, from_lines(deque(t.say for t in script.turns)), check)
    report.failure = summary.failure
    report.checks += check_end(script.end, recorder.all_tools)
    view.summary(summary)
    print_report(view.console, report)
    if junit is not None:
        write_junit(report, junit, time.monotonic() - started)
    return 0 if report.passed else 1

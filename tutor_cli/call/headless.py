"""Calls without the call screen: learner lines (given, piped or typed at a prompt) or a
scripted session, all through the one lesson loop, `lesson`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import assert_never

from tutor_cli.call.controller import Call
from tutor_cli.call.ending import ending_signals
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
    LessonProgress,
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
from tutor_cli.views.console import ConsoleView, PipedConsole, print_report

# Called after each learner turn with its index and whether the tutor replied in time.
OnReply = Callable[[int, bool], None]


async def lesson(
    call: Call,
    turns: AsyncIterator[str],
    on_reply: OnReply | None = None,
    stop: asyncio.Event | None = None,
) -> CallSummary:
    """Run a whole lesson: the opening, each learner turn after the tutor's reply, the grade.

    A turn goes to the tutor even while the link is being re-opened (it is sent with the
    history); the lesson ends early only when the link is gone for good, or at `stop`. A
    reply the engine never gives is given up on by the Call after the reply timeout."""
    stop = stop or asyncio.Event()
    try:
        await call.start()
        await _until_idle(call, stop)
        index = 0
        async for text in turns:
            if call.link_over or stop.is_set():
                break
            abandoned = call.abandoned_replies
            await call.say(text)
            finished = await _until_idle(call, stop)
            if on_reply is not None:
                on_reply(index, finished and call.abandoned_replies == abandoned)
            index += 1
        if call.settings.voice.mic_file is not None and not call.link_over:
            await _mic_file_answered(call)
    except ConnectionFailed as exc:
        call.summary.failure = str(exc)
    finally:
        await call.end()
    return call.summary


async def _until_idle(call: Call, stop: asyncio.Event) -> bool:
    """Wait until the tutor is done with the turn; False if `stop` came first."""
    idle = asyncio.ensure_future(call.wait_idle())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({idle, stopped}, return_when=asyncio.FIRST_COMPLETED)
    for waiting in (idle, stopped):
        waiting.cancel()
    return not stop.is_set()


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
                | LessonProgress()
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
    waits for a line nobody will type.

    The thread reads the file descriptor itself, not `sys.stdin`: a thread blocked inside
    Python's buffered stdin holds its lock, and the interpreter cannot finish while it does.
    Bytes that are not UTF-8 are replaced, so a stray byte never ends the lesson."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        self._prompt = ""
        self._fd = sys.stdin.fileno()
        threading.Thread(target=self._read, name="prompt", daemon=True).start()

    def _read(self) -> None:
        pending = b""
        while True:
            self._wanted.acquire()
            print(self._prompt, end="", flush=True)
            line: str | None = None
            while b"\n" not in pending:
                try:
                    chunk = os.read(self._fd, 4096)
                except OSError:  # the terminal is gone
                    chunk = b""
                if not chunk:
                    break
                pending += chunk
            if b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.decode("utf-8", errors="replace")
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


def stdin_lines(warn: Callable[[str], None]) -> deque[str] | None:
    """Learner lines piped on standard input, or None when it is a terminal. Bytes that are
    not UTF-8 are replaced (U+FFFD), and `warn` is told once."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    raw = sys.stdin.buffer.read()
    text = raw.decode("utf-8", errors="replace")
    if "\ufffd" in text and "\ufffd".encode() not in raw:
        warn("standard input: bytes that are not UTF-8 were replaced with \ufffd")
    return deque(line for line in text.splitlines() if line.strip())


def learner_text(text: str, where: str, warn: Callable[[str], None]) -> str:
    """A learner turn from the command line as text: bytes that were not UTF-8 (which Python
    keeps as lone surrogates) are replaced with U+FFFD, and `warn` is told, naming `where`."""
    fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if fixed != text:
        warn(f"{where}: bytes that are not UTF-8 were replaced with \ufffd")
    return fixed


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

    # At the `you>` prompt the terminal has shown the line as it was typed: once is enough.
    at_prompt = script is None and lines is None
    view = ConsoleView(scenario.persona.name, quiz_answers=next_answer, echo_typed=not at_prompt)

    async def run() -> int:
        nonlocal prompt
        stop = asyncio.Event()
        calls: list[Call] = []

        def first(signum: int) -> None:
            if signum == signal.SIGHUP:  # the terminal is gone: nothing more can be printed
                view.console.file = open(os.devnull, "w")  # noqa: SIM115 - until the end
            view.show(Notice("ending the call (Ctrl+C again to quit at once)…", "warning"))
            stop.set()

        def second(_signum: int) -> None:
            for call in calls:
                call.hurry()

        if isinstance(view.console, PipedConsole):
            # Nobody reads any more (`| head`): end the lesson as a first Ctrl+C would.
            view.console.on_gone = stop.set
        with ending_signals(first, second), ProgressStore.open_default() as store:
            call = Call(scenario, settings, view, store=store)
            calls.append(call)
            if script is not None:
                return await _scripted(call, view, script, junit, stop)
            if lines is None:
                prompt = Prompt()
            turns = prompt.turns() if prompt is not None else from_lines(lines or deque())
            summary = await lesson(call, until(turns, stop), stop=stop)
            view.summary(summary, scenario.goals)
            return 1 if summary.failure else 0

    return asyncio.run(run())


async def _scripted(
    call: Call, view: ConsoleView, script: Script, junit: Path | None, stop: asyncio.Event
) -> int:
    """Run the script's turns, check each reply, then the end; print a pass/fail report."""
    recorder = Recorder(view)
    call.view = recorder
    settings = call.settings
    report = Report(script.path)
    started = time.monotonic()

    def check(index: int, replied: bool) -> None:
        reply = " ".join(recorder.reply)
        if not replied:
            reply += f" [no complete reply within {settings.reply_timeout:g} s]"
        turn = script.turns[index]
        report.checks += check_turn(index, turn, reply, recorder.tools)

    turns = from_lines(deque(t.say for t in script.turns))
    summary = await lesson(call, turns, check, stop)
    report.failure = summary.failure
    report.checks += check_end(script.end, recorder.all_tools)
    view.summary(summary, call.scenario.goals)
    print_report(view.console, report)
    if junit is not None:
        write_junit(report, junit, time.monotonic() - started)
    return 0 if report.passed else 1

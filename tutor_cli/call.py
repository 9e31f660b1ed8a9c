"""The Call: the one place that wires a lesson's I/O together.

Connection (websocket, reconnects) ⇄ Conversation (pure state) → views; tools run here and
store their results; every frame goes to the event log. Views only receive updates and call
the intents (`say`, `end`). Live calls, scripted sessions and the TUI differ only in the view
and where the learner's turns come from.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tutor_cli.audio.devices import AudioUnavailable
from tutor_cli.audio.pcm import level_dbfs, rms
from tutor_cli.audio.voice import Voice, VoiceSettings
from tutor_cli.config import sessions_dir
from tutor_cli.eventlog import EventLogWriter
from tutor_cli.realtime import events
from tutor_cli.realtime.connection import Connection, ConnectionFailed, Endpoint, resolve_endpoint
from tutor_cli.realtime.conversation import (
    AudioChunk,
    ConnectionState,
    Conversation,
    LearnerTurn,
    Outgoing,
    ResponseState,
    ServerError,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    TutorFinal,
    Update,
    UsageUpdate,
)
from tutor_cli.realtime.pricing import Usage, cost_usd
from tutor_cli.redact import Redactor
from tutor_cli.scenarios import Scenario
from tutor_cli.session import SessionOptions, session_update
from tutor_cli.store import ProgressStore
from tutor_cli.tools.quiz import Quiz
from tutor_cli.tools.registry import ToolContext, ToolOutcome, ToolRegistry

SECRET_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TUTOR_ENGINE_KEY")


@dataclass(frozen=True)
class ToolRan:
    """A tool the tutor called, and what came of it (shown, logged, sent back)."""

    name: str
    arguments: str
    outcome: ToolOutcome


@dataclass(frozen=True)
class MicLevel:
    """The microphone's level for the meter, at most a few times a second."""

    rms_dbfs: float
    peak_dbfs: float


@dataclass(frozen=True)
class AudioMode:
    """How the learner can talk: `voice` (mic and speaker), `push_to_talk`, or `text` only
    (with the reason audio is off, if it is off for a reason); and whether the mic is muted."""

    mode: str  # voice | push_to_talk | text
    muted: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Notice:
    """Something the Call wants the learner to know."""

    text: str
    level: str = "info"  # info | warning | error


class CallView(Protocol):
    """What a view does for a call: show updates, and present a quiz."""

    def show(self, update: Update | ToolRan | Notice | MicLevel | AudioMode) -> None: ...

    async def ask_quiz(self, quiz: Quiz) -> list[str]: ...


@dataclass(frozen=True)
class CallSettings:
    engine: str = "auto"
    model: str | None = None
    text_only: bool = False
    keep_mic_audio: bool = False
    session: SessionOptions = field(default_factory=SessionOptions)
    reply_timeout: float = 60.0
    grade_timeout: float = 15.0
    connect_timeout: float = 10.0
    scenario_dirs: tuple[Path, ...] = ()
    pace: float = 4.0
    voice: VoiceSettings = field(default_factory=VoiceSettings)


@dataclass
class CallSummary:
    scenario: str
    title: str
    engine: str
    model: str
    started_at: datetime
    duration_s: float = 0.0
    learner_turns: int = 0
    tutor_turns: int = 0
    tools: list[ToolRan] = field(default_factory=list)
    grade: dict[str, Any] | None = None
    quiz: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    log_path: Path | None = None
    failure: str | None = None


class Call:
    """One lesson with the tutor."""

    def __init__(
        self,
        scenario: Scenario,
        settings: CallSettings,
        view: CallView,
        *,
        store: ProgressStore | None = None,
        registry: ToolRegistry | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.scenario = scenario
        self.settings = settings
        self.view = view
        self.env = dict(os.environ if env is None else env)
        self.endpoint: Endpoint | None = resolve_endpoint(
            settings.engine, model=settings.model, scenario=scenario.id, env=self.env
        )
        self.redact = Redactor(
            [self.env.get(name, "") for name in SECRET_VARIABLES]
            + list(self.endpoint.secrets if self.endpoint else ())
        )
        self.store = store
        self.registry = registry or ToolRegistry.default()
        model = self.endpoint.model if self.endpoint else "offline"
        self.conversation = Conversation(model)
        self.summary = CallSummary(
            scenario.id,
            scenario.title,
            self.endpoint.engine if self.endpoint else "offline",
            model,
            datetime.now(UTC),
        )
        self.log: EventLogWriter | None = None
        self.connection: Connection | None = None
        self._session_id: int | None = None
        self._tools_running = 0
        self._lost_reply = False  # a reply was cut off by a dropped socket
        self._audio_mode = AudioMode("text", reason="text-only call")
        # Sees every frame both ways (the call screen's event pane), secrets redacted.
        self.frame_listener: Callable[[str, dict[str, Any] | str], None] | None = None
        self._talking = False  # push-to-talk held
        self.voice: Voice | None = None
        self._mic_pump: asyncio.Task[None] | None = None
        self.learner_speaking = False
        self._tool_tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._opened = asyncio.Event()
        self._link: asyncio.Task[None] | None = None
        self._engine: Any = None
        self._started = time.monotonic()

    def _frame(self, direction: str, event: dict[str, Any] | str) -> None:
        if self.frame_listener is not None:
            self.frame_listener(direction, self.redact.value(event))

    def _show(self, update: Update | ToolRan | Notice | MicLevel | AudioMode) -> None:
        """Views never see a secret, even one a server echoes back."""
        self.view.show(self.redact.fields(update))

    # --- intents (what views and learner input call) ------------------------------------------

    async def say(self, text: str) -> None:
        """A typed learner turn."""
        text = text.strip()
        if not text:
            return
        updates, to_send = self.conversation.send_text(text)
        self.summary.learner_turns += 1
        for update in updates:
            self._show(update)
        self._idle.clear()
        for event in to_send:
            await self._send(event)

    @property
    def audio_mode(self) -> AudioMode:
        """How the learner can talk right now."""
        return self._audio_mode

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the microphone (nothing is sent while muted)."""
        self._audio_mode = replace(self._audio_mode, muted=muted)
        self._show(self._audio_mode)

    async def push_to_talk(self, talking: bool) -> None:
        """In push-to-talk mode: start a learner turn, or end it and ask for the reply."""
        if self._audio_mode.mode != "push_to_talk":
            self._show(Notice("push-to-talk is off in this call", "warning"))
            return
        self._talking = talking
        if talking:
            await self._send(events.input_audio_clear())
            return
        self._idle.clear()
        await self._send(events.input_audio_commit())
        for event in self.conversation.request_response():
            await self._send(event)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the tutor has replied (tool round trips included). False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout or self.settings.reply_timeout)
        except TimeoutError:
            return False
        return True

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.connected

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the log, the engine and the connection; the tutor starts speaking."""
        if not self.settings.text_only:
            await self._open_voice()
        if self.endpoint is None:
            self.endpoint = await self._start_offline_engine()
        self.log = EventLogWriter.create(
            sessions_dir(),
            scenario=self.scenario.id,
            engine=self.endpoint.engine,
            model=self.endpoint.model,
            secrets=self.redact.secrets,
            keep_mic_audio=self.settings.keep_mic_audio,
        )
        self.summary.log_path = self.log.path
        if self.store is not None:
            self._session_id = self.store.start_session(
                scenario=self.scenario.id,
                engine=self.endpoint.engine,
                model=self.endpoint.model,
                log_path=str(self.log.path),
                started_at=self.summary.started_at,
            )
        self.connection = Connection(
            self.endpoint,
            self.log,
            connect_timeout=self.settings.connect_timeout,
            on_frame=self._frame,
        )
        self._link = asyncio.create_task(self._run_link())
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({opened, self._link}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if self._link.done() and not self._opened.is_set():
            self._link.result()  # raises ConnectionFailed

    async def _open_voice(self) -> None:
        try:
            self.voice = await Voice.open(self.settings.voice)
        except AudioUnavailable as exc:
            self._audio_mode = AudioMode("text", reason=str(exc))
            self._show(Notice(f"text-only call: {exc}", "warning"))
        else:
            mode = "push_to_talk" if self.settings.voice.push_to_talk else "voice"
            self._audio_mode = AudioMode(mode)
        self._show(self._audio_mode)

    async def _start_offline_engine(self) -> Endpoint:
        from tutor_cli.engine.server import OfflineEngine

        self._engine = OfflineEngine(
            port=0, scenario_dirs=self.settings.scenario_dirs, pace=self.settings.pace
        )
        await self._engine.start()
        self._show(Notice(f"offline engine on {self._engine.url} (no API key needed)"))
        url = f"{self._engine.url}?model=offline&scenario={self.scenario.id}"
        return Endpoint("offline", url, "offline")

    async def _run_link(self) -> None:
        assert self.connection is not None
        try:
            await self.connection.run(self._on_open, self._on_event, self._on_state)
        finally:
            self._idle.set()  # nobody waits for a reply from a closed connection

    async def _on_open(self, reconnect: bool) -> None:
        options = self.settings.session
        if self.voice is None:
            options = replace(options, output_modalities="text")
        elif self.settings.voice.push_to_talk:
            options = replace(options, output_modalities="audio", turn_detection="manual")
        await self._send(session_update(self.scenario, options))
        if not reconnect:
            self._opened.set()
            if self.voice is not None:
                self._mic_pump = asyncio.create_task(self._pump_mic(self.voice))
            self._idle.clear()
            for event in self.conversation.request_response():  # the tutor speaks first
                await self._send(event)
            return
        lost = self.conversation.connection_lost() or self._lost_reply
        self._lost_reply = False
        for event in self.conversation.history_events():
            await self._send(event)
        if lost:
            self._show(Notice("reconnected; asking the tutor again for the lost reply"))
            for event in self.conversation.request_response():
                await self._send(event)
        self._check_idle()

    def _on_state(self, state: ConnectionState) -> None:
        if self.log:
            self.log.write(
                "local", {"type": "tutor.state", "state": state.state, "detail": state.detail}
            )
        if state.state == "reconnecting":
            self._lost_reply = self.conversation.connection_lost() or self._lost_reply
        self._show(state)

    async def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "tutor.non_json_frame":
            self._show(
                ServerError(
                    "non_json_frame", "the engine sent a frame that is not a JSON object (logged)"
                )
            )
            return
        for update in self.conversation.receive(event):
            await self._dispatch(update)
        self._check_idle()

    async def _dispatch(self, update: Update) -> None:
        if isinstance(update, Outgoing):
            for event in update.events:
                await self._send(event)
            return
        if isinstance(update, ToolCallReady):
            self._tools_running += 1
            task = asyncio.create_task(self._run_tool(update))
            self._tool_tasks.add(task)
            task.add_done_callback(self._tool_tasks.discard)
        elif isinstance(update, TutorFinal):
            self.summary.tutor_turns += 1
        elif isinstance(update, LearnerTurn) and update.source == "speech":
            self.summary.learner_turns += 1
        elif isinstance(update, UsageUpdate):
            self.summary.usage, self.summary.cost_usd = update.total, update.cost_usd
        elif isinstance(update, AudioChunk):
            if self.voice is not None:
                self.voice.buffer.push(update.item_id, update.pcm)
            return  # audio is for the speaker, not the views
        elif isinstance(update, SpeechStarted):
            self.learner_speaking = True
            await self._barge_in()
        elif isinstance(update, SpeechStopped):
            self.learner_speaking = False
        elif isinstance(update, ResponseState) and update.state == "done" and self.voice:
            self.voice.buffer.end_of_reply()
        self._show(update)

    def _check_idle(self) -> None:
        if self.conversation.responding or self._tools_running or self.conversation.awaiting_tools:
            self._idle.clear()
        else:
            self._idle.set()

    async def _send(self, event: dict[str, Any]) -> None:
        if self.connection is not None:
            await self.connection.send(event)

    # --- voice --------------------------------------------------------------------------------

    @property
    def manual_turns(self) -> bool:
        return self.settings.voice.push_to_talk or self.settings.session.turn_detection == "manual"

    async def _barge_in(self) -> None:
        """The learner started talking: silence the tutor at once and tell the server exactly
        how much of the reply was heard."""
        if self.voice is None:
            return
        cut = self.voice.buffer.interrupt()
        for event in self.conversation.interrupt(cut.item_id, cut.played_ms, self.manual_turns):
            await self._send(event)

    async def _pump_mic(self, voice: Voice) -> None:
        """Mic frames to the server, unless muted, outside a push-to-talk turn, or gated as
        echo; the level goes to the meter five times a second."""
        frames_since_level = 0
        peak_rms, peak = -100.0, -100.0
        async for frame, captured_at in voice.mic.frames():
            samples = np.frombuffer(frame, dtype="<i2")
            frame_rms, frame_peak = level_dbfs(samples)
            peak_rms, peak = max(peak_rms, frame_rms), max(peak, frame_peak)
            frames_since_level += 1
            if frames_since_level >= 10:
                self._show(MicLevel(peak_rms, peak))
                frames_since_level, peak_rms, peak = 0, -100.0, -100.0
            if self._audio_mode.muted or not self.connected:
                continue
            if self._audio_mode.mode == "push_to_talk" and not self._talking:
                continue
            if not voice.gate.allow(rms(samples), voice.buffer.playback_rms):
                continue
            await self._send(events.input_audio_append(frame))
            voice.send_latency.append(time.perf_counter() - captured_at)

    async def wait_mic_file_done(self) -> None:
        """With a WAV file as the mic: wait until it has been streamed, the turn it holds has
        been detected and answered, and the answer has been played."""
        if self.voice is None:
            return
        await self.voice.mic.finished.wait()
        td = self.settings.session
        await asyncio.sleep(1.0 if td.turn_detection != "semantic_vad" else 2.0)
        while True:
            await self.wait_idle()
            if (
                not self.learner_speaking
                and self.voice.buffer.idle
                and not self.conversation.responding
            ):
                return
            await asyncio.sleep(0.1)

    # --- tools --------------------------------------------------------------------------------

    def _tool_context(self) -> ToolContext:
        def record_grade(grade: dict[str, Any]) -> dict[str, Any]:
            if self.store is None or self._session_id is None:
                return dict(grade)
            return self.store.add_grade(self._session_id, grade)

        def record_quiz(result: dict[str, Any]) -> dict[str, Any]:
            if self.store is None or self._session_id is None:
                return dict(result)
            return self.store.add_quiz_result(self._session_id, result)

        return ToolContext(self.scenario, record_grade, record_quiz, self.view.ask_quiz)

    async def _run_tool(self, call: ToolCallReady) -> None:
        try:
            arguments = self.redact.text(call.arguments)  # nothing secret reaches the store
            outcome = await self.registry.run(call.name, arguments, self._tool_context())
            ran = ToolRan(call.name, arguments, outcome)
            self.summary.tools.append(ran)
            if outcome.ok and call.name == "grade_lesson":
                self.summary.grade = outcome.result.get("stored")
            if outcome.ok and call.name == "trigger_quiz":
                self.summary.quiz = outcome.result.get("stored")
            if self.log:
                self.log.write(
                    "local",
                    {
                        "type": "tutor.tool",
                        "name": call.name,
                        "call_id": call.call_id,
                        "ok": outcome.ok,
                        "output": outcome.output,
                    },
                )
            self._show(ran)
            for event in self.conversation.tool_output(call.call_id, outcome.output):
                await self._send(event)
        finally:
            self._tools_running -= 1
            self._check_idle()

    # --- ending -------------------------------------------------------------------------------

    async def end(self) -> CallSummary:
        """Ask for a grade (if none yet), wait for it, then close everything down."""
        try:
            if (
                self.connected
                and self.summary.grade is None
                and "grade_lesson" in self.scenario.tools
            ):
                await self.wait_idle(self.settings.grade_timeout)
                if self.summary.grade is None and self.connected:
                    self._show(Notice("asking the tutor for a grade…"))
                    self._idle.clear()
                    for event in self.conversation.request_response(
                        tool_choice=events.force_tool("grade_lesson")
                    ):
                        await self._send(event)
                    if not await self.wait_idle(self.settings.grade_timeout):
                        self._show(Notice("no grade arrived in time", "warning"))
        finally:
            await self.close()
        return self.summary

    async def close(self) -> None:
        """Close the socket, the engine, the log; record the session's end."""
        if self._mic_pump is not None:
            self._mic_pump.cancel()
            await asyncio.gather(self._mic_pump, return_exceptions=True)
        if self.connection is not None:
            await self.connection.close()
        if self.voice is not None:
            for _ in range(100):  # let the last words play out (at most 5 s)
                if self.voice.buffer.idle:
                    break
                await asyncio.sleep(0.05)
            await self.voice.close()
        if self._link is not None:
            try:
                await asyncio.wait_for(self._link, 5)
            except ConnectionFailed as exc:
                self.summary.failure = self.summary.failure or str(exc)
            except (TimeoutError, asyncio.CancelledError):
                self._link.cancel()
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None
        self.summary.duration_s = time.monotonic() - self._started
        if self.summary.cost_usd is None:
            self.summary.cost_usd = cost_usd(self.summary.model, self.summary.usage)
        if self.store is not None and self._session_id is not None:
            self.store.end_session(
                self._session_id,
                ended_at=datetime.now(UTC),
                usage=self.summary.usage.as_dict(),
                cost_usd=self.summary.cost_usd,
            )
            self._session_id = None
        if self.log is not None:
            self.log.write("local", {"type": "tutor.call_ended", "failure": self.summary.failure})
            self.log.close()


async def lesson(call: Call, turns: AsyncIterator[str]) -> CallSummary:
    """Run a whole lesson: the opening, each learner turn after the tutor's reply, the grade."""
    try:
        await call.start()
        await call.wait_idle()
        async for text in turns:
            if not call.connected:
                break
            await call.say(text)
            if not await call.wait_idle():
                call._show(Notice("the tutor did not reply in time", "warning"))
        if call.settings.voice.mic_file is not None and call.connected:
            await call.wait_mic_file_done()
    except ConnectionFailed as exc:
        call.summary.failure = str(exc)
    finally:
        await call.end()
    return call.summary

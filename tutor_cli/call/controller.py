"""The Call: the one place that wires a lesson's I/O together.

Connection (websocket, reconnects) ⇄ Conversation (pure state) → views; tools run here and
store their results; every frame goes to the event log. Views only receive updates and call
the intents (`say`, `set_muted`, `push_to_talk`, `end`). Live calls, scripted sessions and the
TUI differ only in the view and where the learner's turns come from.

Every client event, whatever asked for it, is queued in the Conversation's outbox and leaves
through `_flush`, the one send path, in the order it was queued.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

from tutor_cli.audio.devices import AudioUnavailable
from tutor_cli.audio.voice import Voice
from tutor_cli.call.progress import ProgressRow
from tutor_cli.call.settings import CallSettings
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.lesson.updates import (
    NON_JSON_FRAME,
    AudioChunk,
    AudioMode,
    CallSummary,
    CallUpdate,
    CallView,
    ConnectionState,
    ConversationUpdate,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    MicLevel,
    Notice,
    NoticeLevel,
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
from tutor_cli.realtime import events
from tutor_cli.realtime.connection import Connection, ConnectionFailed
from tutor_cli.realtime.conversation import Conversation
from tutor_cli.realtime.endpoint import Endpoint, resolve_endpoint
from tutor_cli.realtime.pricing import cost_usd
from tutor_cli.storage.eventlog import EventLogWriter
from tutor_cli.storage.local_records import (
    CallEnded,
    ConnectionLost,
    EventSkipped,
    HistoryRestored,
    LinkChanged,
    ReplyAbandoned,
    ToolFinished,
)
from tutor_cli.storage.paths import sessions_dir
from tutor_cli.storage.redact import Redactor, SplitSecrets
from tutor_cli.tools.registry import ToolContext, ToolRegistry, tool_failure

if TYPE_CHECKING:
    from tutor_cli.engine.server import OfflineEngine
    from tutor_cli.storage.store import ProgressStore

SECRET_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TUTOR_ENGINE_KEY")
MIC_LEVEL_FRAMES = 10  # the meter gets the loudest of this many 20 ms frames


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
        voice: Voice | None = None,
    ) -> None:
        """`voice`, if given, is an opened mic and speaker to use instead of the settings'."""
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
        self.progress = ProgressRow(store, on_failure=self._not_saved)
        self._audio_mode = AudioMode("text", reason="text-only call")
        # Sees every frame both ways (the call screen's event pane), secrets redacted.
        self.frame_listener: Callable[[str, dict[str, Any] | str], None] | None = None
        self._talking = False  # push-to-talk held
        self.voice = voice
        self._mic_pump: asyncio.Task[None] | None = None
        self.learner_speaking = False
        self._tool_tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._opened = asyncio.Event()
        self._sending = asyncio.Lock()
        self._link: asyncio.Task[None] | None = None
        self._engine: OfflineEngine | None = None
        self._started = time.monotonic()
        self._quiet: asyncio.TimerHandle | None = None  # fires if the engine goes silent
        self.abandoned_replies = 0  # replies given up on after the engine went silent
        self._skipped_reported = False  # malformed events: told once, each one logged
        self._hurry = asyncio.Event()  # end at once: stop waiting for the tutor

    def _frame(self, direction: str, event: dict[str, Any] | str) -> None:
        if self.frame_listener is not None:
            self.frame_listener(direction, self.redact.value(event))

    def _show(self, update: CallUpdate) -> None:
        """Views never see a secret, even one a server echoes back."""
        self.view.show(self.redact.fields(update))

    def notify(self, text: str, level: NoticeLevel = "info") -> None:
        """Tell the learner something about the call."""
        self._show(Notice(text, level))

    def _not_saved(self, problem: str) -> None:
        """The log or the progress store could not be written (each says so once): the lesson
        goes on in memory, and the session counts as failed so the learner knows."""
        self.notify(f"{problem}; the lesson goes on", "error")
        self.summary.failure = self.summary.failure or problem

    # --- the one send path --------------------------------------------------------------------

    async def _flush(self) -> None:
        """Send what the Conversation queued, in order, then bring the idle state up to date.

        One sender at a time: a caller that finds another sending waits, and by then its
        events have gone out with the rest."""
        async with self._sending:
            while queued := self.conversation.events_to_send():
                for event in queued:
                    if self.connection is not None:
                        await self.connection.send(event)
        self._sync_idle()
        if self._quiet is None:
            self._watch_engine()

    def _sync_idle(self) -> None:
        """Idle means nobody waits for the tutor: derived from the Conversation alone, and
        always idle once the link is gone for good."""
        link_over = self._link is not None and self._link.done()  # nobody answers any more
        if self.conversation.busy and not link_over:
            self._idle.clear()
        else:
            self._idle.set()

    # --- intents (what views and learner input call) ------------------------------------------

    async def say(self, text: str) -> None:
        """A typed learner turn."""
        text = text.strip()
        if not text:
            return
        self._show(self.conversation.send_text(text))
        self.summary.learner_turns += 1
        await self._flush()

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
            self.notify("push-to-talk is off in this call", "warning")
            return
        self._talking = talking
        if talking:
            self.conversation.start_spoken_turn()
        else:
            self.conversation.end_spoken_turn()
        await self._flush()

    async def request_reply(self, **overrides: Any) -> None:
        """Ask the tutor for a reply now (or once the current one is done); the keywords
        override the session for this reply, as `response.create` allows."""
        self.conversation.request_response(**overrides)
        await self._flush()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the tutor has replied (tool round trips included), or has been given up
        on after going silent for the reply timeout; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def hurry(self) -> None:
        """End now: stop waiting for a grade or a last reply (a second Ctrl+C or signal). The
        log and the progress row are still closed."""
        self._hurry.set()
        self._idle.set()

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.connected

    @property
    def takes_turns(self) -> bool:
        """The learner's turns can be taken: the call is open, even if its socket is being
        re-opened (a turn then goes out with the history)."""
        return self._opened.is_set() and not self.link_over

    @property
    def link_over(self) -> bool:
        """The connection is gone for good (closed, or lost after its retries)."""
        return self._link is not None and self._link.done()

    # --- when the engine goes silent ------------------------------------------------------------

    def _watch_engine(self) -> None:
        """(Re)start the wait for the engine while it owes a reply on an open socket: it
        must say something within the reply timeout, or the reply is given up on."""
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None
        if self.conversation.responding and self.connected:
            loop = asyncio.get_running_loop()
            self._quiet = loop.call_later(self.settings.reply_timeout, self._engine_silent)

    def _engine_silent(self) -> None:
        self._quiet = None
        task = asyncio.create_task(self._give_up_reply())
        self._tool_tasks.add(task)  # kept until done, like the tools' tasks
        task.add_done_callback(self._tool_tasks.discard)

    async def _give_up_reply(self) -> None:
        if not self.conversation.abandon_reply():
            return
        self.abandoned_replies += 1
        timeout = self.settings.reply_timeout
        if self.log is not None:
            self.log.note(ReplyAbandoned(timeout))
        self.notify(
            f"the tutor did not answer within {timeout:g} s; going on without it", "warning"
        )
        await self._flush()

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
            on_failure=self._not_saved,
        )
        self.summary.log_path = self.log.path
        self.progress.open(self.summary)
        self.connection = Connection(
            self.endpoint,
            self.log,
            connect_timeout=self.settings.connect_timeout,
            backoff=self.settings.reconnect_backoff,
            on_frame=self._frame,
            secrets=SplitSecrets(self.redact),
        )
        self._link = asyncio.create_task(self._run_link())
        self._link.add_done_callback(lambda _link: self._sync_idle())
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({opened, self._link}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if self._link.done() and not self._opened.is_set():
            self._link.result()  # raises ConnectionFailed

    async def _open_voice(self) -> None:
        try:
            if self.voice is None:
                self.voice = await Voice.open(self.settings.voice)
        except AudioUnavailable as exc:
            self._audio_mode = AudioMode("text", reason=str(exc))
            self.notify(f"text-only call: {exc}", "warning")
        else:
            push_to_talk = self.settings.voice.push_to_talk
            self._audio_mode = AudioMode("push_to_talk" if push_to_talk else "voice")
        self._show(self._audio_mode)

    async def _start_offline_engine(self) -> Endpoint:
        from tutor_cli.engine.server import OfflineEngine

        self._engine = OfflineEngine(
            port=0, scenario_dirs=self.settings.scenario_dirs, pace=self.settings.pace
        )
        await self._engine.start()
        self.notify(f"offline engine on {self._engine.url} (no API key needed)")
        url = f"{self._engine.url}?model=offline&scenario={self.scenario.id}"
        return Endpoint("offline", url, "offline")

    async def _run_link(self) -> None:
        assert self.connection is not None
        await self.connection.run(self._on_open, self._on_event, self._on_state)

    async def _on_open(self, reconnect: bool) -> None:
        options = self.settings.session_options(voice=self.voice is not None)
        session = session_config(self.scenario, options)
        if not reconnect:
            self.conversation.configure(session)
            self.conversation.request_response()  # the tutor speaks first
            await self._flush()
            self._opened.set()
            if self.voice is not None:
                self._mic_pump = asyncio.create_task(self._pump_mic(self.voice))
            return
        resumed = self.conversation.resume(session)
        if self.log is not None:
            self.log.note(HistoryRestored(resumed.history_event_ids))
        if resumed.reply_requested:
            self.notify("reconnected; asking the tutor again for the lost reply")
        await self._flush()

    def _on_state(self, state: ConnectionState) -> None:
        if self.log is not None:
            self.log.note(LinkChanged(state.state, state.detail))
        if state.state == "reconnecting":
            self.conversation.connection_lost()
            if self.log is not None:
                self.log.note(ConnectionLost())
        self._show(state)

    async def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "tutor.non_json_frame":
            self._show(NON_JSON_FRAME)
            return
        for update in self.conversation.receive(event):
            await self._dispatch(update)
        self._watch_engine()  # it spoke: the wait for it starts again, if it still owes a reply
        await self._flush()

    async def _dispatch(self, update: ConversationUpdate) -> None:
        if isinstance(update, AudioChunk):
            if self.voice is not None:
                self.voice.buffer.push(update.item_id, update.pcm)
            return  # audio is for the speaker, not the views
        if isinstance(update, MalformedEvent):
            self._skipped(update)
            return
        match update:
            case ToolCallReady():
                task = asyncio.create_task(self._run_tool(update))
                self._tool_tasks.add(task)
                task.add_done_callback(self._tool_tasks.discard)
            case TutorFinal():
                self.summary.tutor_turns += 1
            case LearnerTurn():
                if update.source == "speech":
                    self.summary.learner_turns += 1
            case UsageUpdate():
                self.summary.usage, self.summary.cost_usd = update.total, update.cost_usd
            case SpeechStarted():
                self.learner_speaking = True
                await self._barge_in()
            case SpeechStopped():
                self.learner_speaking = False
            case ResponseState():
                if update.state == "done" and self.voice is not None:
                    self.voice.buffer.end_of_reply()
                if update.state == "done" and update.status == "completed" and self.connection:
                    self.connection.mark_working()
            case (
                TutorDelta()
                | TutorTruncated()
                | LearnerTranscript()
                | ServerError()
                | SessionReady()
                | UnknownEvent()
            ):
                pass
            case _:
                assert_never(update)
        self._show(update)

    def _skipped(self, update: MalformedEvent) -> None:
        """A server event that could not be used: logged every time, told once."""
        if self.log is not None:
            self.log.note(EventSkipped(update.type, update.problem))
        if not self._skipped_reported:
            self._skipped_reported = True
            message = f"skipped a malformed {update.type} event ({update.problem}); logged"
            self._show(ServerError("malformed_event", message))

    # --- voice --------------------------------------------------------------------------------

    async def _barge_in(self) -> None:
        """The learner started talking: silence the tutor at once and tell the server exactly
        how much of the reply was heard."""
        if self.voice is None:
            return
        cut = self.voice.buffer.interrupt()
        self.conversation.interrupt(cut.item_id, cut.played_ms, self.settings.manual_turns)
        await self._flush()

    async def _pump_mic(self, voice: Voice) -> None:
        """Mic frames to the server, unless muted, outside a push-to-talk turn, or gated as
        echo; the level goes to the meter five times a second."""
        from tutor_cli.audio.pcm import FrameLevel

        level = FrameLevel()
        async for frame, captured_at in voice.mic.frames():
            frame_rms = level.add(frame)
            if level.frames >= MIC_LEVEL_FRAMES:
                self._show(MicLevel(*level.take()))
            if self._audio_mode.muted or not self.connected:
                continue
            if self._audio_mode.mode == "push_to_talk" and not self._talking:
                continue
            if not voice.gate.allow(frame_rms, voice.buffer.playback_rms):
                continue
            self.conversation.append_audio(frame)
            await self._flush()
            voice.send_latency.append(time.perf_counter() - captured_at)

    # --- tools --------------------------------------------------------------------------------

    async def _run_tool(self, call: ToolCallReady) -> None:
        arguments = self.redact.text(call.arguments)  # nothing secret reaches the store
        context = ToolContext(
            self.scenario, self.progress.record_grade, self.progress.record_quiz, self.view.ask_quiz
        )
        try:
            outcome = await self.registry.run(call.name, arguments, context)
        except Exception as exc:  # the registry's own guard failed: the model still hears back
            outcome = tool_failure(
                call.name, f"The tool {call.name!r} failed ({type(exc).__name__})."
            )
        ran = ToolRan(call.name, arguments, outcome)
        self.summary.tools.append(ran)
        self.summary.take(outcome.effect)
        if self.log is not None:
            self.log.note(ToolFinished(call.name, call.call_id, outcome.ok, outcome.output))
        self._show(ran)
        self.conversation.tool_output(call.call_id, outcome.output)
        await self._flush()

    # --- ending -------------------------------------------------------------------------------

    async def end(self) -> CallSummary:
        """Ask for a grade (if none yet), wait for it, then close everything down. All the
        waiting together lasts at most the grade timeout."""
        try:
            if self._wants_grade():
                deadline = time.monotonic() + self.settings.grade_timeout
                await self.wait_idle(self.settings.grade_timeout)  # a reply under way may grade
                if self.conversation.responding and not self._hurry.is_set():
                    self.conversation.abandon_reply()  # it will not: the grade comes first
                if self._wants_grade():
                    self.notify("asking the tutor for a grade…")
                    await self.request_reply(tool_choice=events.force_tool("grade_lesson"))
                    left = max(0.0, deadline - time.monotonic())
                    if not await self.wait_idle(left) or self.summary.grade is None:
                        self.notify("no grade arrived in time", "warning")
        finally:
            await self.close()
        return self.summary

    def _wants_grade(self) -> bool:
        return (
            self.connected
            and not self._hurry.is_set()
            and self.summary.grade is None
            and "grade_lesson" in self.scenario.tools
        )

    async def close(self) -> None:
        """Close the socket, the engine, the log; record the session's end."""
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None
        if self._mic_pump is not None:
            self._mic_pump.cancel()
            await asyncio.gather(self._mic_pump, return_exceptions=True)
        if self.connection is not None:
            await self.connection.close()
        if self.voice is not None:
            for _ in range(100):  # let the last words play out (at most 5 s)
                if self.voice.buffer.idle or self._hurry.is_set():
                    break
                await asyncio.sleep(0.05)
            await self.voice.close()
        if self._link is not None:
            try:
                await asyncio.wait_for(self._link, 5)
            except ConnectionFailed as exc:
                self.summary.failure = self.summary.failure or self.redact.text(str(exc))
            except (TimeoutError, asyncio.CancelledError):
                self._link.cancel()
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None
        self.summary.duration_s = time.monotonic() - self._started
        if self.summary.cost_usd is None:
            self.summary.cost_usd = cost_usd(self.summary.model, self.summary.usage)
        self.progress.close(self.summary)
        if self.log is not None:
            self.log.note(CallEnded(self.summary.failure))
            self.log.close()

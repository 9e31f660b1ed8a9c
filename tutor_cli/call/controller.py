"""The Call: the one place that wires a lesson's I/O together.

Link to the engine (a socket, reconnects, the one send path) ⇄ Conversation (pure state) →
views; the microphone streams to it; tools run here and store their results; every frame goes
to the event log. Views only receive updates and call the intents (`say`, `set_muted`,
`push_to_talk`, `end`). Live calls, scripted sessions and the TUI differ only in the view and
where the learner's turns come from.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

from tutor_cli.call.ending import ask_for_the_grade
from tutor_cli.call.link import EngineLink
from tutor_cli.call.microphone import Microphone
from tutor_cli.call.offline import NOTICE, built_in_engine
from tutor_cli.call.progress import ProgressRow
from tutor_cli.call.relayed import RelayWatch
from tutor_cli.call.settings import CallSettings
from tutor_cli.call.tool_runs import ToolRuns
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.lesson.tracker import LessonTracker
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
from tutor_cli.realtime.connection import Connection
from tutor_cli.realtime.conversation import Conversation
from tutor_cli.realtime.endpoint import SECRET_VARIABLES, Endpoint, resolve_endpoint
from tutor_cli.realtime.pricing import engine_cost
from tutor_cli.storage.eventlog import EventLogWriter
from tutor_cli.storage.local_records import (
    CallEnded,
    ConnectionLost,
    EventSkipped,
    HistoryRestored,
    LinkChanged,
    LocalRecord,
    ReplyAbandoned,
    ToolFinished,
)
from tutor_cli.storage.paths import sessions_dir
from tutor_cli.storage.redact import Redactor, SplitSecrets
from tutor_cli.tools.outcomes import GradeRecorded, ToolOutcome
from tutor_cli.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from tutor_cli.audio.voice import Voice
    from tutor_cli.storage.store import ProgressStore


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
        model = self.endpoint.model if self.endpoint else "offline"
        self.conversation = Conversation(model, billed=bool(self.endpoint and self.endpoint.bills))
        self.summary = CallSummary(
            scenario.id,
            scenario.title,
            self.endpoint.name if self.endpoint else "offline",
            model,
            datetime.now(UTC),
        )
        self.log: EventLogWriter | None = None
        self.link = EngineLink(
            self.conversation, reply_timeout=settings.reply_timeout, on_abandoned=self._abandoned
        )
        self.progress = ProgressRow(store, on_failure=self._not_saved)
        # Sees every frame both ways (the call screen's event pane), secrets redacted.
        self.frame_listener: Callable[[str, dict[str, Any] | str], None] | None = None
        self.mic = Microphone(
            settings.voice,
            self.conversation,
            send=self.link.flush,
            show=self._show,
            connected=lambda: self.connected,
            voice=voice,
        )
        self.learner_speaking = False
        self.lesson = LessonTracker(scenario)
        self.tools = ToolRuns(
            scenario,
            registry or ToolRegistry.default(),
            self.progress,
            lambda quiz: self.view.ask_quiz(quiz),
            self._tool_finished,
            relayed=lambda: self.link.relayed,
        )
        self._opened = asyncio.Event()
        self._started = time.monotonic()
        self.abandoned_replies = 0  # replies given up on after the engine went silent
        self._skipped_reported = False  # malformed events: told once, each one logged
        self._hurry = asyncio.Event()  # end at once: stop waiting for the tutor
        self.grade_forced = False  # the ending asked for the grade (see `ended_early`)
        self.relay_watch = RelayWatch()

    def _frame(self, direction: str, event: dict[str, Any] | str) -> None:
        if self.frame_listener is not None:
            self.frame_listener(direction, self.redact.frame(direction, event))

    def _show(self, update: CallUpdate) -> None:
        """Views never see a secret, even one a server echoes back."""
        self.view.show(self.redact.fields(update))

    def notify(self, text: str, level: NoticeLevel = "info") -> None:
        """Tell the learner something about the call."""
        self._show(Notice(text, level))

    def _note(self, record: LocalRecord) -> None:
        """Something only the Call knows, for the log (and a replay)."""
        if self.log is not None:
            self.log.note(record)

    def _not_saved(self, problem: str) -> None:
        """The log or the progress store could not be written (each says so once): the lesson
        goes on in memory, and the session counts as failed so the learner knows."""
        self.notify(f"{problem}; the lesson goes on", "error")
        self.summary.failure = self.summary.failure or problem

    def _heard(self, text: str | None) -> None:
        progress = self.lesson.heard(text)
        if progress is not None:
            self._show(progress)

    # --- intents (what views and learner input call) ------------------------------------------

    async def say(self, text: str) -> None:
        """A typed learner turn."""
        text = text.strip()
        if not text:
            return
        self._show(self.conversation.send_text(text))
        self.summary.learner_turns += 1
        self._heard(text)
        await self.link.flush()

    @property
    def audio_mode(self) -> AudioMode:
        """How the learner can talk right now."""
        return self.mic.mode

    @property
    def voice(self) -> Voice | None:
        """The opened mic and speaker, if the call has a voice."""
        return self.mic.voice

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the microphone (nothing is sent while muted)."""
        self.mic.set_muted(muted)

    async def push_to_talk(self, talking: bool) -> None:
        """In push-to-talk mode: start a learner turn, or end it and ask for the reply."""
        await self.mic.push_to_talk(talking)

    async def request_reply(self, **overrides: Any) -> None:
        """Ask the tutor for a reply now (or once the current one is done); the keywords
        override the session for this reply, as `response.create` allows."""
        self.conversation.request_response(**overrides)
        await self.link.flush()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the tutor has replied (tool round trips included), or has been given up
        on after going silent for the reply timeout; False if `timeout` passed first."""
        return await self.link.wait_idle(timeout)

    def hurry(self) -> None:
        """End now: stop waiting for a grade or a last reply (a second Ctrl+C or signal). The
        log and the progress row are still closed."""
        self._hurry.set()
        self.link.release_waiters()

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def takes_turns(self) -> bool:
        """The learner's turns can be taken: the call is open, even if its socket is being
        re-opened (a turn then goes out with the history)."""
        return self._opened.is_set() and not self.link.over

    @property
    def link_over(self) -> bool:
        """The connection is gone for good (closed, or lost after its retries)."""
        return self.link.over

    def _abandoned(self, timeout: float) -> None:
        """The engine stayed silent on a reply for the reply timeout: the call goes on."""
        self.abandoned_replies += 1
        self._note(ReplyAbandoned(timeout))
        self.notify(f"the tutor did not answer within {timeout:g} s; going on", "warning")

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the log, the engine and the connection; the tutor starts speaking."""
        if not self.settings.text_only:
            await self.mic.open()
        opener = None
        if self.endpoint is None:
            opener, self.endpoint = built_in_engine(self.settings, self.scenario)
            self.notify(NOTICE)
        self.log = EventLogWriter.create(
            sessions_dir(),
            scenario=self.scenario.id,
            engine=self.endpoint.name,
            model=self.endpoint.model,
            secrets=self.redact.secrets,
            keep_mic_audio=self.settings.keep_mic_audio,
            on_failure=self._not_saved,
        )
        self.summary.log_path = self.log.path
        self.progress.open(self.summary, scripted=self.settings.scripted)
        connection = Connection(
            self.endpoint,
            self.log,
            connect_timeout=self.settings.connect_timeout,
            backoff=self.settings.reconnect_backoff,
            on_frame=self._frame,
            secrets=SplitSecrets(self.redact),
            opener=opener,
        )
        link = self.link.start(connection, self._on_open, self._on_event, self._on_state)
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({opened, link}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if link.done() and not self._opened.is_set():
            link.result()  # raises ConnectionFailed

    async def _on_open(self, reconnect: bool) -> None:
        options = self.settings.session_options(voice=self.voice is not None)
        session = session_config(self.scenario, options)
        if self.link.relayed and reconnect:  # the relay kept the lesson over the drop
            self.conversation.rejoin_relay()
        elif self.link.relayed:  # it set the lesson up
            self.conversation.join_relay()
            self.notify("a classroom relay holds this lesson: it sets it up, keeps the grade")
        elif not reconnect:
            self.conversation.configure(session)
            self.conversation.request_response()  # the tutor speaks first
        else:
            resumed = self.conversation.resume(session)
            self._note(HistoryRestored(resumed.history_event_ids))
            if resumed.reply_requested:
                self.notify("reconnected; asking the tutor again for the lost reply")
        await self.link.flush()
        if not reconnect:
            self._opened.set()
            self._show(self.lesson.progress())
            self.mic.start()

    def _on_state(self, state: ConnectionState) -> None:
        self._note(LinkChanged(state.state, state.detail))
        if state.state == "reconnecting":
            self.conversation.connection_lost()
            self._note(ConnectionLost())
        self._show(state)

    async def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "tutor.non_json_frame":
            self._show(NON_JSON_FRAME)
            return
        for update in self.conversation.receive(event):
            await self._dispatch(update)
        if (relay_ran := self.tools.relay_outcome(event)) is not None:
            await self._tool_finished(*relay_ran)  # shown and kept as a tool run here
        self.link.heard()
        await self.link.flush()

    async def _dispatch(self, update: ConversationUpdate) -> None:
        if isinstance(update, AudioChunk):
            if self.voice is not None:
                self.voice.buffer.push(update.item_id, update.pcm)
            return  # audio is for the speaker, not the views
        if isinstance(update, MalformedEvent):
            self._skipped(update)
            return
        news = self.relay_watch.read(update) if self.link.relayed else None
        if news is not None:
            self._show(news.state)
            if news.instead:
                return
        match update:
            case ToolCallReady():
                # nothing secret reaches the store
                self.tools.start(update, self.redact.text(update.arguments))
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
                if update.state == "done" and update.status == "completed":
                    self.link.working()
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
        if isinstance(update, LearnerTranscript):
            self._heard(update.text)

    def _skipped(self, update: MalformedEvent) -> None:
        """A server event that could not be used: logged every time, told once."""
        self._note(EventSkipped(update.type, update.problem))
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
        await self.link.flush()

    # --- tools --------------------------------------------------------------------------------

    async def _tool_finished(
        self, call: ToolCallReady, arguments: str, outcome: ToolOutcome
    ) -> None:
        ran = ToolRan(call.name, arguments, outcome)
        self.summary.tools.append(ran)
        self.summary.take(outcome.effect)
        self._note(ToolFinished(call.name, call.call_id, outcome.ok, outcome.output))
        self._show(ran)
        if isinstance(outcome.effect, GradeRecorded):
            self._show(self.lesson.take_grade(outcome.effect.grade["goals_achieved"]))
        # A call the relay ran is not waited on: its output went to the engine already.
        self.conversation.tool_output(call.call_id, outcome.output)
        await self.link.flush()

    # --- ending -------------------------------------------------------------------------------

    async def end(self) -> CallSummary:
        """Ask for a grade (if none yet), wait for it (the grade timeout at most, in all),
        then close everything down."""
        try:
            await ask_for_the_grade(self)
        finally:
            await self.close()
        return self.summary

    @property
    def ended_early(self) -> bool:
        """The learner ended the lesson before it was over: no grade came, or the call's own
        ending had to ask for it (ctrl+q, a signal, the last line given) before the learner
        was through the lesson's steps."""
        return self.summary.grade is None or (self.grade_forced and not self.lesson.finished)

    @property
    def hurried(self) -> bool:
        """Told to end at once (`hurry`)."""
        return self._hurry.is_set()

    async def close(self) -> None:
        """Close the socket (and with it a built-in engine), the log; record the session's end."""
        await self.mic.stop()
        lost = await self.link.close()
        if lost is not None:
            self.summary.failure = self.summary.failure or self.redact.text(lost)
        await self.mic.close(play_out=lambda: not self.hurried)
        self.summary.duration_s = time.monotonic() - self._started
        self.summary.finished = not self.ended_early
        if self.summary.cost_usd is None:
            self.summary.cost_usd = engine_cost(
                self.summary.engine, self.summary.model, self.summary.usage
            )
        self.progress.close(self.summary)
        self._note(CallEnded(self.summary.failure))
        if self.log is not None:
            self.log.close()

"""A saved lesson rebuilt from its event log: records in, the updates a call's view got out.

The log's server events go through the same `Conversation` a call uses (no second parser); the
learner's typed turns come from the client's `conversation.item.create` messages, or, for a
turn the log holds no such message for (a log of server events only, from another tool), from
the user item the server added; what only the Call knew (tool outcomes, a lost socket, a
re-created history) comes from its local records. Tools are shown, never run: nothing is stored
and nothing is sent (the Conversation's outbox is emptied and dropped). Pure: no clock, no
output, no devices.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.updates import (
    NON_JSON_FRAME,
    AudioChunk,
    CallSummary,
    ConnectionState,
    LearnerAudio,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    ReplayUpdate,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    ToolLogged,
    ToolRan,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime.conversation import Conversation
from tutor_cli.realtime.pricing import engine_cost
from tutor_cli.storage.eventlog import Record
from tutor_cli.storage.local_records import (
    CallEnded,
    ConnectionLost,
    ConnectionNote,
    EventSkipped,
    HistoryRestored,
    LinkChanged,
    ReplyAbandoned,
    ToolFinished,
    read_local,
)
from tutor_cli.tools.outcomes import intended_effect, output_error, output_ok, read_outcome


@datatype(frozen=False)
class ToolShown:
    """A tool call as the replay shows it: never run, its logged outcome filled in if any."""

    at: float | None
    call_id: str
    name: str
    arguments: str
    ok: bool | None = None
    output: str | None = None

    def error(self) -> str | None:
        """The failure message the tool gave, if it failed."""
        return output_error(self.output) if self.ok is False else None


@datatype
class LessonInfo:
    """What the log says about the lesson before its first event."""

    path: Path
    scenario: str
    title: str
    tutor_name: str
    engine: str
    model: str
    started_at: datetime | None


@datatype(frozen=False)
class ReplaySummary:
    """The lesson's figures rebuilt from the log, and how the replay went."""

    lesson: CallSummary
    tools: list[ToolShown]
    events: int
    bad_lines: int
    first_bad_line: int | None
    timed: bool
    start_at: float
    wav_seconds: float | None = None


def clock_time(seconds: float) -> str:
    """An offset as MM:SS.d (H:MM:SS.d past an hour)."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{text}" if hours else text


# Typed turns the client sent whose server echo has not come yet. An echo follows its create
# within moments, so a few are plenty, and a create never echoed (a lost socket) drops out.
RECENT_CREATES = 16
RECENT_USER_ITEMS = 64  # server user items already seen (GA sends `.added` and `.done`)


def count_of(number: int, noun: str) -> str:
    """`1 bad line`, `1,204 events`: counts read as every view prints them."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _said(item: dict[str, Any]) -> tuple[str, str] | None:
    """A message item's role and text (its text parts joined), or None if it has no text."""
    content = item.get("content")
    if not isinstance(content, list):
        return None
    texts = [
        p["text"]
        for p in content
        if isinstance(p, dict)
        and p.get("type") in ("input_text", "output_text", "text")
        and isinstance(p.get("text"), str)
    ]
    if not texts:
        return None
    return str(item.get("role")), " ".join(texts)


def _spoken(item: dict[str, Any]) -> bool:
    """Whether a message item holds audio (a spoken turn, which the Conversation shows)."""
    content = item.get("content")
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") == "input_audio" for p in content
    )


class RecordedLesson:
    """A lesson rebuilt from its log: feed records in order, get the updates a call's view got.

    With `keep_audio` false, microphone audio is not decoded (tutor audio still is: the
    Conversation counts it).
    """

    def __init__(self, model: str, *, keep_audio: bool = False, billed: bool = True) -> None:
        """`billed`: the call's engine charged for tokens (see `engine_bills`)."""
        self.conversation = Conversation(model, billed=billed)
        self.conversation.configure({})  # the call's socket was open; nothing is sent here
        self.keep_audio = keep_audio
        self.learner_turns = 0
        self.tutor_turns = 0
        self.tools: list[ToolShown] = []
        self.session_model: str | None = None  # as the server named it
        self._tools_by_call: dict[str, ToolShown] = {}
        self._logged: set[str] = set()  # call ids whose outcome a tool record gave
        self._history: set[str] = set()  # client event ids that re-create the history
        self._unechoed: deque[str] = deque(maxlen=RECENT_CREATES)  # typed texts sent
        self._user_items: dict[str, None] = {}  # recent server user item ids, oldest first

    def feed(self, record: Record) -> list[ReplayUpdate]:
        """The updates one record stands for (often none)."""
        event = record.event
        if isinstance(event, str):
            return self._raw_frame(event)
        if record.dir == "local":
            return self._local(event)
        type_ = event.get("type")
        if isinstance(type_, str) and type_.startswith("tutor."):
            return self._local(event)  # our own records, in a log dumped without directions
        client = record.dir == "client"
        updates = self._client(event) if client else self._server(event, record.t)
        self.conversation.events_to_send()  # a replay sends nothing
        return updates

    # --- server events: through the Conversation ------------------------------------------------

    def _server(self, event: dict[str, Any], at: float | None) -> list[ReplayUpdate]:
        if event.get("type") in ("session.created", "session.updated"):
            session = event.get("session")
            if isinstance(session, dict) and isinstance(session.get("model"), str):
                self.session_model = session["model"]
        typed = self._typed_elsewhere(event)
        updates = self.conversation.receive(event)
        for update in updates:
            match update:
                case TutorFinal():
                    self.tutor_turns += 1
                case LearnerTurn(source="speech"):
                    self.learner_turns += 1
                case ToolCallReady():
                    shown = ToolShown(at, update.call_id, update.name, update.arguments)
                    self.tools.append(shown)
                    self._tools_by_call[update.call_id] = shown
                case (
                    LearnerTurn()
                    | TutorDelta()
                    | TutorTruncated()
                    | LearnerTranscript()
                    | AudioChunk()
                    | SpeechStarted()
                    | SpeechStopped()
                    | ResponseState()
                    | UsageUpdate()
                    | ServerError()
                    | SessionReady()
                    | UnknownEvent()
                    | MalformedEvent()
                ):
                    pass
                case _:
                    assert_never(update)
        return [*typed, *updates]

    def _typed_elsewhere(self, event: dict[str, Any]) -> list[ReplayUpdate]:
        """A typed learner turn known from the server's user item alone: the Conversation
        leaves typed items to whoever sent them, and a log of server events has no sender.
        An item that echoes a create the log holds is that create's turn, shown already;
        echoes are matched by text, in order (the client's create carries no item id)."""
        if event.get("type") not in ("conversation.item.added", "conversation.item.created"):
            return []
        item = event.get("item")
        if not isinstance(item, dict) or _spoken(item):
            return []
        said = _said(item)
        if said is None or said[0] != "user":
            return []
        item_id = item.get("id") if isinstance(item.get("id"), str) else None
        if item_id is not None:
            if item_id in self._user_items:
                return []  # the same item again (a log holding both names)
            self._user_items[item_id] = None
            if len(self._user_items) > RECENT_USER_ITEMS:
                del self._user_items[next(iter(self._user_items))]
        if said[1] in self._unechoed:
            self._unechoed.remove(said[1])
            return []
        self.learner_turns += 1
        return [LearnerTurn(item_id, said[1], "typed")]

    # --- client events: the learner's typed turns, tool outputs, mic audio -------------------

    def _client(self, event: dict[str, Any]) -> list[ReplayUpdate]:
        type_ = event.get("type")
        if type_ == "conversation.item.create":
            item = event.get("item")
            if not isinstance(item, dict):
                return []
            said = _said(item)
            if said is not None and said[0] == "user":
                self._unechoed.append(said[1])  # the server's echo of it is not a new turn
            event_id = event.get("event_id")
            if isinstance(event_id, str) and event_id in self._history:
                return []  # a turn already replayed, re-created on a new socket
            return self._item_created(item)
        if type_ == "input_audio_buffer.append" and self.keep_audio:
            audio = event.get("audio")
            if isinstance(audio, str) and audio:  # "" when the log left the mic out
                with contextlib.suppress(binascii.Error, ValueError):
                    return [LearnerAudio(base64.b64decode(audio, validate=True))]
        return []

    def _item_created(self, item: dict[str, Any]) -> list[ReplayUpdate]:
        if item.get("type") == "function_call_output":
            return self._tool_output(str(item.get("call_id") or ""), item.get("output"))
        said = _said(item)
        if said is None or said[0] != "user":
            return []
        self.learner_turns += 1
        return [self.conversation.send_text(said[1])]

    def _tool_output(self, call_id: str, output: Any) -> list[ReplayUpdate]:
        output = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        self.conversation.tool_output(call_id, output)  # state only: nothing is sent
        if call_id in self._logged:
            return []
        return [self._outcome(call_id, None, output_ok(output), output)]

    def _outcome(self, call_id: str, name: str | None, ok: bool | None, output: str) -> ToolLogged:
        shown = self._tools_by_call.get(call_id)
        if shown is None:  # an outcome whose call is not in the log (cut, or a foreign log)
            shown = ToolShown(None, call_id, name or "unknown tool", "")
            self.tools.append(shown)
            self._tools_by_call[call_id] = shown
        shown.ok, shown.output = ok, output
        return ToolLogged(call_id, name or shown.name, ok, output)

    # --- what only the Call knew ------------------------------------------------------------

    def _raw_frame(self, text: str) -> list[ReplayUpdate]:
        if text.startswith("<binary frame"):
            return []
        return [NON_JSON_FRAME]  # the Call showed a frame that was not JSON as an engine error

    def _local(self, event: dict[str, Any]) -> list[ReplayUpdate]:
        record = read_local(event)
        match record:
            case ToolFinished():
                self._logged.add(record.call_id)
                return [self._outcome(record.call_id, record.name, record.ok, record.output)]
            case LinkChanged():
                return [ConnectionState(record.state, record.detail)]
            case ConnectionLost():
                self.conversation.connection_lost()  # as the Call did, so the state matches
            case HistoryRestored():
                self.conversation.resume({})  # as the Call did on the new socket
                self._history.update(record.event_ids)
            case ReplyAbandoned():
                self.conversation.abandon_reply()  # as the Call did
            case EventSkipped():
                pass  # the Conversation skips the server line before it again
            case ConnectionNote() | CallEnded() | None:
                pass
            case _:
                assert_never(record)
        return []

    # --- the summary's figures ------------------------------------------------------------------

    def summary(self, info: LessonInfo, duration_s: float) -> tuple[CallSummary, list[ToolShown]]:
        """The call's summary as the log tells it, and every tool call shown."""
        model = info.model if info.model != "unknown" else self.session_model or "unknown"
        usage = self.conversation.usage
        ran = [
            ToolRan(t.name, t.arguments, read_outcome(t.name, t.output or "", t.ok))
            for t in self.tools
            if t.ok is not None
        ]
        summary = CallSummary(
            scenario=info.scenario,
            title=info.title,
            engine=info.engine,
            model=model,
            started_at=info.started_at or datetime.fromtimestamp(0, UTC),
            duration_s=duration_s,
            learner_turns=self.learner_turns,
            tutor_turns=self.tutor_turns,
            tools=ran,
            usage=usage,
            cost_usd=engine_cost(info.engine, model, usage),
        )
        for tool in self.tools:  # the grade and quiz the call kept: the last ones given
            if tool.ok:
                summary.take(read_outcome(tool.name, tool.output or "", True).effect)
            elif tool.ok is None:
                summary.take(intended_effect(tool.name, tool.arguments))
        return summary, self.tools


def lesson_info(path: Path, header: dict[str, Any] | None) -> LessonInfo:
    """The lesson's details from the log's header; bare logs have none."""
    header = header or {}
    scenario = str(header.get("scenario") or "unknown")
    title, tutor_name = scenario, "Tutor"
    if header.get("scenario"):
        title, tutor_name = _scenario_names(scenario) or (title, tutor_name)
    started: datetime | None = None
    with contextlib.suppress(KeyError, ValueError):
        started = datetime.fromisoformat(str(header["started_at"]))
    return LessonInfo(
        path,
        scenario,
        title,
        tutor_name,
        str(header.get("engine") or "unknown"),
        str(header.get("model") or "unknown"),
        started,
    )


def _scenario_names(scenario_id: str) -> tuple[str, str] | None:
    """The scenario's title and the tutor persona's name, if the catalogue still has it."""
    from tutor_cli.lesson.catalogue import Catalogue, read_json

    try:
        entry = Catalogue.load().get(scenario_id)
        data = read_json(entry.path)
    except BadInput:
        return None  # a lesson since removed or renamed still replays, under its id
    persona = data.get("persona") if isinstance(data, dict) else None
    name = persona.get("name") if isinstance(persona, dict) else None
    return entry.title, name if isinstance(name, str) and name else "Tutor"

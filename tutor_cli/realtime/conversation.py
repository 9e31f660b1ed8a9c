"""The conversation as the client sees it: a sans-I/O state machine.

Feed it server events (`receive`); it returns updates for the views and `Outgoing` client
events for the Call to send. Ask it for client events (`send_text`, `request_response`,
`tool_output`, `interrupt`) and it returns them, holding back a `response.create` while a
response is active and releasing it at `response.done`. No asyncio, sockets or devices here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

from tutor_cli.realtime import events
from tutor_cli.realtime.pricing import Usage, cost_usd

Event = dict[str, Any]
BYTES_PER_MS = 48


# --- updates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """Client events the Call must send now, in order."""

    events: list[Event]


@dataclass(frozen=True)
class TutorDelta:
    item_id: str
    text: str


@dataclass(frozen=True)
class TutorFinal:
    item_id: str
    text: str


@dataclass(frozen=True)
class TutorTruncated:
    """The learner heard only `audio_end_ms` of this tutor turn."""

    item_id: str
    audio_end_ms: int


@dataclass(frozen=True)
class LearnerTurn:
    """A learner turn: typed (text known at once) or spoken (text may follow)."""

    item_id: str | None
    text: str | None
    source: Literal["typed", "speech"]


@dataclass(frozen=True)
class LearnerTranscript:
    """The transcript of a spoken turn, or why there is none (`text` None)."""

    item_id: str
    text: str | None
    error: str | None = None


@dataclass(frozen=True)
class AudioChunk:
    item_id: str
    pcm: bytes


@dataclass(frozen=True)
class SpeechStarted:
    item_id: str | None
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    item_id: str | None
    audio_end_ms: int


@dataclass(frozen=True)
class ToolCallReady:
    """A completed function call: the Call runs it and answers with `tool_output`."""

    call_id: str
    name: str
    arguments: str
    item_id: str | None


@dataclass(frozen=True)
class ResponseState:
    """`thinking` once a response starts, `speaking` with its first output, then `done`."""

    response_id: str | None
    state: Literal["thinking", "speaking", "done"]
    status: str | None = None  # completed, cancelled, incomplete, failed
    reason: str | None = None


@dataclass(frozen=True)
class UsageUpdate:
    total: Usage
    cost_usd: float | None


@dataclass(frozen=True)
class ServerError:
    code: str | None
    message: str


@dataclass(frozen=True)
class SessionReady:
    """`session.updated`: the settings the server will use."""

    session: dict[str, Any]


@dataclass(frozen=True)
class ConnectionState:
    """How the link to the engine is doing (from the Connection, not the server)."""

    state: Literal["connecting", "connected", "reconnecting", "closed", "failed"]
    detail: str | None = None


@dataclass(frozen=True)
class UnknownEvent:
    """An event type this client does not know (it is logged, and otherwise ignored)."""

    type: str


Update = (
    Outgoing
    | TutorDelta
    | TutorFinal
    | TutorTruncated
    | LearnerTurn
    | LearnerTranscript
    | AudioChunk
    | SpeechStarted
    | SpeechStopped
    | ToolCallReady
    | ResponseState
    | UsageUpdate
    | ServerError
    | SessionReady
    | ConnectionState
    | UnknownEvent
)


# --- state ------------------------------------------------------------------------------------


@dataclass
class Turn:
    """A learner or tutor turn, kept to re-create the history on a new socket."""

    role: Literal["user", "assistant"]
    text: str
    item_id: str | None = None


@dataclass
class _Response:
    id: str | None
    speaking: bool = False
    calls: list[str] = field(default_factory=list)  # call ids completed in this response


IGNORED = frozenset(
    {
        "session.created",
        "conversation.created",
        "conversation.item.done",
        "conversation.item.retrieved",
        "conversation.item.deleted",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "input_audio_buffer.timeout_triggered",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.segment",
        "response.output_item.added",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "rate_limits.updated",
    }
)


class Conversation:
    """The client's view of one Realtime conversation."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.turns: list[Turn] = []
        self.usage = Usage()
        self._response: _Response | None = None
        self._requested = False  # a response.create is in flight, not yet answered
        self._queued: list[Event] = []
        self._sent_creates: dict[str, Event] = {}
        self._audio_ms: dict[str, float] = {}  # tutor item id -> audio received
        self._tutor_text: dict[str, str] = {}
        self._pending_outputs: set[str] = set()  # tool calls whose output has not been sent
        self._speech_items: set[str] = set()

    # --- what the client asks for ---------------------------------------------------------------

    @property
    def responding(self) -> bool:
        """A response is in progress or has been asked for."""
        return self._response is not None or self._requested

    @property
    def awaiting_tools(self) -> bool:
        """Tool calls are waiting for their outputs."""
        return bool(self._pending_outputs)

    def send_text(self, text: str) -> tuple[list[Update], list[Event]]:
        """A typed learner turn: its update for the views and the events to send."""
        self.turns.append(Turn("user", text))
        return [LearnerTurn(None, text, "typed")], [
            events.user_text(text),
            *self.request_response(),
        ]

    def request_response(self, **overrides: Any) -> list[Event]:
        """`response.create` now, or held until the active response is done."""
        event = events.response_create(**overrides)
        if self.responding:
            self._queued.append(event)
            return []
        return [self._mark_sent(event)]

    def tool_output(self, call_id: str, output: str) -> list[Event]:
        """A tool's result, and the reply request once every call of the response is answered."""
        self._pending_outputs.discard(call_id)
        sent = [events.function_call_output(call_id, output)]
        if not self._pending_outputs:
            sent += self.request_response()
        return sent

    def interrupt(self, item_id: str | None, played_ms: float, manual_turns: bool) -> list[Event]:
        """The learner barged in: tell the server how much of `item_id` was heard.

        No truncate when that item had finished playing; `played_ms` is clamped to what was
        received. With manual turns the server will not cancel by itself, so we do.
        """
        sent: list[Event] = []
        if manual_turns and self._response is not None:
            sent.append(events.response_cancel())
        if item_id is not None and item_id in self._audio_ms:
            received = self._audio_ms[item_id]
            if played_ms < received:
                sent.append(events.item_truncate(item_id, int(max(0.0, played_ms))))
        return sent

    def history_events(self) -> list[Event]:
        """The learner and tutor turns so far, to re-create the conversation on a new socket."""
        return [
            events.user_text(t.text) if t.role == "user" else events.assistant_text(t.text)
            for t in self.turns
            if t.text
        ]

    def connection_lost(self) -> bool:
        """The socket is gone. Returns whether a reply was lost and must be asked for again."""
        lost = self.responding
        self._response = None
        self._requested = False
        self._pending_outputs.clear()
        self._sent_creates.clear()
        return lost

    def _mark_sent(self, event: Event) -> Event:
        if "response" not in event:
            # Plain requests are interchangeable: one reply covers every item added so far.
            self._queued = [e for e in self._queued if "response" in e]
        self._requested = True
        self._sent_creates[event["event_id"]] = event
        return event

    # --- what the server says -------------------------------------------------------------------

    def receive(self, raw: Event) -> list[Update]:
        """Updates for one server event (beta names are normalised first)."""
        out: list[Update] = []
        for event in events.normalize_server_event(raw):
            out += self._receive(event)
        return out

    def _receive(self, event: Event) -> list[Update]:
        type_ = event.get("type")
        if not isinstance(type_, str):
            return [ServerError("malformed_event", "an event without a type was received")]
        handler = _HANDLERS.get(type_)
        if handler is not None:
            return handler(self, event)
        if type_ in IGNORED:
            return []
        return [UnknownEvent(type_)]

    def _session_updated(self, event: Event) -> list[Update]:
        session = event.get("session")
        return [SessionReady(session if isinstance(session, dict) else {})]

    def _response_created(self, event: Event) -> list[Update]:
        response = event.get("response") or {}
        self._requested = False
        self._response = _Response(response.get("id"))
        return [ResponseState(self._response.id, "thinking")]

    def _speaking(self) -> list[Update]:
        if self._response is None or self._response.speaking:
            return []
        self._response.speaking = True
        return [ResponseState(self._response.id, "speaking")]

    def _tutor_delta(self, event: Event) -> list[Update]:
        item_id, delta = str(event.get("item_id") or ""), event.get("delta")
        if not isinstance(delta, str):
            return []
        self._tutor_text[item_id] = self._tutor_text.get(item_id, "") + delta
        return [*self._speaking(), TutorDelta(item_id, delta)]

    def _tutor_done(self, event: Event) -> list[Update]:
        item_id = str(event.get("item_id") or "")
        text = event.get("transcript", event.get("text"))
        if not isinstance(text, str):
            text = self._tutor_text.get(item_id, "")
        self._tutor_text[item_id] = text
        self.turns.append(Turn("assistant", text, item_id))
        return [TutorFinal(item_id, text)]

    def _audio_delta(self, event: Event) -> list[Update]:
        item_id, delta = str(event.get("item_id") or ""), event.get("delta")
        try:
            pcm = base64.b64decode(delta or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            return [ServerError("bad_audio", f"undecodable audio delta for item {item_id}")]
        self._audio_ms[item_id] = self._audio_ms.get(item_id, 0.0) + len(pcm) / BYTES_PER_MS
        return [*self._speaking(), AudioChunk(item_id, pcm)]

    def _truncated(self, event: Event) -> list[Update]:
        item_id = str(event.get("item_id") or "")
        end_ms = int(event.get("audio_end_ms") or 0)
        self._audio_ms[item_id] = min(self._audio_ms.get(item_id, 0.0), end_ms)
        return [TutorTruncated(item_id, end_ms)]

    def _item_added(self, event: Event) -> list[Update]:
        item = event.get("item") or {}
        if item.get("role") != "user" or item.get("id") in self._speech_items:
            return []
        content = item.get("content") or []
        if any(isinstance(p, dict) and p.get("type") == "input_audio" for p in content):
            self._speech_items.add(item["id"])
            return [LearnerTurn(item.get("id"), None, "speech")]
        return []  # typed turns were announced when they were sent

    def _transcribed(self, event: Event) -> list[Update]:
        item_id = str(event.get("item_id") or "")
        text = str(event.get("transcript") or "")
        self.turns.append(Turn("user", text, item_id))
        return [LearnerTranscript(item_id, text)]

    def _transcription_failed(self, event: Event) -> list[Update]:
        error = event.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return [LearnerTranscript(str(event.get("item_id") or ""), None, message or "failed")]

    def _output_item_done(self, event: Event) -> list[Update]:
        item = event.get("item") or {}
        if item.get("type") != "function_call" or item.get("status") != "completed":
            return []  # an interrupted call is never run
        call_id = str(item.get("call_id") or "")
        self._pending_outputs.add(call_id)
        if self._response is not None:
            self._response.calls.append(call_id)
        return [
            ToolCallReady(
                call_id, str(item.get("name") or ""), item.get("arguments") or "", item.get("id")
            )
        ]

    def _response_done(self, event: Event) -> list[Update]:
        response = event.get("response") or {}
        status = response.get("status")
        details = response.get("status_details") or {}
        out: list[Update] = [
            ResponseState(
                response.get("id"),
                "done",
                status,
                (details.get("reason") or details.get("type"))
                if isinstance(details, dict)
                else None,
            )
        ]
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.usage = self.usage.add(usage)
            out.append(UsageUpdate(self.usage, cost_usd(self.model, self.usage)))
        self._response = None
        if self._queued and not self._pending_outputs:
            out.append(Outgoing([self._mark_sent(self._queued.pop(0))]))
        return out

    def _speech_started(self, event: Event) -> list[Update]:
        return [SpeechStarted(event.get("item_id"), int(event.get("audio_start_ms") or 0))]

    def _speech_stopped(self, event: Event) -> list[Update]:
        return [SpeechStopped(event.get("item_id"), int(event.get("audio_end_ms") or 0))]

    def _error(self, event: Event) -> list[Update]:
        error = event.get("error") if isinstance(event.get("error"), dict) else {}
        code, message = error.get("code"), str(error.get("message") or "unknown error")
        refused = self._sent_creates.pop(str(error.get("event_id")), None)
        if refused is not None:
            self._requested = False
            if code == "conversation_already_has_active_response":
                self._queued.insert(0, refused)  # ask again when the active one is done
        return [ServerError(code, message)]


_HANDLERS = {
    "session.updated": Conversation._session_updated,
    "response.created": Conversation._response_created,
    "response.output_audio_transcript.delta": Conversation._tutor_delta,
    "response.output_text.delta": Conversation._tutor_delta,
    "response.output_audio_transcript.done": Conversation._tutor_done,
    "response.output_text.done": Conversation._tutor_done,
    "response.output_audio.delta": Conversation._audio_delta,
    "conversation.item.truncated": Conversation._truncated,
    "conversation.item.added": Conversation._item_added,
    "conversation.item.input_audio_transcription.completed": Conversation._transcribed,
    "conversation.item.input_audio_transcription.failed": Conversation._transcription_failed,
    "response.output_item.done": Conversation._output_item_done,
    "response.done": Conversation._response_done,
    "input_audio_buffer.speech_started": Conversation._speech_started,
    "input_audio_buffer.speech_stopped": Conversation._speech_stopped,
    "error": Conversation._error,
}

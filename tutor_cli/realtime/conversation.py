"""The conversation as the client sees it: a sans-I/O state machine with one outbox.

Feed it server events (`receive`); it returns updates for the views. Tell it what the learner
and the Call do (`send_text`, `request_response`, `tool_output`, `interrupt`, `append_audio`,
…); those return updates only, and the client events they mean accumulate in one outbox that
the Call drains with `events_to_send()` and sends in order, as the websockets library's
protocol does with `data_to_send()`. A `response.create` is held while a response is active
and released at `response.done`. No asyncio, sockets or devices here.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from tutor_cli.lesson.updates import (
    AudioChunk,
    ConversationUpdate,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    ResponseState,
    ServerError,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCallReady,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime import events, server_events
from tutor_cli.realtime.conversation_state import (
    ResponseUnderWay,
    Resumed,
    Turn,
    keep_recent,
)
from tutor_cli.realtime.events import BYTES_PER_MS
from tutor_cli.realtime.pricing import Usage, cost_usd
from tutor_cli.tools.specs import LEARNER_SIDE_TOOLS

Event = dict[str, Any]


class Conversation:
    """The client's view of one Realtime conversation, over as many sockets as it takes."""

    def __init__(self, model: str, *, billed: bool = True) -> None:
        """`billed`: the engine charges for tokens, so usage comes with a cost estimate."""
        self.model = model
        self.billed = billed
        self.turns: list[Turn] = []
        self.usage = Usage()
        self._outbox: list[Event] = []
        self._connected = False  # a socket is open and the session is set up on it
        self._response: ResponseUnderWay | None = None
        self._in_flight: Event | None = None  # a response.create sent, not yet answered
        self._queued: list[Event] = []
        self._reply_owed = False  # asked for while no socket could take it: ask on the next
        # Against a classroom relay (`join_relay`): it keeps the session over a drop, runs the
        # tools but the learner's own, and asks for the reply after them.
        self._relayed = False
        self._held: list[Event] = []  # said while the relay's socket was down: sent on return
        self._relay_asks = False  # the relay is asking for the next reply itself
        self._relay_ran = False  # the current response called a tool the relay runs
        self._abandoned: dict[str, None] = {}  # responses given up on: their events are late
        # Per tutor item, only for the last few: the one playing is all a barge-in can cut.
        self._audio_ms: dict[str, float] = {}  # tutor item id -> audio received
        self._tutor_text: dict[str, str] = {}  # tutor item id -> text so far, until done
        self._pending_outputs: set[str] = set()  # tool calls whose output has not been sent
        self._speech_items: dict[str, None] = {}  # recent spoken learner items, oldest first

    # --- state ------------------------------------------------------------------------------

    @property
    def responding(self) -> bool:
        """A response is in progress or has been asked for (by us, or by a relay)."""
        return self._response is not None or self._in_flight is not None or self._relay_asks

    @property
    def awaiting_tools(self) -> bool:
        """Tool calls are waiting for their outputs."""
        return bool(self._pending_outputs)

    @property
    def busy(self) -> bool:
        """The tutor owes a reply: one is in progress, asked for, held back, owed to a socket
        not open yet, or waiting for tool outputs. The one place a call's idle state comes
        from."""
        return (
            self.responding or bool(self._queued) or self._reply_owed or bool(self._pending_outputs)
        )

    def events_to_send(self) -> list[Event]:
        """The client events queued since the last call, in order; the outbox is emptied."""
        out, self._outbox = self._outbox, []
        return out

    # --- what the client does -----------------------------------------------------------------

    def configure(self, session: dict[str, Any]) -> None:
        """A first socket is open: set the session up (a `session.update`, first of all)."""
        self._outbox.append(events.session_update(session))
        self._connected = True

    def join_relay(self) -> None:
        """The engine is a classroom relay: it set the session up from the lesson and asks
        for the tutor's opening itself, so nothing is sent now, and a reply is on its way."""
        self._relayed = self._connected = True
        self._relay_asks = True

    def rejoin_relay(self) -> None:
        """Back on the relay's session after a drop: nothing was lost there, so nothing is
        re-created; what was said meanwhile goes out, and a reply owed is asked for."""
        self._connected = True
        self._outbox.extend(self._held)
        self._held.clear()
        owed, self._reply_owed = self._reply_owed, False
        if owed:
            self.request_response()

    def _keep(self, event: Event) -> None:
        """Queue `event`; without a socket, hold it for the relay's session (an engine's new
        session is given the history instead)."""
        if self._connected:
            self._outbox.append(event)
        elif self._relayed:
            self._held.append(event)

    def send_text(self, text: str) -> LearnerTurn:
        """A typed learner turn: the item, and a reply asked for. Without a socket it is
        kept, and sent with the history when one opens."""
        self.turns.append(Turn("user", text))
        self._keep(events.user_text(text))
        self.request_response()
        return LearnerTurn(None, text, "typed")

    def request_response(self, **overrides: Any) -> None:
        """`response.create` now, or held until the active response is done (or until a
        socket opens: a reply asked for without one is owed, and asked for then)."""
        if not self._connected:
            self._reply_owed = True
            return
        event = events.response_create(**overrides)
        if self.responding:
            self._queued.append(event)
        else:
            self._send_create(event)

    def tool_output(self, call_id: str, output: str) -> None:
        """A tool's result, and the reply request once every call of the response is answered.
        A socket lost meanwhile took the call with it: only the reply is still owed."""
        if call_id not in self._pending_outputs:
            if not self._connected:
                self._reply_owed = True
            return
        self._pending_outputs.discard(call_id)
        self._keep(events.function_call_output(call_id, output))
        if self._pending_outputs:
            return
        if not self._relay_ran:
            self.request_response()
        elif self._response is None:  # the response that called the relay's tool is over
            self._relay_ran, self._relay_asks = False, True

    def interrupt(self, item_id: str | None, played_ms: float, manual_turns: bool) -> None:
        """The learner barged in: tell the server how much of `item_id` was heard.

        No truncate when that item had finished playing; `played_ms` is clamped to what was
        received. With manual turns the server will not cancel by itself, so we do.
        """
        if not self._connected:
            return
        if manual_turns and self._response is not None:
            self._outbox.append(events.response_cancel())
        if item_id is not None and item_id in self._audio_ms:
            received = self._audio_ms[item_id]
            if played_ms < received:
                self._outbox.append(events.item_truncate(item_id, int(max(0.0, played_ms))))

    def append_audio(self, pcm16: bytes) -> None:
        """Microphone audio (24 kHz mono PCM16) for the server's input buffer; without a
        socket it is gone (a moment of silence, not a turn)."""
        if self._connected:
            self._outbox.append(events.input_audio_append(pcm16))

    def start_spoken_turn(self) -> None:
        """Push-to-talk pressed: what the buffer held before is not part of this turn."""
        if self._connected:
            self._outbox.append(events.input_audio_clear())

    def end_spoken_turn(self) -> None:
        """Push-to-talk released: the buffer is the learner's turn, and a reply is due."""
        if self._connected:
            self._outbox.append(events.input_audio_commit())
            self.request_response()

    def abandon_reply(self) -> bool:
        """The engine has gone quiet on a reply: stop waiting for it. A response it started is
        cancelled; a request it never answered is forgotten; a request held back behind it
        goes out. Returns whether there was a reply to give up on."""
        if not self.responding:
            return False
        response, self._response, self._in_flight = self._response, None, None
        self._relay_asks = False
        if response is not None and self._connected:
            self._outbox.append(events.response_cancel(response.id))
            if response.id is not None:
                self._abandoned[response.id] = None
                keep_recent(self._abandoned)
        if self._queued and not self._pending_outputs:
            self._send_create(self._queued.pop(0))
        return True

    def connection_lost(self) -> None:
        """The socket is gone: nothing is in progress on the server any more. A reply that
        was under way, or asked for, is owed, and asked for again by `resume`. A relay's
        session is not gone: all is kept for `rejoin_relay`."""
        if self._relayed:
            self._held.extend(e for e in self._outbox if e["type"] != "input_audio_buffer.append")
            self._outbox.clear()
            self._connected = False
            return
        self._reply_owed = self._reply_owed or self.busy
        self._connected = False
        self._response = None
        self._in_flight = None
        self._queued.clear()
        self._pending_outputs.clear()
        self._outbox.clear()

    def resume(self, session: dict[str, Any]) -> Resumed:
        """A new socket: set the session up, re-create the learner's and the tutor's turns
        (those typed while there was no socket included), and ask for a reply still owed."""
        self.configure(session)
        history = [
            events.user_text(t.text) if t.role == "user" else events.assistant_text(t.text)
            for t in self.turns
            if t.text
        ]
        self._outbox.extend(history)
        owed, self._reply_owed = self._reply_owed, False
        if owed:
            self.request_response()
        return Resumed(tuple(str(e["event_id"]) for e in history), owed)

    def _send_create(self, event: Event) -> None:
        if "response" not in event:
            # Plain requests are interchangeable: one reply covers every item added so far.
            self._queued = [e for e in self._queued if "response" in e]
        self._in_flight = event
        self._outbox.append(event)

    # --- what the server says -------------------------------------------------------------------

    def receive(self, raw: Event) -> list[ConversationUpdate]:
        """Updates for one server event (beta names are normalised first). A known event
        with fields of the wrong type is skipped, as a `MalformedEvent`."""
        type_ = raw.get("type")
        if not isinstance(type_, str):
            return [MalformedEvent("(none)", "the event has no 'type'")]
        if (wrong := server_events.problem(raw)) is not None:
            return [MalformedEvent(type_, wrong)]
        out: list[ConversationUpdate] = []
        for event in events.normalize_server_event(raw):
            if (wrong := server_events.problem(event)) is not None:
                out.append(MalformedEvent(str(event["type"]), wrong))
            else:
                out += self._receive(event)
        return out

    def _receive(self, event: Event) -> list[ConversationUpdate]:
        type_ = str(event["type"])
        handler = _HANDLERS.get(type_)
        if handler is not None:
            return handler(self, event)
        if type_ in server_events.IGNORED:
            return []
        return [UnknownEvent(type_)]

    def _session_updated(self, event: Event) -> list[ConversationUpdate]:
        session = event.get("session")
        return [SessionReady(session if isinstance(session, dict) else {})]

    def _response_created(self, event: Event) -> list[ConversationUpdate]:
        response_id = event["response"].get("id")
        if response_id in self._abandoned:
            return []  # late news of a response already given up on
        self._in_flight = None
        self._relay_asks = False
        self._response = ResponseUnderWay(response_id)
        return [ResponseState(response_id, "thinking")]

    def _speaking(self) -> list[ConversationUpdate]:
        if self._response is None or self._response.speaking:
            return []
        self._response.speaking = True
        return [ResponseState(self._response.id, "speaking")]

    def _tutor_delta(self, event: Event) -> list[ConversationUpdate]:
        item_id, delta = str(event.get("item_id") or ""), event.get("delta")
        if not isinstance(delta, str):
            return []
        self._tutor_text[item_id] = self._tutor_text.get(item_id, "") + delta
        keep_recent(self._tutor_text)  # a reply cut off by a lost socket never finishes
        return [*self._speaking(), TutorDelta(item_id, delta)]

    def _tutor_done(self, event: Event) -> list[ConversationUpdate]:
        item_id = str(event.get("item_id") or "")
        text = event.get("transcript", event.get("text"))
        streamed = self._tutor_text.pop(item_id, "")
        if not isinstance(text, str):
            text = streamed
        self.turns.append(Turn("assistant", text, item_id))
        return [TutorFinal(item_id, text)]

    def _audio_delta(self, event: Event) -> list[ConversationUpdate]:
        item_id, delta = str(event.get("item_id") or ""), event.get("delta")
        try:
            pcm = base64.b64decode(delta or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            return [ServerError("bad_audio", f"undecodable audio delta for item {item_id}")]
        self._audio_ms[item_id] = self._audio_ms.get(item_id, 0.0) + len(pcm) / BYTES_PER_MS
        keep_recent(self._audio_ms)
        return [*self._speaking(), AudioChunk(item_id, pcm)]

    def _truncated(self, event: Event) -> list[ConversationUpdate]:
        item_id = str(event["item_id"])
        end_ms = int(event["audio_end_ms"])
        self._audio_ms[item_id] = min(self._audio_ms.get(item_id, 0.0), end_ms)
        return [TutorTruncated(item_id, end_ms)]

    def _item_added(self, event: Event) -> list[ConversationUpdate]:
        item = event["item"]
        item_id = item.get("id")
        if item.get("role") != "user" or item_id in self._speech_items:
            return []
        content = item.get("content") or []
        if any(isinstance(p, dict) and p.get("type") == "input_audio" for p in content):
            if item_id is not None:
                self._speech_items[item_id] = None
                keep_recent(self._speech_items)
            return [LearnerTurn(item_id, None, "speech")]
        return []  # typed turns were announced when they were sent

    def _transcribed(self, event: Event) -> list[ConversationUpdate]:
        item_id = str(event.get("item_id") or "")
        text = str(event.get("transcript") or "")
        self.turns.append(Turn("user", text, item_id))
        return [LearnerTranscript(item_id, text)]

    def _transcription_failed(self, event: Event) -> list[ConversationUpdate]:
        error = event.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return [LearnerTranscript(str(event.get("item_id") or ""), None, message or "failed")]

    def _output_item_done(self, event: Event) -> list[ConversationUpdate]:
        item = event["item"]
        if item.get("type") != "function_call" or item.get("status") != "completed":
            return []  # an interrupted call is never run
        call_id = str(item.get("call_id") or "")
        arguments = item.get("arguments")
        if not isinstance(arguments, str):
            # Arguments are a JSON string; a server that sends the object itself still meant
            # them (the tool checks them as it would any).
            arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
        name = str(item.get("name") or "")
        if self._relayed and name not in LEARNER_SIDE_TOOLS:
            self._relay_ran = True  # the relay runs it, answers it and asks for the reply
        else:
            self._pending_outputs.add(call_id)
        return [ToolCallReady(call_id, name, arguments, item.get("id"))]

    def _response_done(self, event: Event) -> list[ConversationUpdate]:
        response = event["response"]
        response_id = response.get("id")
        details = response.get("status_details") or {}
        reason = details.get("reason") or details.get("type")
        out: list[ConversationUpdate] = []
        usage = response.get("usage")
        if isinstance(usage, dict):  # billed even when given up on
            self.usage = self.usage.add(usage)
            cost = cost_usd(self.model, self.usage) if self.billed else None
            out.append(UsageUpdate(self.usage, cost))
        if response_id in self._abandoned:
            self._abandoned.pop(response_id)
            return out
        out.insert(0, ResponseState(response_id, "done", response.get("status"), reason))
        self._response = None
        if self._relay_ran and not self._pending_outputs:
            self._relay_ran, self._relay_asks = False, True
        elif self._queued and not self._pending_outputs:
            self._send_create(self._queued.pop(0))
        return out

    def _speech_started(self, event: Event) -> list[ConversationUpdate]:
        return [SpeechStarted(event.get("item_id"), int(event.get("audio_start_ms") or 0))]

    def _speech_stopped(self, event: Event) -> list[ConversationUpdate]:
        return [SpeechStopped(event.get("item_id"), int(event.get("audio_end_ms") or 0))]

    def _error(self, event: Event) -> list[ConversationUpdate]:
        error = events.object_field(event, "error")
        code, message = error.get("code"), str(error.get("message") or "unknown error")
        refused = self._in_flight
        if refused is not None and refused["event_id"] == error.get("event_id"):
            self._in_flight = None
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

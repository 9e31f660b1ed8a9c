"""The engine's side of one Realtime session, sans I/O: client frames in, server events out.

Like the protocol classes of h11 and the websockets library it does no I/O of its own: no
asyncio, no sockets, no threads. `receive` takes one client frame and returns `Output`s, to be
carried out strictly in order: a server event (a dict) to send, or a job for the responder:

- `Respond`: stream this response, calling the streaming methods below;
- `Cancel`: wake the response up to stop; nothing after it may be carried out before that
  response's `response.done` has gone out (the protocol counts on it);
- `Transcribe`: recognise the learner's speech, then hand the text to `transcribed`.

While a response streams, the responder calls the methods `EngineProtocol` takes from
`ResponseStreaming`: `response_started`, `open_message`, `transcript_delta`, `audio_delta`,
`text_delta`, `close_message`, `tool_call`, `response_finished` and, however the stream
ended, `response_closed`; each returns the events to send.

The protocol owns the session settings, the conversation items, the input audio buffer and its
turn detection, at most one active response, the scripted tutor choosing what it says, and the
usage figures.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

from tutor_cli.engine.arguments import declared_tools
from tutor_cli.engine.client_events import ClientError, Event, optional, required
from tutor_cli.engine.input_audio import InputAudio
from tutor_cli.engine.items import checked_message, public
from tutor_cli.engine.settings import merge_session
from tutor_cli.engine.streaming import CancelReason, Response, ResponseStreaming
from tutor_cli.engine.tutor import Cue, ScriptedTutor
from tutor_cli.engine.vad import SpeechStarted, SpeechStopped, TurnEvent
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime.events import BYTES_PER_MS

MIN_COMMIT_MS = 100


@dataclass(frozen=True)
class Respond:
    """Job: stream this response."""

    response: Response


@dataclass(frozen=True)
class Cancel:
    """Job: stop this response; carry out nothing later until its `response.done` is out."""

    response: Response


@dataclass(frozen=True)
class Transcribe:
    """Job: recognise the learner's speech (24 kHz PCM16), then call `transcribed`."""

    item_id: str
    pcm: bytes
    language: str


Job = Respond | Cancel | Transcribe
Output = Event | Job


@dataclass
class _Transcription:
    item: Event
    audio_bytes: int
    then_respond: bool


class EngineProtocol(ResponseStreaming):
    """The server side of one Realtime session."""

    def __init__(self, scenario: Scenario | None, model: str) -> None:
        super().__init__(model)
        self.scenario = scenario
        self.tutor = ScriptedTutor(scenario)
        self._input = InputAudio()
        self._speech_item: str | None = None  # the id given to the turn speech started
        self._transcriptions: dict[str, _Transcription] = {}
        self._held_turns: list[TurnEvent] = []  # turn events waiting for a transcript
        self._learner: list[str | None] = []  # learner turns since the tutor last replied
        self._tool_results: list[tuple[str, str]] = []

    @property
    def language(self) -> str:
        """The language the tutor speaks and the learner answers in (BCP-47)."""
        return self.scenario.language if self.scenario else "en"

    @property
    def speech_speed(self) -> float:
        """How fast the tutor speaks, as the session says now."""
        return float(self.session["audio"]["output"].get("speed") or 1.0)

    def start(self) -> list[Output]:
        """Greet a new connection."""
        return [self._event({"type": "session.created", "session": copy.deepcopy(self.session)})]

    def receive(self, frame: str | bytes) -> list[Output]:
        """One client frame; a bad one is answered with an `error` event naming its event_id."""
        client_event_id = None
        try:
            if isinstance(frame, bytes):
                raise ClientError("invalid_event", "binary frames are not accepted; send JSON text")
            try:
                event = json.loads(frame)
            except json.JSONDecodeError as exc:
                raise ClientError(
                    "invalid_json", f"the frame is not valid JSON: {exc.msg}"
                ) from None
            if not isinstance(event, dict):
                raise ClientError("invalid_event", "an event must be a JSON object")
            client_event_id = event.get("event_id")
            type_ = event.get("type")
            if not isinstance(type_, str):
                raise ClientError("missing_required_parameter", "missing 'type'", "type")
            handler = _HANDLERS.get(type_)
            if handler is None:
                raise ClientError("invalid_value", f"unknown client event type {type_!r}", "type")
            return handler(self, event)
        except ClientError as exc:
            error = {
                "type": "invalid_request_error",
                "code": exc.code,
                "message": exc.message,
                "param": exc.param,
                "event_id": client_event_id if isinstance(client_event_id, str) else None,
            }
            return [self._event({"type": "error", "error": error})]

    # --- session ------------------------------------------------------------------------------

    def _session_update(self, event: Event) -> list[Output]:
        update = required(event, "session", dict)
        if update.get("type", "realtime") != "realtime":
            raise ClientError("invalid_value", "session.type must be 'realtime'", "session.type")
        _check_modalities(update.get("output_modalities"), "session.output_modalities")
        previous, self.session = self.session, merge_session(self.session, update)
        try:
            turn_detection = self.session["audio"]["input"].get("turn_detection")
            if turn_detection is not None and not isinstance(turn_detection, dict):
                raise TypeError("must be an object or null")
            self._input.detector(self._turn_detection())  # building it checks the numbers
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.session = previous
            raise ClientError(
                "invalid_value",
                f"audio.input.turn_detection: {exc}",
                "session.audio.input.turn_detection",
            ) from None
        return [self._event({"type": "session.updated", "session": copy.deepcopy(self.session)})]

    def _turn_detection(self) -> dict[str, Any]:
        """The session's turn detection settings; empty with manual turns."""
        settings: dict[str, Any] = self.session["audio"]["input"].get("turn_detection") or {}
        return settings

    # --- input audio --------------------------------------------------------------------------

    def _append(self, event: Event) -> list[Output]:
        audio = required(event, "audio", str)
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ClientError("invalid_value", "'audio' is not valid base64", "audio") from None
        return self._turns(self._input.append(pcm, self._turn_detection()))

    def _turns(self, changes: list[TurnEvent]) -> list[Output]:
        out: list[Output] = []
        for position, change in enumerate(changes):
            match change:
                case SpeechStarted():
                    out += self._speech_started(change)
                case SpeechStopped():
                    out += self._speech_stopped(change)
                    if self._transcriptions:
                        # The turn is not over until its transcript is in; what the same
                        # audio said next waits for it.
                        self._held_turns = changes[position + 1 :]
                        break
                case _:
                    assert_never(change)
        return out

    def _speech_started(self, change: SpeechStarted) -> list[Output]:
        self._speech_item = self._id("item")
        out: list[Output] = [
            self._event(
                {
                    "type": "input_audio_buffer.speech_started",
                    "audio_start_ms": change.audio_start_ms,
                    "item_id": self._speech_item,
                }
            )
        ]
        if self.response is not None and self._turn_detection().get("interrupt_response", True):
            out += self._cancel("turn_detected")
        return out

    def _speech_stopped(self, change: SpeechStopped) -> list[Output]:
        item_id = self._speech_item or self._id("item")
        self._speech_item = None
        stopped = {
            "type": "input_audio_buffer.speech_stopped",
            "audio_end_ms": change.audio_end_ms,
            "item_id": item_id,
        }
        out: list[Output] = [self._event(stopped)]
        then_respond = bool(self._turn_detection().get("create_response", True))
        return out + self._commit_input(item_id, then_respond)

    def _commit(self, event: Event) -> list[Output]:
        if len(self._input) < MIN_COMMIT_MS * BYTES_PER_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: at least {MIN_COMMIT_MS} ms of audio is needed, "
                f"{len(self._input) // BYTES_PER_MS} ms were appended",
            )
        return self._commit_input(self._id("item"), then_respond=False)

    def _commit_input(self, item_id: str, then_respond: bool) -> list[Output]:
        """The input buffer becomes a learner item, transcribed if the session asks for it."""
        audio = self._input.take()
        previous = self.items.last_id
        committed = {
            "type": "input_audio_buffer.committed",
            "item_id": item_id,
            "previous_item_id": previous,
        }
        out: list[Output] = [self._event(committed)]
        item = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        out += self._add_item(item, previous, len(audio) // BYTES_PER_MS)
        if self.session["audio"]["input"].get("transcription"):
            self._transcriptions[item_id] = _Transcription(item, len(audio), then_respond)
            return [*out, Transcribe(item_id, audio, self.language)]
        return out + self._learner_said(None, then_respond)

    def transcribed(self, item_id: str, transcript: str | None) -> list[Output]:
        """What the recogniser made of a learner item (None: there is no recogniser for the
        language, and the turn counts as an unchecked attempt)."""
        pending = self._transcriptions.pop(item_id)
        where = {"item_id": item_id, "content_index": 0}
        out: list[Output]
        if transcript is not None:
            pending.item["content"][0]["transcript"] = transcript
            seconds = round(pending.audio_bytes / (BYTES_PER_MS * 1000), 3)
            completed = {
                "type": "conversation.item.input_audio_transcription.completed",
                **where,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": seconds},
            }
            out = [self._event(completed)]
        else:
            error = {
                "type": "transcription_error",
                "code": "no_offline_recognizer",
                "message": f"the offline engine has no speech recogniser for {self.language}; "
                "the spoken turn counts as an attempt",
                "param": None,
            }
            failed = {
                "type": "conversation.item.input_audio_transcription.failed",
                **where,
                "error": error,
            }
            out = [self._event(failed)]
        out += self._learner_said(transcript, pending.then_respond)
        held, self._held_turns = self._held_turns, []
        return out + self._turns(held)

    def _learner_said(self, transcript: str | None, then_respond: bool) -> list[Output]:
        self._learner.append(transcript or None)
        if then_respond and self.response is None:
            return self._start_response({})
        return []

    def _clear(self, event: Event) -> list[Output]:
        self._input.clear()
        return [self._event({"type": "input_audio_buffer.cleared"})]

    # --- conversation items -------------------------------------------------------------------

    def _add_item(self, item: Event, previous: str | None, input_audio_ms: int = 0) -> list[Output]:
        self.items.insert(item, previous, input_audio_ms)
        return [
            self._event({"type": type_, "previous_item_id": previous, "item": public(item)})
            for type_ in ("conversation.item.added", "conversation.item.done")
        ]

    def _item_create(self, event: Event) -> list[Output]:
        item = required(event, "item", dict)
        previous = optional(event, "previous_item_id", str)
        kind = item.get("type")
        if previous is None:
            previous = self.items.last_id
        stored: Event = {"id": item.get("id") or self._id("item"), "type": kind}
        if kind == "message":
            stored.update(checked_message(item))
            if stored["role"] == "assistant":
                self._restore_tutor_turn()
            if stored["role"] == "user":
                said = " ".join(p.get("text") or p.get("transcript") or "" for p in item["content"])
                self._learner.append(said.strip() or None)
        elif kind == "function_call_output":
            call_id = required(item, "call_id", str)
            output = required(item, "output", str)
            stored.update(call_id=call_id, output=output)
            self._tool_results.append((self._calls.get(call_id, "unknown"), output))
        elif kind == "function_call":
            stored.update(
                call_id=required(item, "call_id", str),
                name=required(item, "name", str),
                arguments=item.get("arguments") or "{}",
                status="completed",
            )
        else:
            raise ClientError("invalid_value", f"unsupported item type {kind!r}", "item.type")
        return self._add_item(stored, previous)

    def _restore_tutor_turn(self) -> None:
        """A client re-creating its history (after a reconnect) adds the tutor's past turns:
        the learner turns before each were answered by it, so the tutor walks through them
        silently and picks the lesson up where it was."""
        if self.tutor.started:
            self.tutor.respond(Cue(learner=self._learner))
        self.tutor.started = True
        self._learner = []

    def _item_truncate(self, event: Event) -> list[Output]:
        item_id = required(event, "item_id", str)
        audio_end_ms = required(event, "audio_end_ms", int)
        content_index = optional(event, "content_index", int) or 0
        self.items.truncate(item_id, content_index, audio_end_ms)
        truncated = {
            "type": "conversation.item.truncated",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": audio_end_ms,
        }
        return [self._event(truncated)]

    def _item_delete(self, event: Event) -> list[Output]:
        item_id = required(event, "item_id", str)
        self.items.delete(item_id)
        return [self._event({"type": "conversation.item.deleted", "item_id": item_id})]

    def _item_retrieve(self, event: Event) -> list[Output]:
        item = self.items.find(required(event, "item_id", str))
        return [self._event({"type": "conversation.item.retrieved", "item": public(item)})]

    # --- responses ----------------------------------------------------------------------------

    def _response_create(self, event: Event) -> list[Output]:
        params = optional(event, "response", dict) or {}
        if self.response is not None:
            raise ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        _check_modalities(params.get("output_modalities"), "response.output_modalities")
        tools = params.get("tools", self.session.get("tools") or [])
        declared = {t.get("name") for t in tools if isinstance(t, dict)}
        choice = params.get("tool_choice", self.session.get("tool_choice", "auto"))
        if isinstance(choice, dict) and choice.get("name") not in declared:
            raise ClientError(
                "invalid_value",
                f"tool_choice names a tool that is not declared: {choice.get('name')!r}",
                "response.tool_choice",
            )
        return self._start_response(params)

    def _response_cancel(self, event: Event) -> list[Output]:
        wanted = optional(event, "response_id", str)
        if self.response is None or wanted not in (None, self.response.id):
            raise ClientError(
                "response_cancel_not_active", "There is no active response to cancel."
            )
        return self._cancel("client_cancelled")

    def _cancel(self, reason: CancelReason) -> list[Output]:
        response = self.response
        if response is None:
            return []
        response.cancel_reason = reason
        # The responder finishes it before it carries out anything after this job, so for
        # whatever comes next there is no active response any more.
        self.response = None
        return [Cancel(response)]

    def _cue(self, params: Event) -> Cue:
        tools = declared_tools(params.get("tools", self.session.get("tools") or []))
        names = sorted(tools)
        choice = params.get("tool_choice", self.session.get("tool_choice", "auto"))
        forced = None
        if isinstance(choice, dict):
            named = choice.get("name")
            forced = named if isinstance(named, str) and named in tools else None
        elif choice == "required" and names:
            preferred = "grade_lesson" if self.tutor.finished else "trigger_quiz"
            forced = preferred if preferred in tools else names[0]
        cue = Cue(
            learner=self._learner,
            tool_results=self._tool_results,
            tools={} if choice == "none" else tools,
            forced_tool=forced,
            instructions=params.get("instructions"),
        )
        self._learner, self._tool_results = [], []
        return cue

    def _start_response(self, params: Event) -> list[Output]:
        response_id = self._id("resp")
        self.response = Response(response_id, params, self.tutor.respond(self._cue(params)))
        return [Respond(self.response)]


def _check_modalities(modalities: Any, param: str) -> None:
    if modalities is not None and modalities not in (["audio"], ["text"]):
        raise ClientError("invalid_value", "output_modalities must be ['audio'] or ['text']", param)


_HANDLERS: dict[str, Callable[[EngineProtocol, Event], list[Output]]] = {
    "session.update": EngineProtocol._session_update,
    "input_audio_buffer.append": EngineProtocol._append,
    "input_audio_buffer.commit": EngineProtocol._commit,
    "input_audio_buffer.clear": EngineProtocol._clear,
    "conversation.item.create": EngineProtocol._item_create,
    "conversation.item.truncate": EngineProtocol._item_truncate,
    "conversation.item.delete": EngineProtocol._item_delete,
    "conversation.item.retrieve": EngineProtocol._item_retrieve,
    "response.create": EngineProtocol._response_create,
    "response.cancel": EngineProtocol._response_cancel,
}

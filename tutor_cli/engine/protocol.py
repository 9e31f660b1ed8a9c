"""The engine's side of one Realtime session, sans I/O: client frames in, server events out.

Like the protocol classes of h11 and the websockets library it does no I/O of its own: no
asyncio, no sockets, no threads. `receive` takes one client frame and returns `Output`s, to be
carried out strictly in order: a server event (a dict) to send, or a job for the responder:

- `Respond`: stream this response, calling the streaming methods below;
- `Cancel`: wake the response up to stop; nothing after it may be carried out before that
  response's `response.done` has gone out (the protocol counts on it);
- `Transcribe`: recognise the learner's speech, then hand the text to `transcribed`.

(The jobs are defined in `jobs`, and imported from here.)

While a response streams, the responder calls the methods `EngineProtocol` takes from
`ResponseStreaming`: `response_started`, `open_message`, `transcript_delta`, `audio_delta`,
`text_delta`, `close_message`, `tool_call`, `response_finished` (or `response_failed` if the
stream broke down) and, however the stream ended, `response_closed`; each returns the events
to send.

No client event can end the session: what does not fit the API's shapes (`client_shapes`) is
refused with an `invalid_request_error` naming the field, and a fault of the engine's own
becomes a `server_error`.

The protocol owns the session settings, the conversation items, the input audio buffer and its
turn detection, at most one active response, the scripted tutor choosing what it says, and the
usage figures.
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
from collections.abc import Callable
from typing import Any, assert_never

from tutor_cli.datatypes import datatype
from tutor_cli.engine.arguments import declared_tools
from tutor_cli.engine.client_events import ClientError, Event, parse_frame
from tutor_cli.engine.client_shapes import check_client_event
from tutor_cli.engine.input_audio import InputAudio
from tutor_cli.engine.items import checked_message, public
from tutor_cli.engine.jobs import Cancel, Output, Respond, Transcribe
from tutor_cli.engine.settings import (
    check_modalities,
    check_session,
    function_names,
    merge_session,
)
from tutor_cli.engine.streaming import CancelReason, Response, ResponseStreaming
from tutor_cli.engine.turns import SpeechStarted, SpeechStopped, TurnEvent
from tutor_cli.engine.tutor import Cue, ScriptedTutor
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime.events import BYTES_PER_MS

__all__ = ["Cancel", "EngineProtocol", "Output", "Respond", "Transcribe"]

MIN_COMMIT_MS = 100
# The API's limit on one append; the server's frame limit (16 MiB) is lower still.
MAX_APPEND_BYTES = 15 * 2**20
log = logging.getLogger("tutor.engine")


@datatype(frozen=False)
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

    @property
    def retained_audio_bytes(self) -> int:
        """How much audio the session holds: the learner's uncommitted input (bounded, see
        `InputAudio`); of the tutor's audio only lengths are kept."""
        return len(self._input)

    def receive(self, frame: str | bytes) -> list[Output]:
        """One client frame. A refused one is answered with an `invalid_request_error` naming
        its event_id and the field at fault; a fault of the engine's own with a
        `server_error`. Either way the session goes on."""
        event_id = None
        try:
            event = parse_frame(frame)
            if isinstance(event.get("event_id"), str):
                event_id = event["event_id"]
            type_ = event.get("type")
            if type_ is None:
                raise ClientError("missing_required_parameter", "missing 'type'", "type")
            handler = _HANDLERS.get(type_) if isinstance(type_, str) else None
            if handler is None:
                raise ClientError("invalid_value", f"unknown client event type {type_!r}", "type")
            check_client_event(event)
            return handler(self, event)
        except ClientError as exc:
            return [
                self._error("invalid_request_error", exc.code, exc.message, exc.param, event_id)
            ]
        except Exception:
            log.exception("a client event failed (event_id %s)", event_id)
            return [self._server_error(event_id)]

    def _error(
        self, type_: str, code: str, message: str, param: str | None, event_id: str | None
    ) -> Event:
        error = {"type": type_, "code": code, "message": message, "param": param}
        return self._event({"type": "error", "error": {**error, "event_id": event_id}})

    def _server_error(self, event_id: str | None) -> Event:
        message = "The engine failed to handle this event; the session goes on."
        return self._error("server_error", "server_error", message, None, event_id)

    # --- session ------------------------------------------------------------------------------

    def _session_update(self, event: Event) -> list[Output]:
        session = merge_session(self.session, event["session"])
        check_session(session)
        self.session = session
        return [self._event({"type": "session.updated", "session": copy.deepcopy(self.session)})]

    def _turn_detection(self) -> dict[str, Any]:
        """The session's turn detection settings; empty with manual turns."""
        settings: dict[str, Any] = self.session["audio"]["input"].get("turn_detection") or {}
        return settings

    # --- input audio --------------------------------------------------------------------------

    def _append(self, event: Event) -> list[Output]:
        audio = event["audio"]
        if len(audio) > (MAX_APPEND_BYTES + 2) // 3 * 4:  # its base64 size, before decoding it
            raise ClientError("invalid_value", "an append carries at most 15 MiB of audio", "audio")
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
        if (
            self.response is not None
            and self._turn_detection().get("interrupt_response") is not False
        ):
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
        then_respond = self._turn_detection().get("create_response") is not False
        audio = self._input.take_turn(change.audio_end_ms)
        return out + self._commit_input(item_id, audio, then_respond)

    def _commit(self, event: Event) -> list[Output]:
        if len(self._input) < MIN_COMMIT_MS * BYTES_PER_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: at least {MIN_COMMIT_MS} ms of audio is needed, "
                f"{len(self._input) // BYTES_PER_MS} ms were appended",
            )
        return self._commit_input(self._id("item"), self._input.take(), then_respond=False)

    def _commit_input(self, item_id: str, audio: bytes, then_respond: bool) -> list[Output]:
        """Learner audio becomes an item, transcribed if the session asks for it."""
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
        language, and the turn counts as an unchecked attempt). A fault here is answered with
        a `server_error`, as in `receive`."""
        try:
            return self._transcribed(item_id, transcript)
        except Exception:
            log.exception("a transcript could not be taken (item %s)", item_id)
            return [self._server_error(None)]

    def _transcribed(self, item_id: str, transcript: str | None) -> list[Output]:
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
        item = event["item"]
        previous = event.get("previous_item_id") or self.items.last_id
        kind = item["type"]
        stored: Event = {"id": item.get("id") or self._id("item"), "type": kind}
        if stored["id"] in self.items:
            raise ClientError("invalid_value", "an item with this id exists already", "item.id")
        if kind == "message":
            stored.update(checked_message(item))
            if stored["role"] == "assistant":
                self._restore_tutor_turn()
            if stored["role"] == "user":
                said = " ".join(p.get("text") or p.get("transcript") or "" for p in item["content"])
                self._learner.append(said.strip() or None)
        elif kind == "function_call_output":
            stored.update(call_id=item["call_id"], output=item["output"])
            self._tool_results.append((self._calls.get(item["call_id"], "unknown"), item["output"]))
        elif kind == "function_call":
            call_id = item.get("call_id") or self._id("call")
            self._calls[call_id] = item["name"]
            stored.update(
                call_id=call_id, name=item["name"], arguments=item["arguments"], status="completed"
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
        item_id, content_index = event["item_id"], event["content_index"]
        self.items.truncate(item_id, content_index, event["audio_end_ms"])
        truncated = {
            "type": "conversation.item.truncated",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": event["audio_end_ms"],
        }
        out: list[Output] = [self._event(truncated)]
        if self.response is not None and item_id in self.response.item_ids:
            # The learner interrupted a reply still being made (the openai-agents SDK does so
            # with a truncate alone): it stops, as a cancel would stop it.
            out += self._cancel("client_cancelled")
        return out

    def _item_delete(self, event: Event) -> list[Output]:
        self.items.delete(event["item_id"])
        return [self._event({"type": "conversation.item.deleted", "item_id": event["item_id"]})]

    def _item_retrieve(self, event: Event) -> list[Output]:
        item = self.items.find(event["item_id"])
        return [self._event({"type": "conversation.item.retrieved", "item": public(item)})]

    # --- responses ----------------------------------------------------------------------------

    def _response_create(self, event: Event) -> list[Output]:
        # A null leaves the session's choice in place, as an absent field does.
        params = {k: v for k, v in (event.get("response") or {}).items() if v is not None}
        if self.response is not None:
            raise ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        check_modalities(params.get("output_modalities"), "response.output_modalities")
        choice = params.get("tool_choice", self.session.get("tool_choice"))
        if isinstance(choice, dict) and choice.get("name") not in self._tool_names(params):
            raise ClientError(
                "invalid_value",
                f"tool_choice names a tool that is not declared: {choice.get('name')!r}",
                "response.tool_choice",
            )
        return self._start_response(params)

    def _tool_names(self, params: Event) -> frozenset[str]:
        return function_names(params.get("tools", self.session.get("tools")))

    def _response_cancel(self, event: Event) -> list[Output]:
        wanted = event.get("response_id")
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

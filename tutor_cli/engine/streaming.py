"""The half of the engine's protocol a responder drives while it streams a response.

`EngineProtocol` (the client's half) builds on this class; both are sans I/O. Each method takes
the next step of a response (it starts, a message opens, a sentence's transcript, a piece of
audio or text, a message closes, a tool call, the response ends, or fails) and returns the
events to send, keeping the conversation and the usage figures up to date.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import time
from dataclasses import field, replace
from typing import Literal

from tutor_cli.datatypes import datatype
from tutor_cli.engine.billing import audio_tokens, text_tokens
from tutor_cli.engine.client_events import Event
from tutor_cli.engine.items import ConversationItems, SpokenAudio, public
from tutor_cli.engine.settings import default_session
from tutor_cli.engine.tutor import CallTool, Move
from tutor_cli.realtime.events import BYTES_PER_MS
from tutor_cli.realtime.pricing import Usage

SESSION_SECONDS = 3600
ARGUMENTS_DELTA_CHARS = 64

CancelReason = Literal["turn_detected", "client_cancelled"]


@datatype(frozen=False, eq=False)
class Response:
    """A response, from its creation to its `response.done`."""

    id: str
    params: Event  # the `response` object of `response.create`; empty for a detected turn
    moves: list[Move]  # what the tutor chose to say and call, in order
    cancel_reason: CancelReason | None = None
    failed: bool = False
    # Fixed when it starts streaming: the session may still change until then.
    modalities: list[str] = field(default_factory=list)
    in_conversation: bool = True
    usage: Usage = field(default_factory=Usage)
    output: list[Event] = field(default_factory=list)
    item_ids: set[str] = field(default_factory=set)  # every item it has opened
    open_message: Message | None = None  # the one it is streaming, if any

    @property
    def generating(self) -> bool:
        """Whether it may still add to its output (not cancelled, not failed)."""
        return not (self.cancel_reason or self.failed)


@datatype(frozen=False, eq=False)
class Message:
    """A tutor message a response is streaming: spoken (audio and its transcript) or text."""

    response: Response
    index: int
    item: Event
    spoken: bool
    audio: SpokenAudio  # shared with the conversation, so a truncation shortens it
    said: str = ""

    @property
    def audio_ms(self) -> float:
        """How much audio has been sent for it (less what a truncation cut)."""
        return self.audio.size / BYTES_PER_MS

    @property
    def where(self) -> Event:
        """The fields that place its content events."""
        return {
            "response_id": self.response.id,
            "item_id": self.item["id"],
            "output_index": self.index,
            "content_index": 0,
        }


class ResponseStreaming:
    """A session's state, and the events of its responses as a responder streams them."""

    def __init__(self, model: str) -> None:
        self._ids = itertools.count(1)
        expires_at = int(time.time()) + SESSION_SECONDS
        self.session = default_session(model, self._id("sess"), expires_at)
        self.items = ConversationItems()
        self.response: Response | None = None  # the active one
        self._calls: dict[str, str] = {}  # call_id -> tool name

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def _event(self, body: Event) -> Event:
        return {"event_id": self._id("event"), **body}

    def response_started(self, response: Response) -> list[Event]:
        """The response begins: its settings are fixed and its input is counted."""
        params = response.params
        response.modalities = list(
            params.get("output_modalities") or self.session["output_modalities"]
        )
        response.in_conversation = params.get("conversation", "auto") != "none"
        response.usage = self.items.input_usage(self.session.get("instructions") or "")
        created = {**self._shell(response), "status": "in_progress", "output": [], "usage": None}
        return [
            self._event(
                {"type": "rate_limits.updated", "rate_limits": copy.deepcopy(_RATE_LIMITS)}
            ),
            self._event({"type": "response.created", "response": created}),
        ]

    def _shell(self, response: Response) -> Event:
        """What `response.created` and `response.done` say alike (copies: events are
        snapshots, whatever happens to the state after)."""
        return {
            "object": "realtime.response",
            "id": response.id,
            "output_modalities": list(response.modalities),
            "conversation_id": "conv_offline" if response.in_conversation else None,
            "max_output_tokens": "inf",
            "metadata": copy.deepcopy(response.params.get("metadata")),
        }

    def _open_item(self, response: Response, index: int, item: Event) -> list[Event]:
        response.item_ids.add(item["id"])
        added = {
            "type": "response.output_item.added",
            "response_id": response.id,
            "output_index": index,
            "item": public(item),
        }
        out = [self._event(added)]
        if response.in_conversation:
            previous = self.items.last_id
            self.items.append(item)
            added = {"type": "conversation.item.added", "previous_item_id": previous}
            out.append(self._event({**added, "item": public(item)}))
        return out

    def _close_item(self, response: Response, index: int, item: Event) -> list[Event]:
        item["status"] = "completed" if response.generating else "incomplete"
        done = {
            "type": "response.output_item.done",
            "response_id": response.id,
            "output_index": index,
            "item": public(item),
        }
        out = [self._event(done)]
        if response.in_conversation:
            out.append(self._event({"type": "conversation.item.done", "item": public(item)}))
        response.output.append(public(item))
        return out

    def open_message(self, response: Response, index: int) -> tuple[Message, list[Event]]:
        """A tutor message opens as output `index`: spoken if the response is audio."""
        spoken = response.modalities == ["audio"]
        item: Event = {
            "id": self._id("item"),
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        out = self._open_item(response, index, item)
        audio = self.items.spoken(item["id"]) if spoken else SpokenAudio()
        message = Message(response, index, item, spoken, audio)
        response.open_message = message
        part = {"type": "audio", "transcript": ""} if spoken else {"type": "text", "text": ""}
        out.append(
            self._event({"type": "response.content_part.added", **message.where, "part": part})
        )
        return message, out

    def transcript_delta(self, message: Message, sentence: str) -> list[Event]:
        """The transcript of the next sentence a spoken message says (nothing once it is
        truncated: the learner has stopped listening)."""
        if message.audio.truncated:
            return []
        delta = (" " if message.said else "") + sentence
        message.said += delta
        return [
            self._event(
                {"type": "response.output_audio_transcript.delta", **message.where, "delta": delta}
            )
        ]

    def audio_delta(self, message: Message, chunk: bytes) -> list[Event]:
        """The next piece of a spoken message's audio (nothing once it is truncated)."""
        if message.audio.truncated:
            return []
        message.audio.size += len(chunk)
        delta = base64.b64encode(chunk).decode("ascii")
        return [
            self._event({"type": "response.output_audio.delta", **message.where, "delta": delta})
        ]

    def text_delta(self, message: Message, text: str) -> list[Event]:
        """The next piece of a text message."""
        message.said += text
        return [self._event({"type": "response.output_text.delta", **message.where, "delta": text})]

    def close_message(self, message: Message) -> list[Event]:
        """A message is over (all said, or cut short by a cancel or a failure)."""
        response, where, said = message.response, message.where, message.said
        response.open_message = None
        usage = response.usage
        if message.spoken:
            out = [
                self._event({"type": "response.output_audio.done", **where}),
                self._event(
                    {"type": "response.output_audio_transcript.done", **where, "transcript": said}
                ),
            ]
            usage = replace(usage, audio_out=usage.audio_out + audio_tokens(message.audio.size))
            # A truncated item keeps no transcript (the stream's own `.done` above still says
            # what it streamed).
            kept = "" if message.audio.truncated else said
            message.item["content"] = [{"type": "output_audio", "transcript": kept}]
            part = {"type": "audio", "transcript": kept}
        else:
            out = [self._event({"type": "response.output_text.done", **where, "text": said})]
            message.item["content"] = [{"type": "output_text", "text": said}]
            part = {"type": "text", "text": said}
        response.usage = replace(usage, text_out=usage.text_out + text_tokens(said))
        out.append(self._event({"type": "response.content_part.done", **where, "part": part}))
        return out + self._close_item(response, message.index, message.item)

    def tool_call(self, response: Response, index: int, move: CallTool) -> list[Event]:
        """A whole function call as output `index`."""
        call_id = self._id("call")
        self._calls[call_id] = move.name
        arguments = json.dumps(move.arguments, ensure_ascii=False)
        item: Event = {
            "id": self._id("item"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": move.name,
            "arguments": "",
        }
        out = self._open_item(response, index, item)
        where = {
            "response_id": response.id,
            "item_id": item["id"],
            "output_index": index,
            "call_id": call_id,
        }
        for start in range(0, len(arguments), ARGUMENTS_DELTA_CHARS):
            delta = arguments[start : start + ARGUMENTS_DELTA_CHARS]
            out.append(
                self._event(
                    {"type": "response.function_call_arguments.delta", **where, "delta": delta}
                )
            )
        item["arguments"] = arguments
        done = {"type": "response.function_call_arguments.done", **where, "name": move.name}
        out.append(self._event({**done, "arguments": arguments}))
        usage = response.usage
        response.usage = replace(usage, text_out=usage.text_out + text_tokens(arguments))
        return out + self._close_item(response, index, item)

    def response_finished(self, response: Response) -> list[Event]:
        """The response is over: its `response.done`, completed, cancelled or failed."""
        reason = response.cancel_reason
        details: Event | None = None
        status = "completed"
        if response.failed:
            status = "failed"
            error = {"type": "server_error", "code": "response_failed", "message": _FAILED}
            details = {"type": "failed", "error": error}
        elif reason:
            status, details = "cancelled", {"type": "cancelled", "reason": reason}
        done = {
            **self._shell(response),
            "status": status,
            "status_details": details,
            "output": list(response.output),
            "usage": response.usage.as_response_usage(),
        }
        return [self._event({"type": "response.done", "response": done})]

    def response_failed(self, response: Response) -> list[Event]:
        """The response's stream broke down: the message it had open is closed as incomplete,
        and the response ends as failed, so the client is never left waiting on it."""
        response.failed = True
        message = response.open_message
        out = self.close_message(message) if message is not None else []
        return out + self.response_finished(response)

    def response_closed(self, response: Response) -> None:
        """The response's stream has ended, finished or failed: it is no longer active."""
        if self.response is response:
            self.response = None


_FAILED = "The engine failed while generating this response; the session goes on."
_RATE_LIMITS = [
    {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
    {"name": "tokens", "limit": 200000, "remaining": 199000, "reset_seconds": 0.3},
]

"""Which client events the relay passes on to its engine.

The relay builds each session from the scenario, so a learner may send their own turns and the
controls of a call, and nothing that changes what the tutor was told to do:

- `input_audio_buffer.append` (up to `MAX_APPEND_CHARS` of base64), `.commit`, `.clear`;
- `response.cancel`; `conversation.item.truncate`;
- `response.create` whose `response` holds only `output_modalities`, `audio`,
  `max_output_tokens` and `metadata`: `instructions`, `tools`, `tool_choice`, `conversation`,
  `input`, `prompt` and anything else are refused (not stripped: the learner is told);
- `conversation.item.create` of a `message` with `role: "user"` whose parts are `input_text`
  (up to `MAX_TEXT_CHARS`) or `input_audio`, or of a `function_call_output` answering a call
  the relay delegated to this client (`delegate`), once.

Everything else is refused with an `error` event, code `event_not_allowed`, naming the type.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

Event = dict[str, Any]

MAX_APPEND_CHARS = 2 * 2**20  # base64: 1.5 MiB of audio, about 33 s at 24 kHz
MAX_TEXT_CHARS = 8000  # twice what the tutor reads of a turn
MAX_OUTPUT_CHARS = 64 * 1024  # a quiz's result
RESPONSE_FIELDS = frozenset({"output_modalities", "audio", "max_output_tokens", "metadata"})
CONTROLS = frozenset(
    {
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "response.cancel",
        "conversation.item.truncate",
    }
)
_ids = itertools.count(1)


def relay_error(kind: str, code: str, message: str, client_event_id: str | None = None) -> Event:
    """An `error` event of the relay's own (the engine's pass through as they are)."""
    error = {"type": kind, "code": code, "message": message, "param": None}
    return {
        "type": "error",
        "event_id": f"event_relay_{next(_ids)}",
        "error": {**error, "event_id": client_event_id},
    }


def refusal(event_type: str, reason: str, client_event_id: str | None) -> Event:
    """The `error` event that tells a client its event was not passed on, and why."""
    message = f"{event_type} is not allowed through this relay: {reason}"
    return relay_error("invalid_request_error", "event_not_allowed", message, client_event_id)


class ClientPolicy:
    """The whitelist for one session, with the tool calls its client may answer."""

    def __init__(self) -> None:
        self._delegated: dict[str, None] = {}  # call ids the client may answer, once
        self._answered: set[str] = set()

    def delegate(self, call_id: str) -> None:
        """A call the client runs (the quiz on its screen): its output may come from it."""
        self._delegated[call_id] = None

    @property
    def waiting(self) -> bool:
        """A delegated call has not been answered yet."""
        return bool(self._delegated)

    def forget_calls(self) -> None:
        """The engine's session was re-made: the calls it made are gone with it."""
        self._delegated.clear()

    def parse(self, frame: str | bytes) -> Event | tuple[str, str]:
        """A client frame as an event, or (what it was, why it is refused)."""
        if isinstance(frame, bytes):
            return "(binary frame)", "events are JSON text"
        try:
            event = json.loads(frame)
        except (json.JSONDecodeError, RecursionError):
            return "(not JSON)", "events are JSON objects"
        if not isinstance(event, dict):
            return "(not an object)", "events are JSON objects"
        if not isinstance(event.get("type"), str):
            return "(no type)", "an event says its type"
        return event

    def check(self, event: Event) -> str | None:
        """Why `event` is refused, or None when it may pass (an answer to a delegated call
        is then used up)."""
        type_ = event["type"]
        if type_ in CONTROLS:
            return None
        if type_ == "input_audio_buffer.append":
            return _append(event)
        if type_ == "response.create":
            return _response(event.get("response"))
        if type_ == "conversation.item.create":
            return self._item(event.get("item"))
        if type_ == "session.update":
            return "the relay sets the session up from the lesson"
        return "not on the relay's list of client events"

    def _item(self, item: Any) -> str | None:
        if not isinstance(item, dict):
            return "'item' must be an object"
        kind = item.get("type")
        if kind == "message":
            return _message(item)
        if kind == "function_call_output":
            return self._output(item)
        return f"an item of type {kind!r} (only the learner's messages, and quiz answers)"

    def _output(self, item: Event) -> str | None:
        call_id, output = item.get("call_id"), item.get("output")
        if not isinstance(output, str) or len(output) > MAX_OUTPUT_CHARS:
            return f"a tool output is a string of at most {MAX_OUTPUT_CHARS:,} characters"
        if call_id in self._answered:
            return f"the call {call_id!r} is already answered"
        if not isinstance(call_id, str) or call_id not in self._delegated:
            return f"no call the relay handed to this client has the id {call_id!r}"
        del self._delegated[call_id]
        self._answered.add(call_id)
        return None


def _append(event: Event) -> str | None:
    audio = event.get("audio")
    if not isinstance(audio, str):
        return "'audio' must be base64 text"
    if len(audio) > MAX_APPEND_CHARS:
        return f"an append carries at most {MAX_APPEND_CHARS * 3 // 4:,} bytes of audio"
    return None


def _response(response: Any) -> str | None:
    if response is None:
        return None
    if not isinstance(response, dict):
        return "'response' must be an object"
    for field in response:
        if field not in RESPONSE_FIELDS:
            return f"'response.{field}' would change what the lesson tells the tutor"
    return None


def _message(item: Event) -> str | None:
    if item.get("role") != "user":
        return f"a message with role {item.get('role')!r}: only the learner's own (role user)"
    content = item.get("content")
    if not isinstance(content, list) or not content:
        return "a message has a list of content parts"
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_text":
            text = part.get("text")
            if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
                return f"a typed turn is text of at most {MAX_TEXT_CHARS:,} characters"
        elif kind == "input_audio":
            audio = part.get("audio")
            if not isinstance(audio, str) or len(audio) > MAX_APPEND_CHARS:
                return f"a spoken turn carries at most {MAX_APPEND_CHARS * 3 // 4:,} bytes"
        else:
            return f"a content part of type {kind!r} (only input_text and input_audio)"
    return None

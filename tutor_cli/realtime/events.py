"""Realtime events on the wire: builders for what we send, normalisation for what we read.

Events stay plain dicts (the protocol grows; unknown fields pass through). The client speaks
the GA dialect only; the reader also takes beta names, which old logs and some self-hosted
servers still use, and turns them into GA ones.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

Event = dict[str, Any]

# The protocol's `audio/pcm` format: 24 kHz, mono, signed 16-bit little-endian.
RATE = 24000
SAMPLES_PER_MS = RATE // 1000
BYTES_PER_MS = 2 * SAMPLES_PER_MS

_event_ids = itertools.count(1)


def object_field(event: Event, name: str) -> dict[str, Any]:
    """`event[name]` when it is a JSON object, else an empty one (a malformed or foreign
    event must not break whoever reads it)."""
    value = event.get(name)
    return value if isinstance(value, dict) else {}


def _event(type_: str, **fields: Any) -> Event:
    """A client event with a fresh `event_id`, so an `error` can name the event it answers."""
    event: Event = {"type": type_, "event_id": f"evt_tutor_{next(_event_ids)}"}
    event.update({k: v for k, v in fields.items() if v is not None})
    return event


# The API's own defaults for server VAD, as a session starts with them.
DEFAULT_SERVER_VAD: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "create_response": True,
    "interrupt_response": True,
}


# --- client events (GA) -------------------------------------------------------------------


def session_update(session: dict[str, Any]) -> Event:
    return _event("session.update", session=session)


def base64_size(data: str) -> int:
    """The number of bytes a base64 text decodes to, counted without decoding it: mic frames
    pass by 25 a second, and only their size is wanted."""
    return len(data) * 3 // 4 - data.endswith("=") - data.endswith("==")


def input_audio_append(pcm16: bytes) -> Event:
    """Append 24 kHz mono PCM16 to the input buffer."""
    # Built directly rather than through `_event`: 50 of these a second for the whole call.
    return {
        "type": "input_audio_buffer.append",
        "event_id": f"evt_tutor_{next(_event_ids)}",
        "audio": base64.b64encode(pcm16).decode("ascii"),
    }


def input_audio_commit() -> Event:
    return _event("input_audio_buffer.commit")


def input_audio_clear() -> Event:
    return _event("input_audio_buffer.clear")


def user_text(text: str, previous_item_id: str | None = None) -> Event:
    """A typed learner turn (follow it with `response_create`)."""
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return _event("conversation.item.create", item=item, previous_item_id=previous_item_id)


def assistant_text(text: str) -> Event:
    """A tutor turn as text, to re-create the history on a new socket."""
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }
    return _event("conversation.item.create", item=item)


def function_call_output(call_id: str, output: str) -> Event:
    """A tool's result for the model (follow it with `response_create`)."""
    item = {"type": "function_call_output", "call_id": call_id, "output": output}
    return _event("conversation.item.create", item=item)


def item_truncate(item_id: str, audio_end_ms: int, content_index: int = 0) -> Event:
    """Tell the server how much of an assistant item the learner heard."""
    return _event(
        "conversation.item.truncate",
        item_id=item_id,
        content_index=content_index,
        audio_end_ms=max(0, int(audio_end_ms)),
    )


def item_delete(item_id: str) -> Event:
    return _event("conversation.item.delete", item_id=item_id)


def item_retrieve(item_id: str) -> Event:
    return _event("conversation.item.retrieve", item_id=item_id)


def response_create(
    *,
    instructions: str | None = None,
    output_modalities: list[str] | None = None,
    tool_choice: str | dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    conversation: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Event:
    """Ask for a reply; the keyword arguments override the session for this response only."""
    response = {
        k: v
        for k, v in {
            "instructions": instructions,
            "output_modalities": output_modalities,
            "tool_choice": tool_choice,
            "tools": tools,
            "conversation": conversation,
            "metadata": metadata,
        }.items()
        if v is not None
    }
    return _event("response.create", response=response or None)


def force_tool(name: str) -> dict[str, str]:
    """A `tool_choice` that makes the model call `name`."""
    return {"type": "function", "name": name}


def response_cancel(response_id: str | None = None) -> Event:
    return _event("response.cancel", response_id=response_id)


CLIENT_EVENT_TYPES = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
        "response.create",
        "response.cancel",
        "output_audio_buffer.clear",
        "transcription_session.update",  # beta only
    }
)


def is_client_event_type(type_: str) -> bool:
    """Whether a bare event (no direction recorded) was sent by a client."""
    return type_ in CLIENT_EVENT_TYPES


# --- server events: beta → GA ---------------------------------------------------------------

BETA_EVENT_NAMES = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}

_BETA_PART_TYPES = {"text": "output_text", "audio": "output_audio"}

# Events whose item may use beta part names. (`response.content_part.*` keep `text`/`audio`
# as part types in GA too, so they need no mapping.)
_ITEM_EVENTS = frozenset(
    {
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.retrieved",
        "response.output_item.added",
        "response.output_item.done",
    }
)


def _ga_part(part: Any) -> Any:
    if isinstance(part, dict) and part.get("type") in _BETA_PART_TYPES:
        return {**part, "type": _BETA_PART_TYPES[part["type"]]}
    return part


def _ga_item(item: Any) -> Any:
    """Assistant content parts `text`/`audio` become `output_text`/`output_audio`."""
    if not isinstance(item, dict) or item.get("role") != "assistant":
        return item
    content = item.get("content")
    if not isinstance(content, list):
        return item
    return {**item, "content": [_ga_part(part) for part in content]}


def _ga_session(session: Any) -> Any:
    """Beta session fields, where present, are mapped onto the GA shape."""
    if not isinstance(session, dict) or ("modalities" not in session and "voice" not in session):
        return session
    ga = {k: v for k, v in session.items()}
    if "modalities" in ga:
        modalities = ga.pop("modalities") or []
        ga.setdefault("output_modalities", ["audio"] if "audio" in modalities else ["text"])
    if "max_response_output_tokens" in ga:
        ga.setdefault("max_output_tokens", ga.pop("max_response_output_tokens"))
    audio = ga.setdefault("audio", {})
    audio_in = audio.setdefault("input", {})
    audio_out = audio.setdefault("output", {})
    if "voice" in ga:
        audio_out.setdefault("voice", ga.pop("voice"))
    if "turn_detection" in ga:
        audio_in.setdefault("turn_detection", ga.pop("turn_detection"))
    if "input_audio_transcription" in ga:
        audio_in.setdefault("transcription", ga.pop("input_audio_transcription"))
    for key, side in (("input_audio_format", audio_in), ("output_audio_format", audio_out)):
        if key in ga:
            fmt = ga.pop(key)
            if fmt == "pcm16":
                side.setdefault("format", {"type": "audio/pcm", "rate": RATE})
            elif fmt in ("g711_ulaw", "g711_alaw"):
                side.setdefault("format", {"type": "audio/pcmu" if "ulaw" in fmt else "audio/pcma"})
    return ga


def normalize_server_event(event: Event) -> list[Event]:
    """A server event in GA form; beta names and shapes are translated.

    Returns a list because one beta event can stand for two GA ones
    (`conversation.item.created` is `conversation.item.added` then `.done`). Unknown types
    and fields pass through untouched; an event with no string `type` is returned as it is,
    for the caller to report.
    """
    type_ = event.get("type")
    if not isinstance(type_, str):
        return [event]
    if type_ in BETA_EVENT_NAMES:
        return [{**event, "type": BETA_EVENT_NAMES[type_]}]
    if type_ == "conversation.item.created":
        item = _ga_item(event.get("item"))
        base = {k: v for k, v in event.items() if k != "type"}
        base["item"] = item
        return [
            {**base, "type": "conversation.item.added"},
            {**base, "type": "conversation.item.done"},
        ]
    if type_ in _ITEM_EVENTS and "item" in event:
        return [{**event, "item": _ga_item(event["item"])}]
    if type_ in ("session.created", "session.updated") and "session" in event:
        return [{**event, "session": _ga_session(event["session"])}]
    return [event]
